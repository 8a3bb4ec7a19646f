"""Read queries for the booking pages. No writes."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Prefetch, QuerySet

from bookings.models import LIVE_STATUSES, Appointment, AppointmentStatus, Location, OpeningHours, OutboxEmail, Person
from bookings.tokens import hash_token
from services.models import Service

# A manage token is 64 hex digits (256 random bits, bookings/tokens.py); anything else cannot match.
TOKEN_LENGTH = 64
_HEX = frozenset("0123456789abcdef")


def desk_location() -> Location | None:
    """The desk people book at online: the first active location."""
    return Location.objects.filter(is_active=True).order_by("name", "pk").first()


def opening_hours_on(*, location: Location, today: date) -> list[OpeningHours]:
    """The opening hours that apply today or later, ordered by weekday and start."""
    return [
        hours
        for hours in OpeningHours.objects.filter(location=location).order_by("weekday", "start_time")
        if hours.valid_until is None or hours.valid_until >= today
    ]


def _with_details(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return queryset.select_related("service", "location").prefetch_related(
        Prefetch("people", queryset=Person.objects.order_by("position"))
    )


def appointment_for_token(*, token: str) -> Appointment | None:
    """The live appointment a manage token opens, or None: wrong, altered or cancelled tokens open nothing."""
    if len(token) != TOKEN_LENGTH or not set(token) <= _HEX:
        return None
    digest = hash_token(token)
    # The booking's own token (the page, the API answer), else the token of one of its e-mails' links.
    found = _with_details(Appointment.objects.filter(manage_token_hash=digest, status__in=LIVE_STATUSES)).first()
    if found is not None:
        return found
    return _with_details(
        Appointment.objects.filter(
            pk__in=OutboxEmail.objects.filter(manage_token_hash=digest).values("appointment_id")[:1],
            status__in=LIVE_STATUSES,
        )
    ).first()


def appointment_with_details(*, appointment_id: int) -> Appointment | None:
    return _with_details(Appointment.objects.filter(pk=appointment_id)).first()


def held_appointment(*, appointment_id: int) -> Appointment | None:
    """A hold that may still be confirmed (a lapsed hold may still be free)."""
    return (
        Appointment.objects.select_related("service", "location")
        .filter(pk=appointment_id, status__in=(AppointmentStatus.HELD, AppointmentStatus.EXPIRED))
        .first()
    )


def appointment_for_reference(*, reference: str, email: str, now: datetime) -> Appointment | None:
    """The booked, future appointment with this reference and e-mail address, or None."""
    if not reference or not email:
        return None
    return (
        Appointment.objects.select_related("service", "location")
        .filter(
            reference=reference,
            contact_email__iexact=email.strip(),
            status=AppointmentStatus.BOOKED,
            end__gt=now,
        )
        .first()
    )


def bookable_service(*, code: str) -> Service | None:
    """The service with this code, active or not (the view tells the person when it is inactive)."""
    return Service.objects.filter(code=code).first()
