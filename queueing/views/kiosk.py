"""The check-in kiosk (`/kiosk/<slug>/`): scan or type the reference, or draw a walk-in ticket. Thin."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings.actions import BookingError
from bookings.models import Location
from desk import clock
from queueing import kiosk
from queueing.forms import KioskReferenceForm, KioskServiceForm
from queueing.models import DeviceKind, Ticket, TicketKind
from queueing.views.screens import screen_required


def _initial(ticket: Ticket) -> str:
    """A first-name initial, nothing more; none for a walk-in drawn at the kiosk."""
    if ticket.kind == TicketKind.WALK_IN:
        return ""
    person = ticket.appointment.people.order_by("position").first()
    return (person.first_name.strip()[:1].upper() + ".") if person and person.first_name.strip() else ""


def _context(location: Location, slug: str, **extra) -> dict:
    return {"location": location, "slug": slug, "timeout": settings.EXPATDESK_KIOSK_TIMEOUT_SECONDS, **extra}


@never_cache
@require_http_methods(["GET", "POST"])
@screen_required(DeviceKind.KIOSK)
def start(request, *, location_id: int, slug: str, **_kwargs):
    location = get_object_or_404(Location, pk=location_id)
    form = KioskReferenceForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "queueing/kiosk_start.html", _context(location, slug, form=form), status=400)
        try:
            ticket = kiosk.check_in_at_kiosk(
                location=location, reference=form.cleaned_data["reference"], now=clock.now()
            )
        except BookingError as error:
            context = _context(location, slug, error=error.message)
            return render(request, "queueing/kiosk_refused.html", context, status=400)
        context = _context(location, slug, ticket=ticket, initial=_initial(ticket))
        return render(request, "queueing/kiosk_ticket.html", context)
    return render(request, "queueing/kiosk_start.html", _context(location, slug, form=form))


@never_cache
@require_http_methods(["GET", "POST"])
@screen_required(DeviceKind.KIOSK)
def walk_in(request, *, location_id: int, slug: str, **_kwargs):
    location = get_object_or_404(Location, pk=location_id)
    services = kiosk.kiosk_services(location=location)
    form = KioskServiceForm(request.POST or None, services=services)
    if request.method == "POST":
        if not form.is_valid():
            context = _context(location, slug, services=services, form=form, error=_("Please choose a service."))
            return render(request, "queueing/kiosk_walk_in.html", context, status=400)
        try:
            ticket = kiosk.draw_walk_in_ticket(
                location=location,
                service=form.cleaned_data["service"],
                now=clock.now(),
                language=(request.LANGUAGE_CODE or "en")[:2],
            )
        except BookingError as error:
            context = _context(location, slug, error=error.message)
            return render(request, "queueing/kiosk_refused.html", context, status=409)
        return render(request, "queueing/kiosk_ticket.html", _context(location, slug, ticket=ticket, initial=""))
    return render(request, "queueing/kiosk_walk_in.html", _context(location, slug, services=services, form=form))
