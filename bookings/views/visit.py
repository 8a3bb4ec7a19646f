"""The public flow of a visit of several services (issue 13): services → persons per service → calendar →
times → hold, then the one-service flow's details page and confirmation (bookings/views/booking.py).

A family of four needs registration for all four and biometrics for the two adults: one visit, one
reference. The visit travels in the query string like the one-service flow's answers (no personal data:
`persons=4&part=registration:1,2,3,4&part=biometrics:1,2&municipality=Heerlen`); every page reads it again
and answers bad input with a message and a 400. The free days and times come from the visit engine
(bookings/visits.py), shared between visitors under the location's versions (bookings/cache.py); the hold
is actions.visits.hold_visit. Everything is a plain link or a plain form: it works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bookings import abuse, agents, selectors
from bookings import cache as shared
from bookings.actions import BookingError
from bookings.actions.visits import hold_visit, parts_of
from bookings.forms import OTHER_MUNICIPALITY, StartForm, VisitPersonsForm, VisitStartForm, parse_day, parse_month
from bookings.models import Appointment, Location, LocationService
from bookings.shared_pages import shared_page
from bookings.views.booking import _release_previous_hold, _render_outside, _time_choices
from bookings.views.common import (
    HOLD_KEY,
    add_months,
    at_location,
    closed_day_message,
    handles_flow_redirects,
    local_today,
    location_url,
    month_cells,
    month_closed_days,
    redirect_with,
    weekday_names,
)
from bookings.visits import PartRequest, VisitError, check_parts, in_desk_order, persons_of
from services.models import MAX_PERSONS_PER_BOOKING, Service

STEPS = 6  # services, persons, date, time, details, confirmation


def _step(number: int) -> dict[str, int]:
    return {"step": number, "steps": STEPS}


@dataclass(frozen=True)
class VisitRequest:
    """A visit as asked for: its parts in the desk's order, the number of persons, the municipality."""

    parts: list[PartRequest]
    persons: int
    municipality: str
    horizon_days: int  # the shortest of the services' horizons at this location

    @property
    def services(self) -> list[Service]:
        return [part.service for part in self.parts]

    def query(self) -> list[tuple[str, str]]:
        pairs = [("persons", str(self.persons))]
        pairs += [("part", f"{part.service.code}:{','.join(str(n) for n in part.persons)}") for part in self.parts]
        if self.municipality:
            pairs.append(("municipality", self.municipality))
        return pairs


class BadVisit(Exception):
    """The visit in the request cannot be asked for; `message` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def visit_url(name: str, location: Location, query: list[tuple[str, str]] | None = None, **kwargs: object) -> str:
    url = reverse(f"bookings:{name}", kwargs={"location": location.slug, **kwargs})
    return f"{url}?{urlencode(query)}" if query else url


def _offers(location: Location) -> dict[str, LocationService]:
    """The location's active offers by service code (one query)."""
    return {offer.service.code: offer for offer in selectors.offers_of(locations=[location]).get(location.pk, [])}


def _offered(code: str, *, offers: dict[str, LocationService], location: Location) -> LocationService:
    offer = offers.get(code)
    if offer is not None:
        return offer
    if selectors.bookable_service(code=code) is None:
        raise BadVisit(_("There is no such service. Please choose the services from the list."))
    raise BadVisit(
        _("One of the services you chose cannot be booked at %(location)s. Please choose the services from the list.")
        % {"location": location.display_name}
    )


def _persons_count(raw: str | None) -> int:
    try:
        persons = int(raw or "")
    except ValueError:
        raise BadVisit(_("Please choose the number of persons from the list.")) from None
    if not 1 <= persons <= MAX_PERSONS_PER_BOOKING:
        raise BadVisit(_("A visit is for at most %(max)d persons.") % {"max": MAX_PERSONS_PER_BOOKING})
    return persons


def parse_visit(data: QueryDict, *, location: Location) -> VisitRequest:
    """The visit carried in `data` (a query string or a posted form), checked; raises BadVisit."""
    persons = _persons_count(data.get("persons"))
    offers = _offers(location)
    raw_parts = data.getlist("part")
    if len(raw_parts) > len(offers) or len(raw_parts) > 20:
        raise BadVisit(_("That visit is not valid; please choose its services again."))
    parts: list[PartRequest] = []
    chosen: list[LocationService] = []
    for raw in raw_parts:
        code, sep, numbers = raw.partition(":")
        if not sep or not code:
            raise BadVisit(_("That visit is not valid; please choose its services again."))
        offer = _offered(code, offers=offers, location=location)
        try:
            who = tuple(int(n) for n in numbers.split(","))
        except ValueError:
            raise BadVisit(_("That visit is not valid; please choose its services again.")) from None
        if any(not 1 <= n <= persons for n in who):
            raise BadVisit(_("A service is for a person who is not among the persons of the visit."))
        parts.append(PartRequest(offer.service, who))
        chosen.append(offer)
    if len(parts) < 2:
        raise BadVisit(_("A visit has two or more services. Please choose its services again."))
    try:
        check_parts(parts)
    except VisitError as error:
        raise BadVisit(str(error)) from error
    if persons_of(parts) != tuple(range(1, persons + 1)):
        raise BadVisit(_("Every person needs at least one service. Please choose who needs each service again."))
    municipality = ""
    if any(part.service.requires_municipality for part in parts):
        municipality = data.get("municipality", "")
        if municipality != OTHER_MUNICIPALITY and municipality not in location.municipality_list:
            raise BadVisit(_("Please choose the municipality you live in or are moving to."))
    return VisitRequest(
        parts=in_desk_order(parts),
        persons=persons,
        municipality=municipality,
        horizon_days=min(offer.horizon_days for offer in chosen),
    )


def _start_page(
    request: HttpRequest, *, location: Location, form: VisitStartForm | None = None, status: int = 200
) -> HttpResponse:
    services = [offer.service for offer in _offers(location).values()]
    if form is None:
        form = VisitStartForm(
            initial={"persons": request.GET.get("persons", 1)},
            services=services,
            max_persons=MAX_PERSONS_PER_BOOKING,
        )
    return render(request, "bookings/visit_start.html", {"location": location, "form": form, **_step(1)}, status=status)


def _bad_visit(request: HttpRequest, *, location: Location, error: BadVisit) -> HttpResponse:
    """Bad input anywhere in the visit's pages: the first step again, with the reason, as a 400."""
    messages.error(request, error.message)
    return _start_page(request, location=location, status=400)


# ---- services and persons -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@at_location
@handles_flow_redirects
def visit_start(request: HttpRequest, location: Location) -> HttpResponse:
    """Step 1: how many persons, and which services (a checklist). One service is the one-service flow."""
    if request.method == "GET":
        return _start_page(request, location=location)
    services = [offer.service for offer in _offers(location).values()]
    form = VisitStartForm(data=request.POST, services=services, max_persons=MAX_PERSONS_PER_BOOKING)
    if not form.is_valid():
        return _start_page(request, location=location, form=form, status=400)
    persons, codes = form.cleaned_data["persons"], form.cleaned_data["services"]
    if len(codes) == 1:  # one service: today's flow, with the number of persons filled in
        return redirect(visit_url("questions", location, [("persons", str(persons))], service_code=codes[0]))
    query = [("persons", str(persons)), *(("service", code) for code in codes)]
    return redirect(visit_url("visit_persons", location, query))


def _chosen_services(data: QueryDict, *, location: Location) -> tuple[int, list[Service]]:
    persons = _persons_count(data.get("persons"))
    offers = _offers(location)
    codes = list(dict.fromkeys(data.getlist("service")))
    if len(codes) < 2 or len(codes) > len(offers):
        raise BadVisit(_("A visit has two or more services. Please choose its services again."))
    services = [_offered(code, offers=offers, location=location).service for code in codes]
    return persons, [part.service for part in in_desk_order([PartRequest(s, (1,)) for s in services])]


def _persons_page(
    request: HttpRequest,
    *,
    location: Location,
    persons: int,
    services: list[Service],
    form: VisitPersonsForm,
    status: int = 200,
) -> HttpResponse:
    context = {
        "location": location,
        "form": form,
        "persons": persons,
        "services": services,
        "bring": selectors.what_to_bring(services),
        "hidden": [("persons", str(persons)), *(("service", service.code) for service in services)],
        "back_url": visit_url("visit_start", location, [("persons", str(persons))]),
        **_step(2),
    }
    return render(request, "bookings/visit_persons.html", context, status=status)


@require_http_methods(["GET", "POST"])
@at_location
@handles_flow_redirects
def visit_persons(request: HttpRequest, location: Location) -> HttpResponse:
    """Step 2: who needs each service (checkboxes, everyone to start with), the municipality, what to bring."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        persons, services = _chosen_services(data, location=location)
    except BadVisit as error:
        return _bad_visit(request, location=location, error=error)
    if request.method == "GET":
        form = VisitPersonsForm(services=services, persons=persons, location=location)
        return _persons_page(request, location=location, persons=persons, services=services, form=form)
    form = VisitPersonsForm(data=request.POST, services=services, persons=persons, location=location)
    if not form.is_valid():
        return _persons_page(request, location=location, persons=persons, services=services, form=form, status=400)
    if form.is_outside:
        service = next(service for service in services if service.requires_municipality)
        return _render_outside(request, service=service, location=location)
    parts = [PartRequest(service, form.persons_of(service)) for service in services]
    visit = VisitRequest(
        parts=parts, persons=persons, municipality=form.cleaned_data.get("municipality", ""), horizon_days=0
    )
    return redirect(visit_url("visit_calendar", location, visit.query()))


# ---- calendar and times ---------------------------------------------------------------------


def _summary_context(visit: VisitRequest, *, location: Location) -> dict:
    return {
        "location": location,
        "visit": visit,
        "persons": visit.persons,
        "municipality": visit.municipality,
        "bring": selectors.what_to_bring(visit.services),
        "change_url": visit_url(
            "visit_persons",
            location,
            [("persons", str(visit.persons)), *(("service", service.code) for service in visit.services)],
        ),
    }


@require_http_methods(["GET"])
@at_location
@handles_flow_redirects
def visit_calendar(request: HttpRequest, location: Location) -> HttpResponse:
    try:
        visit = parse_visit(request.GET, location=location)
    except BadVisit as error:
        return _bad_visit(request, location=location, error=error)
    if visit.municipality == OTHER_MUNICIPALITY:
        service = next(service for service in visit.services if service.requires_municipality)
        return _render_outside(request, service=service, location=location)
    now = timezone.now()
    query = visit.query()
    calendar_url = visit_url("visit_calendar", location, query)
    today = local_today(location=location, now=now)
    last_day = today + timedelta(days=visit.horizon_days)
    first_month, last_month = today.replace(day=1), last_day.replace(day=1)
    raw_month = request.GET.get("month")
    month = parse_month(raw_month)
    if raw_month and month is None:
        return redirect_with(
            request, calendar_url, _("That month is not valid; here is the first month with free days.")
        )
    if month is not None and not first_month <= month <= last_month:
        return redirect_with(
            request,
            calendar_url,
            _("Appointments can only be booked up to %(days)d days ahead; please choose a month shown here.")
            % {"days": visit.horizon_days},
        )
    free = shared.visit_free_days(location=location, parts=visit.parts, start_date=today, end_date=last_day, now=now)
    if month is None:
        month = free[0].replace(day=1) if free else first_month

    def month_link(target: date) -> str | None:
        if not first_month <= target <= last_month:
            return None
        return visit_url("visit_calendar", location, [*query, ("month", target.strftime("%Y-%m"))])

    times_urls = {
        day: visit_url("visit_times", location, query, day=day.isoformat())
        for day in free
        if (day.year, day.month) == (month.year, month.month)
    }
    closed, named_closed = month_closed_days(location=location, month=month, first_day=today, last_day=last_day)
    context = _summary_context(visit, location=location)
    context.update(
        {
            "month": month,
            "weeks": month_cells(month=month, urls=times_urls, closed=closed, first_day=today, last_day=last_day),
            "weekdays": weekday_names(),
            "free_in_month": [day for day in free if day in times_urls],
            "closed_in_month": named_closed,
            "no_free_day": not free,
            "first_free_day": free[0] if free else None,
            "previous_url": month_link(add_months(month, -1)),
            "next_url": month_link(add_months(month, 1)),
            "last_day": last_day,
            "horizon_days": visit.horizon_days,
            **_step(3),
        }
    )
    # The same for every visitor without a session: shared (bookings/shared_pages.py).
    return shared_page(request, location=location, day=None, template="bookings/visit_calendar.html", context=context)


@require_http_methods(["GET"])
@at_location
@handles_flow_redirects
def visit_times(request: HttpRequest, location: Location, day: str) -> HttpResponse:
    try:
        visit = parse_visit(request.GET, location=location)
    except BadVisit as error:
        return _bad_visit(request, location=location, error=error)
    now = timezone.now()
    query = visit.query()
    calendar_url = visit_url("visit_calendar", location, query)
    chosen = parse_day(day)
    if chosen is None:
        return redirect_with(request, calendar_url, _("That date is not valid; please choose a day in the calendar."))
    today = local_today(location=location, now=now)
    if not today <= chosen <= today + timedelta(days=visit.horizon_days):
        return redirect_with(
            request,
            calendar_url,
            _("That day cannot be booked: you can book up to %(days)d days ahead. Please choose a day in the calendar.")
            % {"days": visit.horizon_days},
        )
    month_url = visit_url("visit_calendar", location, [*query, ("month", chosen.strftime("%Y-%m"))])
    slots = shared.visit_free_arrivals_on(location=location, parts=visit.parts, day=chosen, now=now)
    if not slots:
        return redirect_with(
            request,
            month_url,
            closed_day_message(location=location, day=chosen)
            or _("There are no free times left on that day; please choose another day."),
        )
    context = _summary_context(visit, location=location)
    context.update(
        {
            "day": chosen,
            "times": _time_choices(slots, location=location),
            "hidden": query,
            "hold_minutes": settings.EXPATDESK_HOLD_MINUTES,
            "calendar_url": month_url,
            **_step(4),
        }
    )
    # The same for every visitor without a session: shared (bookings/shared_pages.py).
    return shared_page(request, location=location, day=chosen, template="bookings/visit_times.html", context=context)


# ---- hold -----------------------------------------------------------------------------------


@require_POST
@at_location
@handles_flow_redirects
def visit_hold(request: HttpRequest, location: Location) -> HttpResponse:
    try:
        visit = parse_visit(request.POST, location=location)
    except BadVisit as error:
        return _bad_visit(request, location=location, error=error)
    if visit.municipality == OTHER_MUNICIPALITY:
        service = next(service for service in visit.services if service.requires_municipality)
        return _render_outside(request, service=service, location=location)
    form = StartForm(data=request.POST)
    if not form.is_valid():
        return redirect_with(
            request,
            visit_url("visit_calendar", location, visit.query()),
            _("That time is not valid; please choose one of the times shown."),
        )
    start = form.cleaned_data["start"]
    now = timezone.now()
    try:
        appointment = hold_visit(
            location=location,
            parts=visit.parts,
            start=start,
            now=now,
            municipality=visit.municipality,
            language=get_language() or "en",
            client_key=abuse.client_key_for(request),
            share=agents.agent_share(request),
        )
    except BookingError as error:
        day = start.astimezone(location.tz).date()
        return redirect_with(
            request, visit_url("visit_times", location, visit.query(), day=day.isoformat()), str(error.message)
        )
    previous = request.session.get(HOLD_KEY) or {}
    _release_previous_hold(appointment_id=previous.get("appointment_id"), keep_id=appointment.pk, now=now)
    request.session[HOLD_KEY] = {
        "appointment_id": appointment.pk,
        "service": visit.parts[0].service.code,
        "persons": appointment.persons,
        "municipality": appointment.municipality,
    }
    return redirect(location_url("bookings:details", location))


def visit_query_of(appointment: Appointment) -> list[tuple[str, str]]:
    """The query of a held or booked visit's pages (its parts as asked for), from its part rows."""
    parts = parts_of(appointment)
    visit = VisitRequest(
        parts=parts, persons=appointment.persons, municipality=appointment.municipality, horizon_days=0
    )
    return visit.query()
