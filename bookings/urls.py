"""Public URLs of the booking flow (names in the `bookings` namespace; see notes/ISSUE3_CONTRACT.md)."""

from django.urls import path, register_converter

from bookings.views import booking, manage, pages
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

urlpatterns = [
    path("", pages.start, name="start"),
    path("privacy/", pages.privacy, name="privacy"),
    path("accessibility/", pages.accessibility, name="accessibility"),
    # POSTs that hold, book, look up or change a booking are rate limited per client address
    # (EXPATDESK_RATE_*; expatdesk/ratelimits.py); GETs are not.
    path("find/", rate_limited("find")(pages.find_booking), name="find"),
    # Fixed paths before the service code, which is a slug.
    path("book/details/", rate_limited("confirm")(booking.details), name="details"),
    path("book/<slug:service_code>/", booking.questions, name="questions"),
    path("book/<slug:service_code>/calendar/", booking.calendar, name="calendar"),
    path("book/<slug:service_code>/hold/", rate_limited("hold")(booking.hold), name="hold"),
    path("book/<slug:service_code>/<isoday:day>/", booking.times, name="times"),
    path("manage/<str:token>/", manage.manage, name="manage"),
    path("manage/<str:token>/cancel/", rate_limited("manage")(manage.cancel), name="cancel"),
    path("manage/<str:token>/move/", rate_limited("manage")(manage.reschedule), name="reschedule"),
    path("manage/<str:token>/appointment.ics", manage.ics, name="ics"),
]
