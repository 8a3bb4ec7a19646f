"""The configuration a process keeps never outlives a change that commits while a booking waits for it (on
PostgreSQL, real transactions: docs/locking.md §2, tests/support/races.py `interleave`).

The booking's process has read the location's configuration before. A closure takes the location's lock
exclusively and stops inside its transaction; a booking on the closed day waits for the lock; the closure
commits; the booking reads the configuration's version after its lock was granted, sees the new one, reads the
rules again and is refused. The naive twin keeps the configuration without its version and books the closed day.
"""

from __future__ import annotations

import pytest

from bookings import availability
from bookings.actions import BookingError, add_closure, book_appointment
from bookings.actions import configuration as configuration_actions
from tests.support.factories import make_desk
from tests.support.races import TUESDAY, at, interleave, invariant_violations, names, real_claims, rule_violations

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

NINE = at(TUESDAY, "09:00")


@pytest.fixture
def kept_without_version(monkeypatch):
    """The naive twin: the configuration kept by location alone, never asking whether it changed."""
    kept: dict[int, availability._Config] = {}
    read = availability._read_configs

    def naive(_versions, *, location_ids, start_date, end_date):
        missing = [pk for pk in location_ids if pk not in kept]
        if missing:
            kept.update(read(location_ids=missing))
        return {pk: kept[pk].within(start_date, end_date) for pk in location_ids}

    monkeypatch.setattr(availability, "_configs_under", naive)
    return monkeypatch


def race_closure_with_booking(service, monday_morning):
    location = make_desk(services=[service], counters=1)
    # The booking's process has answered for the location before: its configuration is kept.
    assert availability.free_slots(
        location=location, service=service, persons=1, start_date=TUESDAY, end_date=TUESDAY, now=monday_morning
    )[TUESDAY]
    closure, booking = interleave(
        first=lambda: add_closure(
            location=location, start_date=TUESDAY, end_date=TUESDAY, reason="Training", now=monday_morning
        ),
        pause_at=(configuration_actions, "_apply_closures"),
        second=lambda: book_appointment(
            location=location, service=service, start=NINE, names=names(1), now=monday_morning
        ),
    )
    return location, closure, booking


def test_a_booking_waiting_behind_a_closure_reads_the_new_rules(postgresql, service, monday_morning):
    location, closure, booking = race_closure_with_booking(service, monday_morning)

    assert closure.won, closure.trace
    assert isinstance(booking.error, BookingError), booking.trace
    assert not location.appointments.exists()
    assert rule_violations(location, now=monday_morning) == []
    assert invariant_violations(location, real_claims(location), now=monday_morning) == []


def test_the_naive_kept_configuration_books_the_closed_day(postgresql, kept_without_version, service, monday_morning):
    location, closure, booking = race_closure_with_booking(service, monday_morning)

    assert closure.won and booking.won, (closure.trace, booking.trace)
    kept_without_version.undo()  # the rules as they are, read afresh
    assert rule_violations(location, now=monday_morning) != []
