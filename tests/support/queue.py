"""Helpers for the queue tests (queueing/): a Tuesday at the desk, appointments checked in, walk-ins."""

from __future__ import annotations

from datetime import datetime

from bookings import actions
from bookings.models import Appointment, Location
from queueing.models import Ticket
from services.models import Service
from tests.support.desk import book
from tests.support.env import AMSTERDAM

TUESDAY = datetime(2026, 12, 1, tzinfo=AMSTERDAM)
MONDAY_MORNING = datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM)


def at(hour: int, minute: int = 0, day: datetime = TUESDAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


def arrive(location: Location, service: Service, start: datetime, *, arrives: datetime, first_name="Anna") -> Ticket:
    """Booked the day before for `start`, checked in at the desk at `arrives`, with a ticket."""
    appointment = book(location, service, start, now=MONDAY_MORNING, names=((first_name, "Jansen"),))
    actions.check_in(appointment=appointment, now=arrives, actor=None)  # which issues the ticket
    return Ticket.objects.get(appointment=appointment)


def walk_in(location: Location, service: Service, *, arrives: datetime) -> Ticket:
    result = actions.walk_in(
        location=location,
        service=service,
        names=[actions.PersonName(first_name="Walter", last_name="Walker")],
        now=arrives,
        actor=None,
    )
    return Ticket.objects.get(appointment=result.appointment)  # issued by the walk-in's check-in


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("appointment", "counter").get(pk=ticket.pk)


def appointment_of(ticket: Ticket) -> Appointment:
    return Appointment.objects.get(pk=ticket.appointment_id)


def sign_in_device(client, location: Location, kind: str, *, now: datetime, name: str = "Screen"):
    """An admin-made device of `kind`, signed in on `client` through its one-time link; returns the device."""
    from django.urls import reverse

    from queueing import devices

    device, code = devices.create_device(location=location, kind=kind, name=name, now=now, actor=None)
    response = client.post(reverse("queueing:device_sign_in", args=[code]))
    assert response.status_code == 302, response.content
    return device
