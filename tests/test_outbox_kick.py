"""The send task of an outbox row after its commit, coalesced in a burst (issue 10: a Celery publish was about
a tenth of a booking's CPU): the first row of a window goes at once, the second publishes one delayed task
that queues the rows never attempted, the rest publish nothing (bookings/outbox_kick.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app

from bookings import actions, outbox_kick, tasks
from bookings.models import EmailKind, OutboxEmail, OutboxStatus
from tests.support.factories import AppointmentFactory


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def published(monkeypatch, settings):
    """Publishing as with a broker (not eagerly), every publish recorded instead of sent; a closed window."""
    settings.EXPATDESK_OUTBOX_KICK_SECONDS = 1
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    sent: list[tuple] = []
    monkeypatch.setattr(tasks.send_outbox_email, "delay", lambda email_id: sent.append(("row", email_id)))
    monkeypatch.setattr(
        tasks.send_new_outbox_emails, "apply_async", lambda countdown: sent.append(("kick", round(countdown, 3)))
    )
    outbox_kick.forget()
    yield sent
    outbox_kick.forget()


def test_a_burst_publishes_the_first_row_and_one_delayed_task_for_the_rest(published):
    clock = Clock()
    assert outbox_kick.queue_send(1, clock=clock) == "row"
    clock.now += 0.25
    assert outbox_kick.queue_send(2, clock=clock) == "kick"
    for email_id in (3, 4, 5):
        clock.now += 0.2
        assert outbox_kick.queue_send(email_id, clock=clock) == ""
    # Due at the window's end: after the commits of rows 2 to 5.
    assert published == [("row", 1), ("kick", 0.75)]


def test_a_row_after_the_window_opens_a_new_one(published):
    clock = Clock()
    outbox_kick.queue_send(1, clock=clock)
    outbox_kick.queue_send(2, clock=clock)
    clock.now += 1.0  # the delayed task of the first window may have run: it does not cover row 3
    assert outbox_kick.queue_send(3, clock=clock) == "row"
    clock.now += 0.5
    assert outbox_kick.queue_send(4, clock=clock) == "kick"
    assert published == [("row", 1), ("kick", 1.0), ("row", 3), ("kick", 0.5)]


def test_a_failed_publish_opens_no_window(published, monkeypatch):
    """The broker down: the row's publish raises (on_commit's robust handler logs it, the sweep sends the row
    later) and the next row is published at once, not left to a delayed task that was never published."""
    clock = Clock()

    def down(email_id):
        raise ConnectionError("Redis is down")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.send_outbox_email, "delay", down)
        with pytest.raises(ConnectionError):
            outbox_kick.queue_send(1, clock=clock)
    assert outbox_kick.queue_send(2, clock=clock) == "row"
    assert published == [("row", 2)]


@pytest.mark.parametrize("eager, window", [(True, 1), (False, 0)])
def test_eagerly_or_with_no_window_every_row_is_published(published, monkeypatch, settings, eager, window):
    monkeypatch.setitem(current_app.conf, "task_always_eager", eager)
    settings.EXPATDESK_OUTBOX_KICK_SECONDS = window
    clock = Clock()
    assert [outbox_kick.queue_send(n, clock=clock) for n in (1, 2, 3)] == ["row", "row", "row"]
    assert published == [("row", 1), ("row", 2), ("row", 3)]


@pytest.mark.django_db
def test_the_delayed_task_queues_every_row_never_attempted_and_only_those(monkeypatch, monday_morning):
    queued: list[int] = []
    monkeypatch.setattr(tasks.send_outbox_email, "delay", lambda email_id: queued.append(email_id))

    def row(kind, **fields):
        return OutboxEmail.objects.create(
            appointment=AppointmentFactory(), kind=kind, revision=0, created_at=monday_morning, **fields
        )

    new = [row(EmailKind.CONFIRMATION) for _ in range(5)]
    row(EmailKind.FEEDBACK, next_attempt_at=monday_morning + timedelta(hours=2))  # not due yet
    row(EmailKind.CONFIRMATION, attempts=1, next_attempt_at=monday_morning + timedelta(minutes=1))  # a retry waits
    row(EmailKind.CONFIRMATION, attempts=1, status=OutboxStatus.SENT)
    row(EmailKind.CONFIRMATION, attempts=1, status=OutboxStatus.SENDING, claimed_at=monday_morning)
    assert actions.queue_new_outbox(page=2) == 5  # three pages
    assert queued == [email.pk for email in new]
    assert tasks.send_new_outbox_emails.apply().get() == 5
