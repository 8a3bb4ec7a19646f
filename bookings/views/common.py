"""Small helpers shared by the public views: session keys, service and location look-ups, month maths."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from bookings import desk_info, selectors
from bookings.models import Location, LocationService

# Session keys. Only ids and what the person typed live in the session; never in URLs. Nothing in the
# session opens a booking (DESIGN.md §6): the manage token is only in the manage link the person holds.
HOLD_KEY = "booking_hold"  # {"appointment_id": int, "service": code, "persons": int, "municipality": str}
DRAFT_KEY = "booking_draft"  # the details form as typed, kept when a lapsed hold lost its slot
# {"appointment_id": int, "until": iso}: the manage page of this booking shows "you're booked" once.
CONFIRMED_KEY = "booking_confirmed"

# How long after booking the first visit of the manage page still shows the confirmation.
CONFIRMATION_MINUTES = 30


class FlowRedirect(Exception):
    """Raised by helpers to leave a view with a redirect and a message."""

    def __init__(self, response: HttpResponseRedirect) -> None:
        super().__init__("redirect")
        self.response = response


def redirect_with(request: HttpRequest, to: str, message: str, *, level: int = messages.ERROR) -> HttpResponseRedirect:
    messages.add_message(request, level, message)
    return HttpResponseRedirect(to)


def at_location(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page under /<location>/: the address name becomes the Location the view gets as `location`. An
    unknown name is a 404; an inactive location leads to the list of locations with a message."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, location: str, **kwargs: object) -> HttpResponse:
        found = selectors.location_by_slug(slug=location)
        if found is None:
            raise Http404(_("There is no such location."))
        if not found.is_active:
            return redirect_with(
                request,
                reverse("bookings:home"),
                _("Online booking at %(location)s is not available at the moment.") % {"location": found.display_name},
            )
        request.booking_location = found  # the page's location for the header and footer (templatetags/desk.py)
        return view(request, *args, location=found, **kwargs)

    return wrapper


def location_url(name: str, location: Location, **kwargs: object) -> str:
    """The address of one of a location's pages (`bookings:<name>` with the location's address name)."""
    return reverse(name, kwargs={"location": location.slug, **kwargs})


def service_or_redirect(request: HttpRequest, code: str, *, location: Location) -> LocationService:
    """The location's offer of the active service with `code` (`.service`, and the location's own notice and
    horizon); 404 for an unknown code, back to the location's start for a service it does not offer or an
    inactive one."""
    offer = selectors.offered_service(location=location, code=code)
    if offer is None:
        service = selectors.bookable_service(code=code)
        if service is None:
            raise Http404(_("There is no such service."))
        names = {"service": service.name, "location": location.display_name}
        if selectors.other_locations_offering(location=location, service=service):
            to = reverse("bookings:home")
            message = _("%(service)s cannot be booked at %(location)s. Please choose a location that offers it.")
        else:
            to = location_url("bookings:start", location)
            message = _("%(service)s cannot be booked at %(location)s.")
        raise FlowRedirect(redirect_with(request, to, message % names))
    if not offer.service.is_active:
        raise FlowRedirect(
            redirect_with(
                request, location_url("bookings:start", location), _("This service cannot be booked at the moment.")
            )
        )
    return offer


def url_with_query(name: str, *, kwargs: dict | None = None, query: dict[str, str] | None = None) -> str:
    url = reverse(name, kwargs=kwargs)
    return f"{url}?{urlencode(query)}" if query else url


def local_today(*, location: Location, now: datetime) -> date:
    return now.astimezone(location.tz).date()


def last_bookable_day(*, location: Location, offer: LocationService, now: datetime) -> date:
    return local_today(location=location, now=now) + timedelta(days=offer.horizon_days)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_weeks(*, month: date) -> list[list[date | None]]:
    """The month as weeks from Monday to Sunday; days outside the month are None."""
    return [
        [day if day.month == month.month else None for day in week]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    ]


def month_cells(
    *,
    month: date,
    urls: dict[date, str],
    closed: dict[date, str],
    first_day: date,
    last_day: date,
) -> list[list[dict | None]]:
    """The month's weeks for bookings/_month.html: per day its link when it has free times, else whether it
    is closed (`note`: the closure's or holiday's name, "" on a day the desk does not open) or full; days
    outside [first_day, last_day] cannot be booked at all. `closed` holds the closed days of the range."""
    cells: list[list[dict | None]] = []
    for week in month_weeks(month=month):
        row: list[dict | None] = []
        for day in week:
            if day is None:
                row.append(None)
            elif day in urls:
                row.append({"day": day, "url": urls[day], "state": "free"})
            elif not first_day <= day <= last_day:
                row.append({"day": day, "url": None, "state": ""})
            elif day in closed:
                row.append({"day": day, "url": None, "state": "closed", "note": closed[day]})
            else:
                row.append({"day": day, "url": None, "state": "full"})
        cells.append(row)
    return cells


def month_closed_days(
    *, location: Location, month: date, first_day: date, last_day: date
) -> tuple[dict[date, str], list[tuple[date, str]]]:
    """The closed days of `month` within [first_day, last_day] (two queries: hours and closures), and those
    among them with a name (a closure or a public holiday) for the list under the calendar."""
    start = max(month, first_day)
    end = min(add_months(month, 1) - timedelta(days=1), last_day)
    if end < start:
        return {}, []
    rows = selectors.opening_hours_from(location=location, today=start)
    closures = desk_info.load_closures(location=location, start=start, end=end)
    closed: dict[date, str] = {}
    day = start
    while day <= end:
        reason = desk_info.closed_reason(rows=rows, closures=closures, day=day)
        if reason is not None:
            closed[day] = reason
        day += timedelta(days=1)
    return closed, [(day, name) for day, name in sorted(closed.items()) if name]


def closed_day_message(*, location: Location, day: date) -> str | None:
    """ "The desk is closed on …" with the reason, for a day it is closed; None when it opens that day."""
    rows = selectors.opening_hours_from(location=location, today=day)
    reason = desk_info.closed_reason(
        rows=rows, closures=desk_info.load_closures(location=location, start=day, end=day), day=day
    )
    if reason is None:
        return None
    when = date_format(day, "l j F Y")
    if reason:
        return _("The desk is closed on %(day)s: %(reason)s. Please choose another day.") % {
            "day": when,
            "reason": reason,
        }
    return _("The desk is closed on %(day)s. Please choose another day.") % {"day": when}


def weekday_names() -> list[tuple[str, str]]:
    """(abbreviation, full name) Monday first, in the active language."""
    from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR

    return [(str(WEEKDAYS_ABBR[i]), str(WEEKDAYS[i])) for i in range(7)]


def start_over(request: HttpRequest, message: str, *, location: Location) -> HttpResponseRedirect:
    return redirect_with(request, location_url("bookings:start", location), message)


def handles_flow_redirects(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn a FlowRedirect raised by a helper into its redirect."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except FlowRedirect as leave:
            return leave.response

    return wrapper
