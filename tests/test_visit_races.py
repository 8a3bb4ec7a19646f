"""Races on PostgreSQL for visits of several parts (issue 13): visits and single bookings racing for the same
counters never double-book a counter and never leave a visit partly claimed; a visit moved while new bookings
race for its new time keeps its old time or takes the whole new one. The naive twin (check in Python, then
insert, no constraint) overbooks the same race."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bookings import actions
from bookings.actions.visits import book_visit, hold_visit
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from tests.support.races import (
    TUESDAY,
    NaiveDesk,
    assert_only_slot_taken,
    at,
    invariant_violations,
    names,
    overlaps,
    race,
    real_claims,
)
from tests.support.visits import family_desk, family_names

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

NINE = at(TUESDAY, "09:00")
RACERS = 12


def assert_whole_or_nothing(location) -> None:
    """Every live appointment owns all the claims its parts need (the invariant's count), none lacks one."""
    assert invariant_violations(location, real_claims(location)) == []
    for appointment in Appointment.objects.filter(location=location, status=AppointmentStatus.BOOKED):
        assert SlotClaim.objects.filter(appointment=appointment).count() == appointment.claimed_units > 0


def test_visits_and_single_bookings_racing_never_double_book_or_half_claim(postgresql, monday_morning):
    desk = family_desk()
    now = monday_morning

    def attempt(index: int) -> Callable[[], Any]:
        if index % 3 == 0:
            return lambda: book_visit(
                location=desk.location, parts=desk.family(), start=NINE, names=family_names(), now=now
            )
        if index % 3 == 1:
            return lambda: hold_visit(location=desk.location, parts=desk.family(2, 2), start=NINE, now=now)
        return lambda: actions.book_appointment(
            location=desk.location,
            service=desk.biometrics,
            start=at(TUESDAY, "09:15"),
            names=names(1),
            now=now,
            counter=desk.both,
        )

    outcomes = race([attempt(index) for index in range(RACERS)])
    assert_only_slot_taken(outcomes)
    assert sum(outcome.won for outcome in outcomes) >= 1
    assert_whole_or_nothing(desk.location)
    # Two families of four can share the three counters at 09:00 (one in a row on one counter, the other on
    # two); the single biometrics booking at 09:15 leaves no room for a third. Whatever won, its claims are
    # all its own (checked above) and the losers left nothing.
    winners = {outcome.appointment_id for outcome in outcomes if outcome.won}
    assert set(Appointment.objects.filter(location=desk.location).values_list("pk", flat=True)) == winners


def test_the_naive_twin_overbooks_the_same_race(naive_table, monday_morning):
    desk = family_desk()
    naive = NaiveDesk(desk.location, monday_morning)
    outcomes = race([lambda: naive.book_visit(parts=desk.family(), start=NINE)] * 4)
    assert_only_slot_taken(outcomes)
    assert sum(outcome.won for outcome in outcomes) > 1
    assert overlaps(invariant_violations(desk.location, naive.claims()))


def test_a_visit_moved_while_bookings_race_for_its_new_time_keeps_the_old_or_takes_all_of_the_new(
    postgresql, monday_morning
):
    desk = family_desk()
    now = monday_morning
    visit = book_visit(location=desk.location, parts=desk.family(), start=NINE, names=family_names(), now=now)
    visit = visit.appointment
    old = set(SlotClaim.objects.filter(appointment=visit).values_list("counter_id", "unit_start"))
    ten = at(TUESDAY, "10:00")

    def move() -> Any:
        return actions.reschedule_appointment(appointment=visit, new_start=ten, now=now)

    def single(minute: str) -> Callable[[], Any]:
        return lambda: actions.book_appointment(
            location=desk.location,
            service=desk.biometrics,
            start=at(TUESDAY, minute),
            names=names(1),
            now=now,
            counter=desk.both,
        )

    outcomes = race([move, single("10:15"), single("10:30"), move, single("10:15")])
    assert_only_slot_taken(outcomes)
    assert_whole_or_nothing(desk.location)
    visit.refresh_from_db()
    claims = set(SlotClaim.objects.filter(appointment=visit).values_list("counter_id", "unit_start"))
    if visit.start == NINE:
        assert claims == old  # the move lost: the old visit, untouched
    else:
        assert visit.start == ten and len(claims) == 6 and not claims & old  # the whole new visit
