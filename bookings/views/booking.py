"""The public booking flow: questions → calendar → times → hold → details → confirmation.

Views are thin: forms check the shape of input, actions enforce the rules (BookingError becomes a
message), availability and selectors read. Everything works without JavaScript: every step is a
plain link or a plain form.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from urllib.parse import quote_plus

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bookings import abuse, actions, agents, availability, qr, selectors
from bookings import cache as shared
from bookings.actions import BookingError, PersonName
from bookings.actions.visits import parts_of
from bookings.forms import DetailsForm, HoldForm, QuestionsForm, parse_day, parse_month
from bookings.models import Appointment, AppointmentStatus, Location
from bookings.shared_pages import shared_page
from bookings.views.common import (
    CONFIRMATION_MINUTES,
    CONFIRMED_KEY,
    DRAFT_KEY,
    HOLD_KEY,
    FlowRedirect,
    add_months,
    at_location,
    closed_day_message,
    handles_flow_redirects,
    last_bookable_day,
    local_today,
    location_url,
    month_cells,
    month_closed_days,
    redirect_with,
    service_or_redirect,
    start_over,
    url_with_query,
    weekday_names,
)
from bookings.visits import load_planner
from services.models import Service

STEPS = 5  # questions, date, time, details, confirmation


def _step(number: int) -> dict[str, int]:
    return {"step": number, "steps": STEPS}


def _render_questions(
    request: HttpRequest, *, service: Service, location: Location, form: QuestionsForm, status: int = 200
) -> HttpResponse:
    # The desk's address and directions are shown before a time is chosen (the footer reuses it).
    context = {"service": service, "location": location, "form": form, **_step(1)}
    return render(request, "bookings/questions.html", context, status=status)


def _render_outside(request: HttpRequest, *, service: Service, location: Location, status: int = 200) -> HttpResponse:
    """Not one of this location's municipalities: its list, and the other locations that offer the service
    with theirs (the right place to go), else the town hall."""
    return render(
        request,
        "bookings/outside.html",
        {
            "service": service,
            "location": location,
            "municipalities": location.municipality_list,
            "other_locations": selectors.other_locations_offering(location=location, service=service),
        },
        status=status,
    )


def _answers(request: HttpRequest, *, service: Service, location: Location) -> QuestionsForm | HttpResponse:
    """The answers carried in the query string, or the response that asks again (400 / outside page)."""
    form = QuestionsForm(data=request.GET, service=service, location=location)
    if not form.is_valid():
        messages.error(request, _("Please answer the questions first."))
        return _render_questions(request, service=service, location=location, form=form, status=400)
    if form.is_outside:
        return _render_outside(request, service=service, location=location)
    return form


def _time_choices(slots: list[availability.Slot], *, location: Location) -> list[dict[str, str]]:
    """Each free time as a button: its start and the end of the booking's last person (10:30 to 10:45)."""
    tz = location.tz
    return [
        {
            "value": slot.start.isoformat(),
            "label": f"{slot.start.astimezone(tz):%H:%M}–{slot.end.astimezone(tz):%H:%M}",
            "day": slot.start.astimezone(tz).date(),
        }
        for slot in slots
    ]


# ---- questions ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@at_location
@handles_flow_redirects
def questions(request: HttpRequest, location: Location, service_code: str) -> HttpResponse:
    service = service_or_redirect(request, service_code, location=location).service
    if request.method == "POST":
        form = QuestionsForm(data=request.POST, service=service, location=location)
        if not form.is_valid():
            return _render_questions(request, service=service, location=location, form=form, status=400)
        if form.is_outside:
            return _render_outside(request, service=service, location=location)
        request.session.pop(DRAFT_KEY, None)
        request.session.pop(CONFIRMED_KEY, None)
        return redirect(
            url_with_query(
                "bookings:calendar",
                kwargs={"location": location.slug, "service_code": service.code},
                query=form.query(),
            )
        )
    initial = {
        "persons": request.GET.get("persons", 1),
        "municipality": request.GET.get("municipality", ""),
        "extra_time": request.GET.get("extra_time", 0),
    }
    form = QuestionsForm(initial=initial, service=service, location=location)
    return _render_questions(request, service=service, location=location, form=form)


# ---- calendar -------------------------------------------------------------------------------


@require_http_methods(["GET"])
@at_location
@handles_flow_redirects
def calendar(request: HttpRequest, location: Location, service_code: str) -> HttpResponse:
    offer = service_or_redirect(request, service_code, location=location)
    service = offer.service
    answers = _answers(request, service=service, location=location)
    if isinstance(answers, HttpResponse):
        return answers
    now = timezone.now()
    query = answers.query()
    calendar_url = url_with_query(
        "bookings:calendar", kwargs={"location": location.slug, "service_code": service.code}, query=query
    )
    today = local_today(location=location, now=now)
    last_day = last_bookable_day(location=location, offer=offer, now=now)
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
            % {"days": offer.horizon_days},
        )

    free = shared.free_days(  # the same for every visitor: shared for a few seconds under the version
        location=location,
        service=service,
        persons=answers.cleaned_data["persons"],
        start_date=today,
        end_date=last_day,
        now=now,
        extra_units=answers.cleaned_data["extra_time"],
    )
    if month is None:
        month = free[0].replace(day=1) if free else first_month

    def month_link(target: date) -> str | None:
        if not first_month <= target <= last_month:
            return None
        return url_with_query(
            "bookings:calendar",
            kwargs={"location": location.slug, "service_code": service.code},
            query={**query, "month": target.strftime("%Y-%m")},
        )

    times_urls = {
        day: url_with_query(
            "bookings:times",
            kwargs={"location": location.slug, "service_code": service.code, "day": day.isoformat()},
            query=query,
        )
        for day in free
        if day.year == month.year and day.month == month.month
    }
    closed, named_closed = month_closed_days(location=location, month=month, first_day=today, last_day=last_day)
    weeks_with_links = month_cells(month=month, urls=times_urls, closed=closed, first_day=today, last_day=last_day)
    return shared_page(  # the same for every visitor without a session: shared (bookings/shared_pages.py)
        request,
        location=location,
        day=None,
        template="bookings/calendar.html",
        context={
            "service": service,
            "location": location,
            "persons": answers.cleaned_data["persons"],
            "municipality": answers.cleaned_data.get("municipality", ""),
            "month": month,
            "weeks": weeks_with_links,
            "weekdays": weekday_names(),
            "free_in_month": [day for day in free if day in times_urls],
            "closed_in_month": named_closed,
            "no_free_day": not free,
            "first_free_day": free[0] if free else None,
            "previous_url": month_link(add_months(month, -1)),
            "next_url": month_link(add_months(month, 1)),
            "questions_url": url_with_query(
                "bookings:questions", kwargs={"location": location.slug, "service_code": service.code}, query=query
            ),
            "last_day": last_day,
            "horizon_days": offer.horizon_days,
            **_step(2),
        },
    )


# ---- times ----------------------------------------------------------------------------------


@require_http_methods(["GET"])
@at_location
@handles_flow_redirects
def times(request: HttpRequest, location: Location, service_code: str, day: str) -> HttpResponse:
    offer = service_or_redirect(request, service_code, location=location)
    service = offer.service
    answers = _answers(request, service=service, location=location)
    if isinstance(answers, HttpResponse):
        return answers
    now = timezone.now()
    query = answers.query()
    calendar_url = url_with_query(
        "bookings:calendar", kwargs={"location": location.slug, "service_code": service.code}, query=query
    )
    chosen = parse_day(day)
    if chosen is None:
        return redirect_with(request, calendar_url, _("That date is not valid; please choose a day in the calendar."))
    today = local_today(location=location, now=now)
    if not today <= chosen <= last_bookable_day(location=location, offer=offer, now=now):
        return redirect_with(
            request,
            calendar_url,
            _("That day cannot be booked: you can book up to %(days)d days ahead. Please choose a day in the calendar.")
            % {"days": offer.horizon_days},
        )
    slots = shared.free_slots_on(  # the same for every visitor: shared for a few seconds under the version
        location=location,
        service=service,
        persons=answers.cleaned_data["persons"],
        day=chosen,
        now=now,
        extra_units=answers.cleaned_data["extra_time"],
    )
    if not slots:
        return redirect_with(
            request,
            url_with_query(
                "bookings:calendar",
                kwargs={"location": location.slug, "service_code": service.code},
                query={**query, "month": chosen.strftime("%Y-%m")},
            ),
            closed_day_message(location=location, day=chosen)
            or _("There are no free times left on that day; please choose another day."),
        )
    return shared_page(  # the same for every visitor without a session: shared (bookings/shared_pages.py)
        request,
        location=location,
        day=chosen,
        template="bookings/times.html",
        context={
            "service": service,
            "location": location,
            "day": chosen,
            "persons": answers.cleaned_data["persons"],
            "municipality": answers.cleaned_data.get("municipality", ""),
            "extra_time": answers.cleaned_data["extra_time"],
            "times": _time_choices(slots, location=location),
            "hold_minutes": settings.EXPATDESK_HOLD_MINUTES,
            "calendar_url": url_with_query(
                "bookings:calendar",
                kwargs={"location": location.slug, "service_code": service.code},
                query={**query, "month": chosen.strftime("%Y-%m")},
            ),
            **_step(3),
        },
    )


# ---- hold -----------------------------------------------------------------------------------


def _release_previous_hold(*, appointment_id: int | None, keep_id: int, now: datetime) -> None:
    """A person holds one time at once: a new hold lets go of the one they had."""
    if not appointment_id or appointment_id == keep_id:
        return
    previous = Appointment.objects.filter(pk=appointment_id, status=AppointmentStatus.HELD).first()
    if previous is None:
        return
    with suppress(BookingError):  # it changed meanwhile (booked or lapsed): nothing to let go of
        actions.cancel_appointment(appointment=previous, now=now, reason="replaced by a new hold")


@require_POST
@at_location
@handles_flow_redirects
def hold(request: HttpRequest, location: Location, service_code: str) -> HttpResponse:
    service = service_or_redirect(request, service_code, location=location).service
    form = HoldForm(data=request.POST, service=service, location=location)
    if not form.is_valid():
        if set(form.errors) == {"start"}:
            return redirect_with(
                request,
                url_with_query(
                    "bookings:calendar",
                    kwargs={"location": location.slug, "service_code": service.code},
                    query=form.query(),
                ),
                _("That time is not valid; please choose one of the times shown."),
            )
        return redirect_with(
            request,
            location_url("bookings:questions", location, service_code=service.code),
            _("Please answer the questions again."),
        )
    if form.is_outside:
        return _render_outside(request, service=service, location=location)
    now = timezone.now()
    start = form.cleaned_data["start"]
    try:
        appointment = actions.hold_slot(
            location=location,
            service=service,
            start=start,
            persons=form.cleaned_data["persons"],
            municipality=form.cleaned_data.get("municipality", ""),
            language=get_language() or "en",
            now=now,
            client_key=abuse.client_key_for(request),
            share=agents.agent_share(request),  # HR staff: the employer's share, not the address's
            extra_units=form.cleaned_data["extra_time"],
        )
    except BookingError as error:
        day = start.astimezone(location.tz).date()
        return redirect_with(
            request,
            url_with_query(
                "bookings:times",
                kwargs={"location": location.slug, "service_code": service.code, "day": day.isoformat()},
                query=form.query(),
            ),
            str(error.message),
        )
    previous = request.session.get(HOLD_KEY) or {}
    _release_previous_hold(appointment_id=previous.get("appointment_id"), keep_id=appointment.pk, now=now)
    request.session[HOLD_KEY] = {
        "appointment_id": appointment.pk,
        "service": service.code,
        "persons": appointment.persons,
        "municipality": appointment.municipality,
    }
    return redirect("bookings:details", location=location.slug)


# ---- details --------------------------------------------------------------------------------


def _session_hold(request: HttpRequest, *, location: Location) -> Appointment:
    """The hold this session made. A hold of another location is never confirmed under this one's address:
    the page goes to the hold's own location."""
    data = request.session.get(HOLD_KEY)
    appointment = None
    if isinstance(data, dict) and isinstance(data.get("appointment_id"), int):
        appointment = selectors.held_appointment(appointment_id=data["appointment_id"])
    if appointment is None:
        raise FlowRedirect(
            start_over(
                request,
                _("You have not chosen a time yet, or your session has ended. Please start again."),
                location=location,
            )
        )
    if appointment.location_id != location.pk:
        raise FlowRedirect(redirect("bookings:details", location=appointment.location.slug))
    return appointment


def _times_url(appointment: Appointment) -> str:
    """The times page of the held day, with the answers the hold was made with ("choose another time")."""
    day = appointment.start.astimezone(appointment.location.tz).date()
    if appointment.part_count > 1:  # a visit of several services: its own times page, with its parts
        from bookings.views.visit import visit_query_of, visit_url

        return visit_url("visit_times", appointment.location, visit_query_of(appointment), day=day.isoformat())
    query = {"persons": str(appointment.persons)}
    if appointment.municipality:
        query["municipality"] = appointment.municipality
    if appointment.extra_units:
        query["extra_time"] = str(appointment.extra_units)
    return url_with_query(
        "bookings:times",
        kwargs={
            "location": appointment.location.slug,
            "service_code": appointment.service.code,
            "day": day.isoformat(),
        },
        query=query,
    )


def _email_refusal(error: BookingError, *, location: Location) -> str:
    """The refusal of the e-mail address, shown beside the field; the similar booking's with the way to it."""
    if error.code == BookingError.SIMILAR_APPOINTMENT_EXISTS:
        return format_html(
            _(
                "There is already an appointment for this service with this e-mail address. To change its time, "
                'use the link in its confirmation e-mail, or <a href="{url}">find my booking</a>.'
            ),
            url=location_url("bookings:find", location),
        )
    return str(error.message)


def _details_context(*, appointment: Appointment, form: DetailsForm, now: datetime) -> dict:
    expires = appointment.hold_expires_at
    lapsed = appointment.status == AppointmentStatus.EXPIRED or expires is None or expires <= now
    return {
        "appointment": appointment,
        "service": appointment.service,
        "location": appointment.location,
        "form": form,
        "part_lines": selectors.visit_part_lines(appointment),
        "times_url": _times_url(appointment),
        "hold_lapsed": lapsed,
        "hold_expires_at": expires,
        "hold_minutes_left": 0 if lapsed else max(1, int((expires - now).total_seconds() // 60)),
        # A visit of several services has two steps more before (bookings/views/visit.py: services, persons).
        **({"step": 5, "steps": 6} if appointment.part_count > 1 else _step(4)),
    }


@require_http_methods(["GET", "POST"])
@at_location
@handles_flow_redirects
def details(request: HttpRequest, location: Location) -> HttpResponse:
    appointment = _session_hold(request, location=location)
    now = timezone.now()
    # Signed in to book for someone else (HR staff for an employee, bookings/agents.py): the form speaks of
    # that person, and the booking is recorded as the agent's.
    for_other = agents.agent_for(request) is not None
    if request.method == "GET":
        draft = request.session.get(DRAFT_KEY)
        initial = draft if isinstance(draft, dict) else {"language": (get_language() or "en")[:2]}
        form = DetailsForm(initial=initial, persons=appointment.persons, for_employee=for_other)
        return render(request, "bookings/details.html", _details_context(appointment=appointment, form=form, now=now))

    form = DetailsForm(data=request.POST, persons=appointment.persons, for_employee=for_other)
    if not form.is_valid():
        return render(
            request, "bookings/details.html", _details_context(appointment=appointment, form=form, now=now), status=400
        )
    try:
        result = actions.confirm_hold(
            appointment=appointment,
            names=[PersonName(first_name=first, last_name=last) for first, last in form.names()],
            contact_email=form.cleaned_data["email"],
            phone=form.cleaned_data["phone"],
            language=form.cleaned_data["language"],
            now=now,
            share=agents.agent_share(request),
            needs_wheelchair=form.cleaned_data["needs_wheelchair"],
            interpreter_language=form.cleaned_data["interpreter_language"],
        )
    except BookingError as error:
        if error.code == BookingError.SLOT_TAKEN:
            return _slot_taken(request, appointment=appointment, form=form, message=str(error.message), now=now)
        if error.code == BookingError.INVALID_SPECIAL_NEEDS:
            form.add_error("interpreter_language", error.message)
            context = _details_context(appointment=appointment, form=form, now=now)
            return render(request, "bookings/details.html", context, status=400)
        if error.code in (
            BookingError.NAMES_MISMATCH,
            BookingError.SIMILAR_APPOINTMENT_EXISTS,
            BookingError.COOLDOWN,
            BookingError.FAIR_SHARE_EXCEEDED,
        ):
            # The hold stays: show what is wrong next to what was typed (the address's refusals beside it).
            if error.code == BookingError.NAMES_MISMATCH:
                form.add_error(None, error.message)
            else:
                form.add_error("email", _email_refusal(error, location=location))
            return render(
                request,
                "bookings/details.html",
                _details_context(appointment=appointment, form=form, now=now),
                status=400 if error.code == BookingError.NAMES_MISMATCH else 409,
            )
        return start_over(request, str(error.message), location=location)
    with suppress(BookingError):  # cancelled in the moment since: it stays off the agent's list
        agents.record_agent_booking(request, appointment=result.appointment, now=now)
    request.session.pop(HOLD_KEY, None)
    request.session.pop(DRAFT_KEY, None)
    # The token goes only into the address the person is sent to (as in the e-mail); the session keeps
    # the booking's id, which opens nothing, so that the manage page says "you're booked" once.
    request.session[CONFIRMED_KEY] = {
        "appointment_id": result.appointment.pk,
        "until": (now + timedelta(minutes=CONFIRMATION_MINUTES)).isoformat(),
    }
    return redirect("bookings:manage", location=location.slug, token=result.manage_token)


def _slot_taken(
    request: HttpRequest, *, appointment: Appointment, form: DetailsForm, message: str, now: datetime
) -> HttpResponse:
    """The hold lapsed and someone took the time: keep what was typed, offer the nearest free times."""
    request.session[DRAFT_KEY] = {name: form.cleaned_data[name] for name in form.fields}
    if appointment.part_count > 1:
        return _visit_slot_taken(request, appointment=appointment, form=form, message=message, now=now)
    nearest = availability.nearest_free_slots(
        location=appointment.location,
        service=appointment.service,
        persons=appointment.persons,
        around=appointment.start,
        now=now,
        extra_units=appointment.extra_units,
    )
    context = _details_context(appointment=appointment, form=form, now=now)
    context.update(
        {
            "slot_taken_message": message,
            "nearest_times": _time_choices(nearest, location=appointment.location),
        }
    )
    return render(request, "bookings/details.html", context, status=409)


def _visit_slot_taken(
    request: HttpRequest, *, appointment: Appointment, form: DetailsForm, message: str, now: datetime
) -> HttpResponse:
    """As _slot_taken for a visit of several services: the free arrival times left on the held day, each a
    button that holds the whole visit again (the visit's own hold, with its parts)."""
    from bookings.views.visit import visit_query_of, visit_url

    location = appointment.location
    day = appointment.start.astimezone(location.tz).date()
    query = visit_query_of(appointment)
    parts = parts_of(appointment)
    # Read afresh, not from the shared cache: this page is about a time that was just taken.
    planner = load_planner(
        location=location,
        parts=parts,
        start_date=day,
        end_date=day,
        now=now,
    )
    arrivals = planner.free_arrivals_on(day)
    nearest = sorted(arrivals, key=lambda slot: abs(slot.start - appointment.start))[:6]
    context = _details_context(appointment=appointment, form=form, now=now)
    context.update(
        {
            "slot_taken_message": message,
            "nearest_times": _time_choices(sorted(nearest, key=lambda slot: slot.start), location=location),
            "rehold_url": visit_url("visit_hold", location),
            "rehold_fields": query,
            "all_days_url": visit_url("visit_calendar", location, query),
        }
    )
    return render(request, "bookings/details.html", context, status=409)


# ---- confirmation ---------------------------------------------------------------------------


def openstreetmap_url(location: Location) -> str:
    return f"https://www.openstreetmap.org/search?query={quote_plus(location.address)}"


def just_confirmed(request: HttpRequest, appointment: Appointment) -> bool:
    """True on the first visit of a booking's manage page right after it was booked in this session."""
    data = request.session.get(CONFIRMED_KEY)
    if not isinstance(data, dict) or data.get("appointment_id") != appointment.pk:
        return False
    request.session.pop(CONFIRMED_KEY, None)
    until = parse_datetime(str(data.get("until", "")))
    return until is not None and until > timezone.now() and appointment.status == AppointmentStatus.BOOKED


def render_confirmation(request: HttpRequest, *, appointment: Appointment, token: str) -> HttpResponse:
    """The "you're booked" page, shown at the booking's manage address (so the token is only in that address)."""
    manage_path = location_url("bookings:manage", appointment.location, token=token)
    people = list(appointment.people.all())
    return render(
        request,
        "bookings/confirmation.html",
        {
            "appointment": appointment,
            "service": appointment.service,
            "location": appointment.location,
            "people": people,
            "part_lines": selectors.visit_part_lines(appointment, people=people),
            "bring": selectors.what_to_bring([part.service for part in selectors.visit_parts(appointment)]),
            "manage_url": request.build_absolute_uri(manage_path),
            "manage_path": manage_path,
            "ics_url": location_url("bookings:ics", appointment.location, token=token),
            "map_url": openstreetmap_url(appointment.location),
            "qr_src": qr.reference_svg_data_uri(appointment.reference),
            **({"step": 6, "steps": 6} if appointment.part_count > 1 else _step(5)),
        },
    )
