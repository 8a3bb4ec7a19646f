"""Public URLs of the booking flow (names in the `bookings` namespace; see notes/ISSUE3_CONTRACT.md).

Every page of a booking carries its location's address name (`Location.slug`): `/maastricht/book/…`,
`/maastricht/manage/<token>/…`, `/maastricht/find/`. `/` lists the locations (or opens the only one).
The addresses from before locations had their own (`/book/…`, `/manage/<token>/…`, `/find/`) redirect:
a manage link to its booking's own location, the rest to the default location (bookings/views/legacy.py).
"""

from django.urls import include, path, re_path, register_converter

from bookings.views import booking, legacy, manage, pages, visit
from expatdesk.ratelimits import rate_limited


class IsoDayConverter:
    """Looks like YYYY-MM-DD; the view checks that it is a real, bookable day."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


register_converter(IsoDayConverter, "isoday")

app_name = "bookings"

# The pages of one location, under /<location>/ (the view receives the address name as `location`).
location_patterns = [
    path("", pages.start, name="start"),
    # POSTs that hold, book, look up or change a booking are rate limited per client address
    # (EXPATDESK_RATE_*; expatdesk/ratelimits.py); GETs are not.
    path("find/", rate_limited("find")(pages.find_booking), name="find"),
    # Fixed paths before the service code, which is a slug.
    path("book/details/", rate_limited("confirm")(booking.details), name="details"),
    # A visit of several services (issue 13): services → persons per service → calendar → times → hold, then
    # the details page above. Fixed paths, before the service code.
    path("book/visit/", visit.visit_start, name="visit_start"),
    path("book/visit/persons/", visit.visit_persons, name="visit_persons"),
    path("book/visit/calendar/", visit.visit_calendar, name="visit_calendar"),
    path("book/visit/hold/", rate_limited("hold")(visit.visit_hold), name="visit_hold"),
    path("book/visit/<isoday:day>/", visit.visit_times, name="visit_times"),
    path("book/<slug:service_code>/", booking.questions, name="questions"),
    path("book/<slug:service_code>/calendar/", booking.calendar, name="calendar"),
    path("book/<slug:service_code>/hold/", rate_limited("hold")(booking.hold), name="hold"),
    path("book/<slug:service_code>/<isoday:day>/", booking.times, name="times"),
    path("manage/<str:token>/", manage.manage, name="manage"),
    path("manage/<str:token>/cancel/", rate_limited("manage")(manage.cancel), name="cancel"),
    path("manage/<str:token>/move/", rate_limited("manage")(manage.reschedule), name="reschedule"),
    path("manage/<str:token>/appointment.ics", manage.ics, name="ics"),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("privacy/", pages.privacy, name="privacy"),
    path("accessibility/", pages.accessibility, name="accessibility"),
    # The addresses from before every location had its own: old e-mails and bookmarks keep working.
    re_path(r"^manage/(?P<token>[^/]+)/(?P<rest>.*)$", legacy.manage_link, name="legacy_manage"),
    re_path(r"^(?P<rest>(?:book|find)/.*)$", legacy.to_default_location, name="legacy"),
    path("<slug:location>/", include(location_patterns)),
]
