"""Helpers for the insights tests: serve an appointment through the desk's actions, send its feedback
request as the worker does, read the token out of the e-mail, and hand-made appointment rows for the
dashboard's hand-counted fixtures."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core import mail
from django.utils import timezone

from bookings import actions, tasks
from bookings.models import Appointment, AppointmentEvent, AppointmentStatus, EmailKind, EventKind, OutboxEmail
from bookings.tokens import new_reference
from employers.models import Employer, EmployerBooking

FEEDBACK_LINK = re.compile(r"/feedback/([0-9a-f]{64})/\?score=(\d+)")


def serve(appointment: Appointment, *, at: datetime, minutes_waiting: int = 5, minutes_served: int = 10) -> Appointment:
    """Check in at `at`, call to the counter a few minutes later, done a few minutes after that."""
    actions.check_in(appointment=appointment, now=at, actor=None)
    started = at + timedelta(minutes=minutes_waiting)
    actions.start_service(appointment=appointment, now=started, actor=None)
    return actions.finish_service(appointment=appointment, now=started + timedelta(minutes=minutes_served), actor=None)


def feedback_row(appointment: Appointment) -> OutboxEmail:
    return OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.FEEDBACK)


def send_due_feedback(*, now: datetime) -> list:
    """What beat and the worker do once the delay has passed: the sweep queues the due rows and the send
    task runs (eagerly in the tests). Returns the feedback messages sent."""
    before = len(mail.outbox)
    actions.requeue_outbox(now=now)
    return [message for message in mail.outbox[before:] if FEEDBACK_LINK.search(message.body)]


def due_time(appointment: Appointment) -> datetime:
    """A moment when the sweep takes the appointment's feedback row: past its delay and the sweep's wait."""
    row = feedback_row(appointment)
    return (row.next_attempt_at or row.created_at) + timedelta(seconds=settings.EXPATDESK_OUTBOX_REQUEUE_SECONDS + 1)


def token_of(message) -> str:
    found = FEEDBACK_LINK.search(message.body)
    assert found, "no feedback link in the message"
    return found.group(1)


def send_feedback_now(appointment: Appointment) -> str:
    """Send the appointment's feedback request at once (the task, as the worker runs it); its token."""
    before = len(mail.outbox)
    tasks.send_outbox_email.apply(args=[feedback_row(appointment).pk])
    [message] = mail.outbox[before:]
    return token_of(message)


def make_appointment(
    location,
    service,
    *,
    start: datetime,
    status: str,
    booked_at: datetime | None = None,
    checked_in_at: datetime | None = None,
    started_at: datetime | None = None,
    done_at: datetime | None = None,
    persons: int = 1,
    municipality: str = "",
    cancelled_by=None,
    employer: Employer | None = None,
    walk_in: bool = False,
) -> Appointment:
    """One appointment row as history leaves it (no claims: past claims are pruned). `walk_in`: booked and
    checked in at once. `cancelled_by`: the staff user on the cancellation event (None: the person)."""
    booked_at = booked_at or start - timedelta(days=3)
    if walk_in:
        booked_at = checked_in_at = checked_in_at or start
    appointment = Appointment.objects.create(
        reference=new_reference(short_code=location.short_code),
        service=service,
        location=location,
        start=start,
        end=start + timedelta(minutes=service.duration_minutes * persons),
        persons=persons,
        status=status,
        municipality=municipality,
        created_at=booked_at,
        booked_at=booked_at,
        checked_in_at=checked_in_at,
        started_at=started_at,
        done_at=done_at,
        cancelled_at=start - timedelta(days=1) if status == AppointmentStatus.CANCELLED else None,
        no_show_at=start + timedelta(minutes=15) if status == AppointmentStatus.NO_SHOW else None,
    )
    if status == AppointmentStatus.CANCELLED:
        AppointmentEvent.objects.create(
            appointment=appointment, kind=EventKind.CANCELLED, at=appointment.cancelled_at, actor=cancelled_by
        )
    if employer is not None:
        EmployerBooking.objects.create(appointment=appointment, employer=employer, created_at=booked_at)
    return appointment


def make_employer(name: str = "Brightlands Test B.V.") -> Employer:
    return Employer.objects.create(name=name, contact_name="HR", is_approved=True, created_at=timezone.now())
