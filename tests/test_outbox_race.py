"""Workers racing for the same outbox row on PostgreSQL: the claim is one UPDATE, so exactly one wins.

The naive version (read the status, then write it) lets every racer win, which is what this test
shows first: the same race against it sends the e-mail once per racer.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection

from bookings import actions
from bookings.models import EmailKind, OutboxEmail, OutboxStatus
from tests.support.env import require, uses_postgresql

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

RACERS = 6


def naive_claim(*, email_id: int, now, everyone_has_read: threading.Barrier):
    row = OutboxEmail.objects.get(pk=email_id)
    if row.status != OutboxStatus.PENDING:
        return None
    everyone_has_read.wait(timeout=10)
    OutboxEmail.objects.filter(pk=email_id).update(status=OutboxStatus.SENDING, claimed_at=now)
    return row


def race(claim) -> list:
    start = threading.Barrier(RACERS)

    def racer(_index: int):
        try:
            start.wait(timeout=10)
            return claim()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        results = list(pool.map(racer, range(RACERS), timeout=30))
    close_old_connections()
    return [result for result in results if result is not None]


@pytest.fixture
def pending_row(desk, service, monday_morning):
    require(uses_postgresql(), "the race tests need PostgreSQL: set DATABASE_URL=postgres://...")
    result = actions.book_appointment(
        location=desk,
        service=service,
        start=monday_morning + timedelta(days=1, hours=1),
        names=[actions.PersonName("Ann", "Example")],
        now=monday_morning,
    )
    return OutboxEmail.objects.create(
        appointment=result.appointment, kind=EmailKind.REMINDER, created_at=monday_morning
    )


def test_naive_read_then_write_claim_lets_every_racer_send(pending_row, monday_morning):
    everyone_has_read = threading.Barrier(RACERS)
    winners = race(
        lambda: naive_claim(email_id=pending_row.pk, now=monday_morning, everyone_has_read=everyone_has_read)
    )
    assert len(winners) == RACERS


def test_claim_lets_exactly_one_racer_send(pending_row, monday_morning):
    winners = race(lambda: actions.claim_outbox_email(email_id=pending_row.pk, now=monday_morning))
    assert len(winners) == 1
    pending_row.refresh_from_db()
    assert (pending_row.status, pending_row.attempts) == (OutboxStatus.SENDING, 1)
