"""Phone and desk bookings for other days, and their printable confirmation. Thin: the action decides."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from bookings.actions import BookingError, PersonName
from bookings.availability import free_slots
from bookings.forms import parse_day
from bookings.models import EXTRA_UNITS_CHOICES, Location
from bookings.scoping import location_ids_for
from desk import clock
from desk import selectors as desk_selectors
from desk.locations import desk_locations, require_known
from desk.permissions import desk_required
from desk.views.common import render_local
from queueing import phone
from queueing.forms import PhoneBookingForm
from services.models import Service


def _free_times(request: HttpRequest, locations: list[Location], services: list[Service]) -> dict:
    """The free start times on the day asked (`?location=&service=&day=&extra_time=`) for one person, to pick
    from (with the extra time asked: the starts where the longer appointment fits)."""
    day = parse_day(request.GET.get("day") or request.POST.get("day"))
    location_id = request.GET.get("location") or request.POST.get("location")
    service_id = request.GET.get("service") or request.POST.get("service")
    location = next((loc for loc in locations if str(loc.pk) == location_id), None)
    service = next((s for s in services if str(s.pk) == service_id), None)
    if day is None or location is None or service is None:
        return {}
    extra = request.GET.get("extra_time") or request.POST.get("extra_time") or "0"
    extra_units = int(extra) if extra in {str(units) for units, _label in EXTRA_UNITS_CHOICES} else 0
    slots = free_slots(
        location=location,
        service=service,
        persons=1,
        start_date=day,
        end_date=day,
        now=clock.now(),
        extra_units=extra_units,
    )
    return {"free_day": day, "free_location": location, "free_service": service, "free_times": slots.get(day, [])}


@never_cache
@require_http_methods(["GET", "POST"])
@desk_required
def book(request: HttpRequest) -> HttpResponse:
    locations = desk_locations(user=request.user)
    require_known(request.POST.get("location") or request.GET.get("location"), locations)  # another's: 404
    services = list(Service.objects.active())
    data = request.POST if request.method == "POST" else None
    form = PhoneBookingForm(data, locations=locations, services=services, initial=request.GET.dict() or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            location = form.cleaned_data["location"]
            start = datetime.combine(form.cleaned_data["day"], form.cleaned_data["time"], tzinfo=location.tz)
            try:
                result = phone.book_for_caller(
                    location=location,
                    service=form.cleaned_data["service"],
                    start=start,
                    names=[PersonName(first_name=f, last_name=last) for f, last in form.names()],
                    contact_email=form.cleaned_data["contact_email"],
                    phone=form.cleaned_data["phone"],
                    language=form.cleaned_data["language"],
                    municipality=form.cleaned_data["municipality"],
                    enforce_notice=form.cleaned_data["enforce_notice"],
                    needs_wheelchair=form.cleaned_data["needs_wheelchair"],
                    interpreter_language=form.cleaned_data["interpreter_language"],
                    extra_units=form.cleaned_data["extra_time"],
                    now=clock.now(),
                    actor=request.user,
                )
            except BookingError as error:
                form.add_error(None, error.message)
                status = 409 if error.code == BookingError.SLOT_TAKEN else 400
            else:
                reference = result.appointment.reference
                messages.success(request, _("%(reference)s is booked.") % {"reference": reference})
                return redirect("queueing:phone_confirmation", reference=reference)
    lookup = PhoneBookingForm(locations=locations, services=services, auto_id="lookup_%s", initial=request.GET.dict())
    context = {"form": form, "lookup": lookup, **_free_times(request, locations, services)}
    return render_local(request, "queueing/phone_booking.html", context, location=None, status=status)


@never_cache
@require_GET
@desk_required
def confirmation(request: HttpRequest, reference: str) -> HttpResponse:
    """The printable confirmation: the reference to read aloud, when and where, what to bring."""
    appointment = desk_selectors.appointment_by_reference(
        reference=reference, location_ids=location_ids_for(request.user)
    )
    if appointment is None:
        raise Http404(_("No booking with that reference."))
    people = list(appointment.people.order_by("position"))
    context = {"appointment": appointment, "people": people}
    return render_local(request, "queueing/phone_confirmation.html", context, location=appointment.location)
