"""What a booking costs the database (issue 10): the statements of hold + book, and the claims inserted on
PostgreSQL with one INSERT … ON CONFLICT DO NOTHING, all or nothing by the row count (several units in a
savepoint, rolled back when one is taken)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions, availability
from bookings.actions import BookingError, PersonName
from bookings.actions.common import _insert_claims
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from tests.support.factories import ServiceFactory, make_desk

# The statements of the two actions inside their transactions (BEGIN and COMMIT not counted), on PostgreSQL, in
# a process that has read the location's configuration before (three queries more once per version, when it has
# not: docs/locking.md §2):
# hold — service still offered; location lock; address lock; live holds of the address; the configuration's
# version, the claims; the appointment (in a savepoint: a reference drawn twice is drawn again); lapsed claims
# at its units; its claims (two persons, two units: in a savepoint of their own, common._insert_claims_or_none);
# the address's fair share; the audit row.
HOLD_STATEMENTS = 15
# book — location lock; the hold's row; address and mailbox locks; the configuration's version (the rules
# now: no claims needed); the claims made permanent (UPDATE … RETURNING); the names; the booking; both fair
# shares in one query; the audit row; the confirmation e-mail's outbox row.
BOOK_STATEMENTS = 11


NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def served_before(location) -> None:
    """The location's configuration read and kept, as by a process that has answered for it before."""
    availability.load_rules(location=location, start_date=date(2026, 12, 1), end_date=date(2026, 12, 1), now=NOW)


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The captured SQL without the test transaction's savepoint around the action (BEGIN/COMMIT outside a test)."""
    sql = [query["sql"] for query in queries.captured_queries]
    outer = next(s.split()[1] for s in sql if s.startswith("SAVEPOINT"))
    return [s for s in sql if s not in (f"SAVEPOINT {outer}", f"RELEASE SAVEPOINT {outer}")]


def test_hold_and_book_cost_a_fixed_small_number_of_statements(postgresql, desk, service, monday_morning):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    served_before(desk)
    with CaptureQueriesContext(connection) as hold:
        held = actions.hold_slot(
            location=desk, service=service, start=start, persons=2, now=monday_morning, client_key="client-key"
        )
    with CaptureQueriesContext(connection) as book:
        actions.confirm_hold(
            appointment=held,
            names=[PersonName("Jane", "Doe"), PersonName("John", "Doe")],
            contact_email="jane@example.org",
            now=monday_morning,
        )
    assert len(statements(hold)) == HOLD_STATEMENTS, "\n".join(statements(hold))
    assert len(statements(book)) == BOOK_STATEMENTS, "\n".join(statements(book))
    booked = Appointment.objects.get(pk=held.pk)
    assert booked.status == AppointmentStatus.BOOKED
    assert SlotClaim.objects.filter(appointment=booked, expires_at__isnull=True).count() == booked.claimed_units == 2


def test_special_needs_cost_no_more_statements(postgresql, desk, service, monday_morning):
    """Extra time is part of the hold's INSERT, wheelchair access and the interpreter part of the booking's UPDATE."""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    served_before(desk)
    with CaptureQueriesContext(connection) as hold:
        held = actions.hold_slot(
            location=desk,
            service=service,
            start=start,
            persons=2,
            now=monday_morning,
            client_key="client-key",
            extra_units=2,
        )
    with CaptureQueriesContext(connection) as book:
        actions.confirm_hold(
            appointment=held,
            names=[PersonName("Jane", "Doe"), PersonName("John", "Doe")],
            contact_email="jane@example.org",
            now=monday_morning,
            needs_wheelchair=True,
            interpreter_language="pl",
        )
    assert len(statements(hold)) == HOLD_STATEMENTS, "\n".join(statements(hold))
    assert len(statements(book)) == BOOK_STATEMENTS, "\n".join(statements(book))
    booked = Appointment.objects.get(pk=held.pk)
    assert (booked.extra_units, booked.needs_wheelchair, booked.interpreter_language) == (2, True, "pl")
    assert SlotClaim.objects.filter(appointment=booked, expires_at__isnull=True).count() == booked.claimed_units == 6


def test_a_family_costs_one_insert_as_one_person_does(postgresql, service, monday_morning):
    desk = make_desk(services=[service], counters=6)
    start = datetime(2026, 12, 1, 10, 0, tzinfo=monday_morning.tzinfo)
    served_before(desk)
    with CaptureQueriesContext(connection) as one:
        actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning, client_key="a")
    with CaptureQueriesContext(connection) as six:
        actions.hold_slot(location=desk, service=service, start=start, persons=6, now=monday_morning, client_key="b")
    # The six units go in with one INSERT, as the one does; only its savepoint is more (SAVEPOINT, RELEASE).
    assert len(statements(six)) == len(statements(one)) + 2
    assert sum('INSERT INTO "bookings_slotclaim"' in sql for sql in statements(six)) == 1


def test_claims_are_all_or_nothing_when_one_unit_is_taken(postgresql, desk, monday_morning):
    """A unit someone else holds is skipped by ON CONFLICT DO NOTHING: the row count gives it away, and the
    claims' savepoint is rolled back, so the units this call did insert are gone before SLOT_TAKEN."""
    service = ServiceFactory(duration_minutes=45)
    counter = desk.counters.first()
    counter.services.add(service)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    other = actions.book_appointment(
        location=desk,
        service=service,
        start=start + timedelta(minutes=30),
        names=[PersonName("A", "B")],
        counter=counter,
        now=monday_morning,
    ).appointment
    mine = Appointment.objects.create(
        reference="TEST-0000-0001",
        service=service,
        location=desk,
        start=start,
        end=start + timedelta(minutes=45),
        persons=1,
        status=AppointmentStatus.HELD,
        created_at=monday_morning,
    )
    units = [(counter.pk, start + timedelta(minutes=minutes)) for minutes in (0, 15, 30)]
    with pytest.raises(BookingError) as refused:
        _insert_claims(appointment=mine, units=units, expires_at=None, now=monday_morning)
    assert refused.value.code == BookingError.SLOT_TAKEN
    assert not SlotClaim.objects.filter(appointment=mine).exists()
    assert SlotClaim.objects.filter(appointment=other).count() == 3
