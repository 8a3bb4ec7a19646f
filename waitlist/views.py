"""The waitlist's public pages: join (no account), ask for an earlier time, leave, answer an offer.

Thin: forms check the shape, waitlist/actions.py the rules (BookingError becomes a message and a 4xx).
Links carry a random token whose hash is on the e-mail's row; a wrong or altered token answers 404.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import selectors as booking_selectors
from bookings.actions import BookingError, PersonName
from bookings.forms import QuestionsForm
from bookings.models import AppointmentStatus
from bookings.views.common import (
    CONFIRMATION_MINUTES,
    CONFIRMED_KEY,
    at_location,
    handles_flow_redirects,
    last_bookable_day,
    local_today,
    location_url,
    redirect_with,
    service_or_redirect,
    url_with_query,
)
from waitlist import actions, selectors
from waitlist.forms import EarlierForm, JoinForm
from waitlist.models import OfferStatus

# Refusals shown beside a field rather than above the form.
FIELD_OF_ERROR = {
    actions.NO_DAYS: "day_parts",
    actions.BAD_DATES: "last_day",
    actions.ALREADY_WAITING: "email",
    BookingError.NAMES_MISMATCH: None,
}


def _status_of(error: BookingError) -> int:
    return 409 if error.code in (actions.ALREADY_WAITING, actions.OFFER_GONE, BookingError.SLOT_TAKEN) else 400


@require_http_methods(["GET", "POST"])
@at_location
@handles_flow_redirects
def join(request: HttpRequest, service_code: str, location) -> HttpResponse:
    offer = service_or_redirect(request, service_code, location=location)
    service = offer.service
    answers = QuestionsForm(
        data=request.POST if request.method == "POST" else request.GET, service=service, location=location
    )
    if not answers.is_valid() or answers.is_outside:
        if request.method == "POST":
            return render(request, "waitlist/answer_first.html", {"service": service, "location": location}, status=400)
        return redirect_with(
            request,
            location_url("bookings:questions", location, service_code=service.code),
            _("Please answer the questions first."),
        )
    now = timezone.now()
    persons = answers.cleaned_data["persons"]
    municipality = answers.cleaned_data.get("municipality", "")
    form = JoinForm(
        data=request.POST if request.method == "POST" else None,
        persons=persons,
        initial={"language": (get_language() or "en")[:2]},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            today = local_today(location=location, now=now)
            try:
                entry = actions.join_waitlist(
                    location=location,
                    service=service,
                    persons=persons,
                    municipality=municipality,
                    day_parts=form.day_part_bits(),
                    first_day=form.cleaned_data["first_day"] or today,
                    last_day=form.cleaned_data["last_day"]
                    or last_bookable_day(location=location, offer=offer, now=now),
                    email=form.cleaned_data["email"],
                    names=[PersonName(first_name=first, last_name=last) for first, last in form.names()],
                    language=form.cleaned_data["language"],
                    now=now,
                )
            except BookingError as error:
                form.add_error(FIELD_OF_ERROR.get(error.code), str(error.message))
                status = _status_of(error)
            else:
                return render(
                    request, "waitlist/joined.html", {"entry": entry, "service": service, "location": location}
                )
    context = {
        "service": service,
        "location": location,
        "persons": persons,
        "municipality": municipality,
        "form": form,
        "calendar_url": url_with_query(
            "bookings:calendar", kwargs={"location": location.slug, "service_code": service.code}, query=answers.query()
        ),
    }
    return render(request, "waitlist/join.html", context, status=status)


@require_http_methods(["GET", "POST"])
def earlier(request: HttpRequest, token: str) -> HttpResponse:
    """From a booking's manage page: wait for an earlier time; an accepted offer moves the booking."""
    appointment = booking_selectors.appointment_for_token(token=token)
    if appointment is None:
        raise Http404(_("This link does not open a booking."))
    manage_url = location_url("bookings:manage", appointment.location, token=token)
    now = timezone.now()
    if appointment.status != AppointmentStatus.BOOKED or appointment.start <= now:
        return redirect_with(request, manage_url, _("Only a booking still to come can ask for an earlier time."))
    form = EarlierForm(data=request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                entry = actions.ask_for_earlier_time(
                    appointment=appointment,
                    day_parts=form.day_part_bits(),
                    first_day=form.cleaned_data["first_day"] or local_today(location=appointment.location, now=now),
                    now=now,
                )
            except BookingError as error:
                form.add_error(
                    FIELD_OF_ERROR.get(error.code) if error.code != actions.BAD_DATES else "first_day",
                    str(error.message),
                )
                status = _status_of(error)
            else:
                return render(
                    request,
                    "waitlist/joined.html",
                    {
                        "entry": entry,
                        "service": appointment.service,
                        "location": appointment.location,
                        "manage_url": manage_url,
                    },
                )
    context = {
        "appointment": appointment,
        "service": appointment.service,
        "location": appointment.location,
        "form": form,
        "manage_url": manage_url,
    }
    return render(request, "waitlist/earlier.html", context, status=status)


@require_http_methods(["GET", "POST"])
def leave(request: HttpRequest, token: str) -> HttpResponse:
    entry = selectors.entry_for_token(token)
    if entry is None:
        raise Http404(_("This link does not open a place on the waitlist."))
    if request.method == "POST":
        actions.leave_waitlist(entry=entry, now=timezone.now())
        return render(request, "waitlist/left.html", {"entry": entry, "service": entry.service})
    return render(request, "waitlist/leave.html", {"entry": entry, "service": entry.service, "open": entry.is_open})


@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    found = selectors.offer_for_token(token)
    if found is None:
        raise Http404(_("This link does not open an offer."))
    now = timezone.now()
    context = {
        "offer": found,
        "entry": found.entry,
        "appointment": found.appointment,
        "service": found.appointment.service,
        "location": found.appointment.location,
        "moves_booking": found.entry.appointment_id is not None,
    }
    if request.method == "GET":
        context["open"] = found.status == OfferStatus.OPEN
        return render(request, "waitlist/offer.html", context)
    answer = request.POST.get("answer", "")
    if answer == "decline":
        actions.decline_offer(offer=found, now=now)
        return render(request, "waitlist/declined.html", context)
    if answer != "accept":
        context.update({"open": found.status == OfferStatus.OPEN, "error": _("Please choose one of the buttons.")})
        return render(request, "waitlist/offer.html", context, status=400)
    try:
        result = actions.accept_offer(offer=found, now=now)
    except BookingError as error:
        found.refresh_from_db()
        context.update({"open": found.status == OfferStatus.OPEN, "error": str(error.message)})
        return render(request, "waitlist/offer.html", context, status=_status_of(error))
    if result.manage_token:
        request.session[CONFIRMED_KEY] = {
            "appointment_id": result.appointment.pk,
            "until": (now + timedelta(minutes=CONFIRMATION_MINUTES)).isoformat(),
        }
        return redirect(location_url("bookings:manage", result.appointment.location, token=result.manage_token))
    context["appointment"] = result.appointment
    return render(request, "waitlist/moved.html", context)
