"""Manage a booking without an account: the token in the link opens it; nothing else does.

Wrong and altered tokens (and those of finished or erased bookings) answer the same 404; a cancelled
booking's link says it was cancelled. Cancel and move change data only on POST with a CSRF token; GET
shows what will happen, and a move asks "Move to …?" before it lets go of the old time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import actions, availability, selectors
from bookings.actions import BookingError
from bookings.actions.visits import parts_of
from bookings.forms import StartForm, parse_day, parse_month
from bookings.models import Appointment, AppointmentStatus
from bookings.views.booking import _time_choices, just_confirmed, render_confirmation
from bookings.views.common import (
    add_months,
    closed_day_message,
    local_today,
    month_cells,
    month_closed_days,
    redirect_with,
    url_with_query,
    weekday_names,
)
from bookings.visits import load_planner


def _appointment_or_404(token: str, location: str) -> Appointment:
    """The booking the link opens; a cancelled one answers with the "was cancelled" page instead. Under
    another location's address it is not acted on: the page moves to the booking's own location."""
    appointment = selectors.manage_appointment_for_token(token=token)
    if appointment is None:
        raise Http404(_("This link does not open a booking."))
    if appointment.location.slug != location:
        raise ElsewhereBooking(appointment)
    if appointment.status == AppointmentStatus.CANCELLED:
        raise WasCancelled(appointment)
    return appointment


class ElsewhereBooking(Exception):
    """The token opens a booking of another location than the address names."""

    def __init__(self, appointment: Appointment) -> None:
        super().__init__(appointment.reference)
        self.appointment = appointment


def redirect_to_own_location(request: HttpRequest, appointment: Appointment) -> HttpResponse:
    """The same page at the booking's own location (a GET: whatever was posted here is not acted on)."""
    match = request.resolver_match
    kwargs = {**match.kwargs, "location": appointment.location.slug}
    url = reverse(match.view_name, kwargs=kwargs)
    if request.method == "GET" and request.META.get("QUERY_STRING"):
        url = f"{url}?{request.META['QUERY_STRING']}"
    return redirect(url)


class WasCancelled(Exception):
    def __init__(self, appointment: Appointment) -> None:
        super().__init__(appointment.reference)
        self.appointment = appointment


def _was_cancelled_page(request: HttpRequest, appointment: Appointment) -> HttpResponse:
    return render(
        request,
        "bookings/was_cancelled.html",
        {"appointment": appointment, "service": appointment.service, "location": appointment.location},
    )


def opens_booking(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A cancelled booking's link shows "this appointment was cancelled" on every manage page (not a 404)."""

    @wraps(view)
    def wrapper(request: HttpRequest, location: str, token: str) -> HttpResponse:
        try:
            return view(request, location, token)
        except ElsewhereBooking as elsewhere:
            return redirect_to_own_location(request, elsewhere.appointment)
        except WasCancelled as cancelled:
            if request.method != "GET":
                return redirect("bookings:manage", location=location, token=token)
            return _was_cancelled_page(request, cancelled.appointment)

    return wrapper


def _can_change(appointment: Appointment) -> bool:
    return appointment.status == AppointmentStatus.BOOKED and appointment.start > timezone.now()


def _base_context(appointment: Appointment, token: str) -> dict:
    people = list(appointment.people.all())
    return {
        "appointment": appointment,
        "service": appointment.service,
        "location": appointment.location,
        "people": people,
        "part_lines": selectors.visit_part_lines(appointment, people=people),
        "bring": selectors.what_to_bring([part.service for part in selectors.visit_parts(appointment)]),
        "token": token,
        "manage_url": manage_path(appointment, token),
        "can_change": _can_change(appointment),
    }


@require_http_methods(["GET"])
@opens_booking
def manage(request: HttpRequest, location: str, token: str) -> HttpResponse:
    appointment = _appointment_or_404(token, location)
    if just_confirmed(request, appointment):  # right after booking: "you're booked", once
        return render_confirmation(request, appointment=appointment, token=token)
    return render(request, "bookings/manage.html", _base_context(appointment, token))


@require_http_methods(["GET", "POST"])
@opens_booking
def cancel(request: HttpRequest, location: str, token: str) -> HttpResponse:
    appointment = _appointment_or_404(token, location)
    manage_url = manage_path(appointment, token)
    if not _can_change(appointment):
        return redirect_with(request, manage_url, _("This appointment can no longer be cancelled online."))
    if request.method == "GET":
        return render(request, "bookings/cancel_confirm.html", _base_context(appointment, token))
    try:
        cancelled = actions.cancel_appointment(appointment=appointment, now=timezone.now(), reason="cancelled online")
    except BookingError as error:
        return redirect_with(request, manage_url, str(error.message))
    return render(
        request,
        "bookings/cancelled.html",
        {"appointment": cancelled, "service": appointment.service, "location": appointment.location},
    )


def _free_slots_for_move(appointment: Appointment, *, today: date, last_day: date, now: datetime) -> dict:
    """Every free time the booking could move to, by day, except the one it already has. A visit of several
    services moves whole: its free arrival times (bookings/visits.py), as if its own claims were free."""
    if appointment.part_count > 1:
        planner = load_planner(
            location=appointment.location,
            parts=parts_of(appointment),
            start_date=today,
            end_date=last_day,
            now=now,
            ignore_appointment_id=appointment.pk,
        )
        slots_by_day = {day: planner.free_arrivals_on(day) for day in planner.snapshot.days()}
    else:
        slots_by_day = _free_single_slots(appointment, today=today, last_day=last_day, now=now)
    slots_by_day = {
        day: [slot for slot in slots if slot.start != appointment.start] for day, slots in slots_by_day.items()
    }
    return {day: slots for day, slots in slots_by_day.items() if slots}


def _free_single_slots(appointment: Appointment, *, today: date, last_day: date, now: datetime) -> dict:
    return availability.free_slots(
        location=appointment.location,
        service=appointment.service,
        persons=appointment.persons,
        start_date=today,
        end_date=last_day,
        now=now,
        ignore_appointment_id=appointment.pk,
        extra_units=appointment.extra_units,
    )


def manage_path(appointment: Appointment, token: str, name: str = "bookings:manage") -> str:
    """The address of one of the booking's manage pages, at its own location."""
    return reverse(name, kwargs={"location": appointment.location.slug, "token": token})


def _move_kwargs(appointment: Appointment, token: str) -> dict[str, str]:
    return {"location": appointment.location.slug, "token": token}


def _day_url(appointment: Appointment, token: str, day: date) -> str:
    return url_with_query(
        "bookings:reschedule", kwargs=_move_kwargs(appointment, token), query={"day": day.isoformat()}
    )


def _move(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    """POST: move to the confirmed time; without the confirmation, ask for it first (nothing changes)."""
    move_url = manage_path(appointment, token, "bookings:reschedule")
    form = StartForm(data=request.POST)
    if not form.is_valid():
        return redirect_with(request, move_url, _("That time is not valid; please choose one of the times shown."))
    new_start = form.cleaned_data["start"]
    if request.POST.get("confirm") != "yes":
        query = {"start": new_start.isoformat()}
        return redirect(url_with_query("bookings:reschedule", kwargs=_move_kwargs(appointment, token), query=query))
    day = new_start.astimezone(appointment.location.tz).date()
    try:
        actions.reschedule_appointment(appointment=appointment, new_start=new_start, now=timezone.now())
    except BookingError as error:
        # The booking keeps its old time; say so with the reason.
        message = _("Your appointment was not moved and keeps its old time. %(reason)s") % {"reason": error.message}
        return redirect_with(request, _day_url(appointment, token, day), message)
    messages.success(request, _("Your appointment has been moved. We have sent you an e-mail with the new time."))
    return redirect(manage_path(appointment, token))


@require_http_methods(["GET", "POST"])
@opens_booking
def reschedule(request: HttpRequest, location: str, token: str) -> HttpResponse:
    """Choose a day, then a time, then confirm ("Move to …?"); only the confirmation's POST moves."""
    appointment = _appointment_or_404(token, location)
    manage_url = manage_path(appointment, token)
    move_url = manage_path(appointment, token, "bookings:reschedule")
    if not _can_change(appointment):
        return redirect_with(request, manage_url, _("This appointment can no longer be moved online."))
    if request.method == "POST":
        return _move(request, appointment, token)

    location = appointment.location
    now = timezone.now()
    today = local_today(location=location, now=now)
    services = [part.service for part in selectors.visit_parts(appointment)]
    last_day = local_today(location=location, now=now) + timedelta(
        days=min(selectors.horizon_days_at(location=location, service=one) for one in services)
    )
    first_month, last_month = today.replace(day=1), last_day.replace(day=1)
    slots_by_day = _free_slots_for_move(appointment, today=today, last_day=last_day, now=now)
    free = sorted(slots_by_day)

    if "start" in request.GET:
        return _confirm_move(request, appointment, token, slots_by_day=slots_by_day)

    raw_day, raw_month = request.GET.get("day"), request.GET.get("month")
    chosen = parse_day(raw_day)
    month = parse_month(raw_month)
    if (raw_day and chosen is None) or (raw_month and month is None):
        return redirect_with(request, move_url, _("That date is not valid; please choose a day in the calendar."))
    if month is not None and not first_month <= month <= last_month:
        return redirect_with(request, move_url, _("Please choose a month shown here."))
    if chosen is not None and chosen not in slots_by_day:
        return redirect_with(
            request,
            url_with_query(
                "bookings:reschedule",
                kwargs=_move_kwargs(appointment, token),
                query={"month": chosen.strftime("%Y-%m")},
            ),
            (closed_day_message(location=location, day=chosen) if today <= chosen <= last_day else None)
            or _("There are no free times left on that day; please choose another day."),
        )
    if month is None:
        month = (chosen or (free[0] if free else today)).replace(day=1)

    def month_link(target: date) -> str | None:
        if not first_month <= target <= last_month:
            return None
        return url_with_query(
            "bookings:reschedule", kwargs=_move_kwargs(appointment, token), query={"month": target.strftime("%Y-%m")}
        )

    day_urls = {
        day: _day_url(appointment, token, day) for day in free if (day.year, day.month) == (month.year, month.month)
    }
    closed, named_closed = month_closed_days(location=location, month=month, first_day=today, last_day=last_day)
    context = _base_context(appointment, token)
    context.update(
        {
            "month": month,
            "weeks": month_cells(month=month, urls=day_urls, closed=closed, first_day=today, last_day=last_day),
            "weekdays": weekday_names(),
            "free_in_month": [day for day in free if day in day_urls],
            "closed_in_month": named_closed,
            "no_free_day": not free,
            "previous_url": month_link(add_months(month, -1)),
            "next_url": month_link(add_months(month, 1)),
            "chosen_day": chosen,
            "times": _time_choices(slots_by_day[chosen], location=location) if chosen else [],
        }
    )
    return render(request, "bookings/reschedule.html", context)


def _confirm_move(request: HttpRequest, appointment: Appointment, token: str, *, slots_by_day: dict) -> HttpResponse:
    """GET ?start=…: "Move to Thursday 10 December at 14:15?" — the booking keeps its time until confirmed."""
    move_url = manage_path(appointment, token, "bookings:reschedule")
    form = StartForm(data=request.GET)
    if not form.is_valid():
        return redirect_with(request, move_url, _("That time is not valid; please choose one of the times shown."))
    new_start = form.cleaned_data["start"]
    day = new_start.astimezone(appointment.location.tz).date()
    slot = next((slot for slot in slots_by_day.get(day, []) if slot.start == new_start), None)
    if slot is None:
        return redirect_with(
            request,
            _day_url(appointment, token, day) if day in slots_by_day else move_url,
            _("That time is no longer free; please choose another time."),
        )
    context = _base_context(appointment, token)
    context.update(
        {"new_slot": slot, "start_value": new_start.isoformat(), "day_url": _day_url(appointment, token, day)}
    )
    return render(request, "bookings/move_confirm.html", context)


@require_http_methods(["GET"])
def ics(request: HttpRequest, location: str, token: str) -> HttpResponse:
    """The booking for a calendar; only while it is live (a cancelled one has nothing to add)."""
    from bookings.ics import appointment_ics

    appointment = selectors.appointment_for_token(token=token)
    if appointment is None:
        raise Http404(_("This link does not open a booking."))
    if appointment.location.slug != location:
        return redirect_to_own_location(request, appointment)
    response = HttpResponse(
        appointment_ics(appointment=appointment, method="PUBLISH"), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{appointment.reference}.ics"'
    return response
