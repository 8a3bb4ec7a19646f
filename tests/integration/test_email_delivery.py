"""E-mail through a real Celery worker on the real Redis, delivered to a real SMTP server (aiosmtpd).

Run alone with `pytest -m integration` (needs DATABASE_URL for PostgreSQL and Redis; REDIS_URL
defaults to redis://127.0.0.1:6379/0, and these tests use database 15 of that server).
"""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from bookings import actions, tasks
from bookings.models import EmailKind, OutboxEmail, OutboxStatus
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk
from tests.support.integration import assert_ids_only, calendar_parts, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EMAIL = "ann.example@example.org"
DELIVERY_TIMEOUT = 15.0
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


def book(desk, service, *, start, now):
    return actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[actions.PersonName("Ann", "Example")],
        contact_email=EMAIL,
        now=now,
    ).appointment


def assert_no_personal_data_published(worker, published):
    messages = published + worker.published()
    assert_ids_only(messages)
    assert EMAIL not in json.dumps(messages)
    assert "Example" not in json.dumps(messages)


def test_one_booking_delivers_exactly_one_confirmation_with_a_calendar_file(
    worker, mailbox, publish_to_redis, service, monday_morning
):
    desk = make_desk(services=[service])
    start = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)  # winter time: 08:00 UTC
    appointment = book(desk, service, start=start, now=monday_morning)

    received = wait_for(mailbox.messages, timeout=DELIVERY_TIMEOUT, what="the confirmation over SMTP")
    # The same row queued again (a redelivered or swept task) must not send it again.
    row = OutboxEmail.objects.get(appointment=appointment)
    tasks.send_outbox_email.delay(row.pk)
    worker.wait_idle()

    received = mailbox.messages()
    assert len(received) == 1
    message = received[0]
    assert message["To"] == EMAIL
    assert appointment.reference in message["Subject"]
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html", "text/calendar"}
    [ics] = calendar_parts(message)
    calendar = Calendar.from_ical(ics)
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert str(event["UID"]) == f"{appointment.reference}@expatdesk"
    row.refresh_from_db()
    assert (row.kind, row.status, row.attempts) == (EmailKind.CONFIRMATION, OutboxStatus.SENT, 1)
    assert_no_personal_data_published(worker, publish_to_redis)


def _bookable_start_within_days(desk, service) -> tuple[datetime, object]:
    """10:00 on one of the next few days that is not a public holiday, booked long before."""
    today = timezone.localdate()
    for offset in range(1, 6):
        day: date = today + timedelta(days=offset)
        start = datetime.combine(day, time(10, 0), tzinfo=AMSTERDAM)
        try:
            return start, book(desk, service, start=start, now=start - timedelta(days=30))
        except actions.BookingError as error:
            if error.code != actions.BookingError.CLOSED:
                raise
    pytest.fail("No open day in the next five days")


def test_a_burst_of_bookings_publishes_two_tasks_and_delivers_every_confirmation_once(
    worker, mailbox, publish_to_redis, service, monday_morning
):
    """Issue 10: the first confirmation's task goes at its commit; the next ones, committed within a second
    of it, are queued by one delayed task (bookings/outbox_kick.py), and each is sent once."""
    desk = make_desk(services=[service], counters=4)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
    booked = [book(desk, service, start=start, now=monday_morning) for _ in range(4)]
    rows = [OutboxEmail.objects.get(appointment=appointment).pk for appointment in booked]

    assert [m["task"] for m in publish_to_redis] == [
        "bookings.tasks.send_outbox_email",
        "bookings.tasks.send_new_outbox_emails",
    ]
    assert list(publish_to_redis[0]["args"]) == [rows[0]]
    wait_for(lambda: len(mailbox.messages()) >= 4, timeout=DELIVERY_TIMEOUT, what="four confirmations over SMTP")
    worker.wait_idle()
    subjects = [m["Subject"] for m in mailbox.messages()]
    assert len(subjects) == 4
    assert all(sum(a.reference in subject for subject in subjects) == 1 for a in booked), subjects
    assert set(OutboxEmail.objects.filter(pk__in=rows).values_list("status", "attempts")) == {(OutboxStatus.SENT, 1)}
    assert_no_personal_data_published(worker, publish_to_redis)


def test_running_the_reminder_scan_twice_delivers_one_reminder(worker, mailbox, publish_to_redis, service):
    # The worker scans at the real time, with EXPATDESK_REMINDER_HOURS=168 (see the worker fixture).
    desk = make_desk(services=[service], weekdays=EVERY_DAY)
    _start, appointment = _bookable_start_within_days(desk, service)
    wait_for(mailbox.messages, timeout=DELIVERY_TIMEOUT, what="the confirmation over SMTP")

    tasks.send_due_reminders.delay()
    tasks.send_due_reminders.delay()

    def reminders():
        return [m for m in mailbox.messages() if m["Subject"].startswith("Reminder")]

    wait_for(reminders, timeout=DELIVERY_TIMEOUT, what="the reminder over SMTP")
    worker.wait_idle()
    assert len(reminders()) == 1
    assert len(mailbox.messages()) == 2  # the confirmation and one reminder
    assert list(OutboxEmail.objects.filter(appointment=appointment).order_by("kind").values_list("kind", "status")) == [
        (EmailKind.CONFIRMATION, OutboxStatus.SENT),
        (EmailKind.REMINDER, OutboxStatus.SENT),
    ]
    assert_no_personal_data_published(worker, publish_to_redis)


def test_a_refused_first_attempt_is_retried_and_delivered_once(
    worker, mailbox, publish_to_redis, service, monday_morning
):
    mailbox.refuse_next = 1  # "451 Try again later" once
    desk = make_desk(services=[service])
    appointment = book(desk, service, start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM), now=monday_morning)

    wait_for(mailbox.messages, timeout=DELIVERY_TIMEOUT, what="the retried confirmation over SMTP")
    worker.wait_idle()

    assert len(mailbox.messages()) == 1
    assert mailbox.attempts == 2
    row = OutboxEmail.objects.get(appointment=appointment)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, "")
    # The retry was published by the worker itself, with the row's id only.
    retries = [m for m in worker.published() if m["task"] == "bookings.tasks.send_outbox_email"]
    assert {"task": "bookings.tasks.send_outbox_email", "args": [row.pk], "kwargs": {}} in retries
    assert_no_personal_data_published(worker, publish_to_redis)


def test_cancel_and_reschedule_deliver_their_notices(worker, mailbox, publish_to_redis, service, monday_morning):
    desk = make_desk(services=[service])
    start = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
    appointment = book(desk, service, start=start, now=monday_morning)
    actions.reschedule_appointment(appointment=appointment, new_start=start + timedelta(hours=1), now=monday_morning)
    actions.cancel_appointment(appointment=appointment, now=monday_morning)

    def cancellation_sent():
        return OutboxEmail.objects.filter(
            appointment=appointment, kind=EmailKind.CANCELLATION, status=OutboxStatus.SENT
        ).exists()

    wait_for(cancellation_sent, timeout=DELIVERY_TIMEOUT, what="the cancellation over SMTP")
    worker.wait_idle()
    # The confirmation and the reschedule notice go out only while the booking is live: if the worker
    # gets to them after the cancellation they are skipped. Each row is sent or skipped, never twice.
    rows = dict(OutboxEmail.objects.filter(appointment=appointment).values_list("kind", "status"))
    assert set(rows) == {EmailKind.CONFIRMATION, EmailKind.RESCHEDULE, EmailKind.CANCELLATION}
    assert set(rows.values()) <= {OutboxStatus.SENT, OutboxStatus.SKIPPED}
    received = mailbox.messages()
    assert len(received) == list(rows.values()).count(OutboxStatus.SENT)
    cancel = [m for m in received if Calendar.from_ical(calendar_parts(m)[0])["METHOD"] == "CANCEL"]
    assert len(cancel) == 1
    [event] = Calendar.from_ical(calendar_parts(cancel[0])[0]).walk("VEVENT")
    assert event["SEQUENCE"] == 2
    assert_no_personal_data_published(worker, publish_to_redis)
