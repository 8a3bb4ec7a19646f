"""Helpers for the waitlist tests: a full day, entries, and the live holders of a time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bookings.actions import PersonName, book_appointment
from bookings.availability import free_slots
from bookings.models import Appointment, AppointmentStatus, Location, SlotClaim
from services.models import Service
from waitlist.models import ALL_DAY_PARTS, WaitlistEntry


def fill_day(*, location: Location, service: Service, day: date, now: datetime) -> list[Appointment]:
    """Book every free start of `day` (one person each), so that nothing is free that day."""
    booked = []
    while True:
        slots = free_slots(location=location, service=service, persons=1, start_date=day, end_date=day, now=now)
        if not slots:
            return booked
        slot = slots[day][0]
        result = book_appointment(
            location=location,
            service=service,
            start=slot.start,
            names=[PersonName(first_name="Full", last_name=f"Day {len(booked)}")],
            contact_email=f"full{len(booked)}@example.org",
            now=now,
        )
        booked.append(result.appointment)


def make_entry(
    *,
    location: Location,
    service: Service,
    now: datetime,
    email: str = "wait@example.org",
    persons: int = 1,
    day: date | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    day_parts: int = ALL_DAY_PARTS,
    municipality: str = "",
    language: str = "en",
    joined_at: datetime | None = None,
    appointment: Appointment | None = None,
) -> WaitlistEntry:
    """An entry written straight to the table (no e-mail), for matching tests; `day` sets both ends."""
    from bookings.mailboxes import mailbox_key

    first = first_day or day or now.astimezone(location.tz).date()
    last = last_day or day or first + timedelta(days=service.booking_horizon_days)
    return WaitlistEntry.objects.create(
        location=location,
        service=service,
        persons=persons,
        municipality=municipality,
        day_parts=day_parts,
        first_day=first,
        last_day=last,
        email=email,
        mailbox_key=mailbox_key(email),
        language=language,
        names=[[f"Wait {n}", "Person"] for n in range(1, persons + 1)],
        joined_at=joined_at or now,
        appointment=appointment,
    )


def live_holders(*, location: Location, start: datetime, now: datetime) -> list[Appointment]:
    """The live appointments whose claims cover `start` at the location."""
    ids = set(
        SlotClaim.objects.filter(counter__location=location, unit_start=start, appointment__isnull=False).values_list(
            "appointment_id", flat=True
        )
    )
    return [a for a in Appointment.objects.filter(pk__in=ids) if a.is_live_at(now)]


def held(appointment: Appointment) -> bool:
    return appointment.status == AppointmentStatus.HELD
