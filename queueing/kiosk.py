"""The kiosk's actions: check in by reference and get a ticket; a walk-in draws a ticket for a service.

The kiosk answers the same for a reference that does not exist and one of another location's desk where it
matters (nothing tells a passer-by whose booking a reference is); it shows the ticket and a first-name
initial, nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings import actions as bookings_actions
from bookings.actions import BookingError, PersonName
from bookings.actions.desk import check_in_locked
from bookings.models import Appointment, AppointmentStatus, Location
from bookings.tokens import normalise_reference
from queueing.actions import ticket_for_checked_in
from queueing.models import Ticket
from services.models import Service

NOT_FOUND = "kiosk_not_found"
WRONG_LOCATION = "kiosk_wrong_location"
NOT_TODAY = "kiosk_not_today"
TOO_EARLY = "kiosk_too_early"
TOO_LATE = "kiosk_too_late"
ALREADY = "kiosk_already_checked_in"

# The names of a walk-in drawn at the kiosk: nobody types a name there; the desk adds them at the counter.
KIOSK_WALK_IN_NAME = PersonName(first_name="Walk-in", last_name="Kiosk")


def check_in_at_kiosk(*, location: Location, reference: str, now: datetime) -> Ticket:
    """Check in by reference at this location's kiosk and issue the ticket, in one transaction. Only a
    booking of this location, today, from EXPATDESK_KIOSK_EARLY_MINUTES before its start until
    EXPATDESK_KIOSK_LATE_MINUTES after it; someone already checked in gets their ticket again."""
    normalised = normalise_reference(reference or "")
    with transaction.atomic(durable=True):
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("location", "service")
            .filter(reference=normalised)
            .first()
        )
        if appointment is None or appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN):
            raise BookingError(NOT_FOUND, _("We cannot find this booking. Please check the code or ask at the desk."))
        if appointment.location_id != location.pk:
            raise BookingError(WRONG_LOCATION, _("This booking is for another location. Please ask at the desk."))
        tz = location.tz
        if appointment.start.astimezone(tz).date() != now.astimezone(tz).date():
            raise BookingError(NOT_TODAY, _("This booking is not for today. Please ask at the desk."))
        if appointment.status == AppointmentStatus.CHECKED_IN:
            return ticket_for_checked_in(appointment=appointment, now=now, actor=None)
        if now < appointment.start - timedelta(minutes=settings.EXPATDESK_KIOSK_EARLY_MINUTES):
            raise BookingError(
                TOO_EARLY,
                _("You are early. You can check in from %(time)s.")
                % {
                    "time": (appointment.start - timedelta(minutes=settings.EXPATDESK_KIOSK_EARLY_MINUTES))
                    .astimezone(tz)
                    .strftime("%H:%M")
                },
            )
        if now > appointment.start + timedelta(minutes=settings.EXPATDESK_KIOSK_LATE_MINUTES):
            raise BookingError(TOO_LATE, _("Your appointment time has passed. Please ask at the desk."))
        # The check-in hook issues the ticket (queueing.actions.ticket_on_check_in); here it is read back.
        check_in_locked(locked=appointment, now=now, actor=None, detail="kiosk")
        return ticket_for_checked_in(appointment=appointment, now=now, actor=None)


def kiosk_services(*, location: Location) -> list[Service]:
    """The services a walk-in can draw a ticket for here: active, served by an active counter."""
    return list(
        Service.objects.active()
        .filter(counters__location=location, counters__is_active=True, requires_municipality=False)
        .distinct()
        .order_by("display_order", "code")
    )


def draw_walk_in_ticket(*, location: Location, service: Service, now: datetime, language: str = "en") -> Ticket:
    """A walk-in for one person through the desk's walk-in action (first free time today, where capacity
    allows), with its ticket: the walk-in's check-in issues it in the same transaction (the check-in hook,
    queueing.actions.ticket_on_check_in), so no walk-in is booked without it."""
    if service.pk not in {s.pk for s in kiosk_services(location=location)}:
        raise BookingError(
            BookingError.SERVICE_INACTIVE, _("This service cannot be chosen here. Please ask at the desk.")
        )
    result = bookings_actions.walk_in(
        location=location, service=service, names=[KIOSK_WALK_IN_NAME], now=now, actor=None, language=language
    )
    return Ticket.objects.select_related("appointment").get(appointment=result.appointment)
