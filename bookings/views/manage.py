"""Manage a booking without an account: the token in the link opens it; nothing else does.

Wrong, altered and cancelled-booking tokens answer the same 404. Cancel and move change data only
on POST with a CSRF token; GET shows what will happen.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import actions, availability, selectors
from bookings.actions import BookingError
from bookings.forms import StartForm, parse_day, parse_month
from bookings.models import Appointment, AppointmentStatus
from bookings.views.booking import _time_choices, just_confirmed, openstreetmap_url, render_confirmation
from bookings.views.common import (
    add_months,
    last_bookable_day,
    local_today,
    month_weeks,
    redirect_with,
    url_with_query,
    weekday_names,
)


def _appointment_or_404(token: str) -> Appointment:
    appointment = selectors.appointment_for_token(token=token)
    if appointment is None:
        raise Http404(_("This link does not open a booking."))
    return appointment


def _can_change(appointment: Appointment) -> bool:
    return appointment.status == AppointmentStatus.BOOKED and appointment.start > timezone.now()


def _base_context(appointment: Appointment, token: str) -> dict:
    return {
        "appointment": appointment,
        "service": appointment.service,
        "location": appointment.location,
        "people": list(appointment.people.all()),
        "token": token,
        "map_url": openstreetmap_url(appointment.location),
        "manage_url": reverse("bookings:manage", kwargs={"token": token}),
        "can_change": _can_change(appointment),
    }


@require_http_methods(["GET"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _appointment_or_404(token)
    if just_confirmed(request, appointment):  # right after booking: "you're booked", once
        return render_confirmation(request, appointment=appointment, token=token)
    return render(request, "bookings/manage.html", _base_context(appointment, token))


@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _appointment_or_404(token)
    manage_url = reverse("bookings:manage", kwargs={"token": token})
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


@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _appointment_or_404(token)
    manage_url = reverse("bookings:manage", kwargs={"token": token})
    move_url = reverse("bookings:reschedule", kwargs={"token": token})
    if not _can_change(appointment):
        return redirect_with(request, manage_url, _("This appointment can no longer be moved online."))
    location, service = appointment.location, appointment.service
    now = timezone.now()

    if request.method == "POST":
        form = StartForm(data=request.POST)
        if not form.is_valid():
            return redirect_with(request, move_url, _("That time is not valid; please choose one of the times shown."))
        new_start = form.cleaned_data["start"]
        day = new_start.astimezone(location.tz).date()
        try:
            actions.reschedule_appointment(appointment=appointment, new_start=new_start, now=now)
        except BookingError as error:
            # The booking keeps its old time; say so with the reason.
            message = _("Your appointment was not moved and keeps its old time. %(reason)s") % {"reason": error.message}
            return redirect_with(
                request,
                url_with_query("bookings:reschedule", kwargs={"token": token}, query={"day": day.isoformat()}),
                message,
            )
        messages.success(
            request,
            _("Your appointment has been moved. We have sent you an e-mail with the new time."),
        )
        return redirect(manage_url)

    today = local_today(location=location, now=now)
    last_day = last_bookable_day(location=location, service=service, now=now)
    first_month, last_month = today.replace(day=1), last_day.replace(day=1)
    slots_by_day = availability.free_slots(
        location=location,
        service=service,
        persons=appointment.persons,
        start_date=today,
        end_date=last_day,
        now=now,
        ignore_appointment_id=appointment.pk,
    )
    # Offer every free time except the one the booking already has.
    slots_by_day = {
        day: [slot for slot in slots if slot.start != appointment.start] for day, slots in slots_by_day.items()
    }
    slots_by_day = {day: slots for day, slots in slots_by_day.items() if slots}
    free = sorted(slots_by_day)

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
            url_with_query("bookings:reschedule", kwargs={"token": token}, query={"month": chosen.strftime("%Y-%m")}),
            _("There are no free times left on that day; please choose another day."),
        )
    if month is None:
        month = (chosen or (free[0] if free else today)).replace(day=1)

    def month_link(target: date) -> str | None:
        if not first_month <= target <= last_month:
            return None
        return url_with_query("bookings:reschedule", kwargs={"token": token}, query={"month": target.strftime("%Y-%m")})

    day_urls = {
        day: url_with_query("bookings:reschedule", kwargs={"token": token}, query={"day": day.isoformat()})
        for day in free
        if (day.year, day.month) == (month.year, month.month)
    }
    context = _base_context(appointment, token)
    context.update(
        {
            "month": month,
            "weeks": [
                [None if day is None else {"day": day, "url": day_urls.get(day)} for day in week]
                for week in month_weeks(month=month)
            ],
            "weekdays": weekday_names(),
            "free_in_month": [day for day in free if day in day_urls],
            "no_free_day": not free,
            "previous_url": month_link(add_months(month, -1)),
            "next_url": month_link(add_months(month, 1)),
            "chosen_day": chosen,
            "times": _time_choices(slots_by_day[chosen], location=location) if chosen else [],
        }
    )
    return render(request, "bookings/reschedule.html", context)


@require_http_methods(["GET"])
def ics(request: HttpRequest, token: str) -> HttpResponse:
    from bookings.ics import appointment_ics

    appointment = _appointment_or_404(token)
    response = HttpResponse(
        appointment_ics(appointment=appointment, method="PUBLISH"), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{appointment.reference}.ics"'
    return response
