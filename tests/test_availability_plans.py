"""The day plans and the layout a snapshot works out from the opening hours and closures alone are shared by the
snapshots of the same hours and closures (issue 10: about a millisecond of each computed six-week answer), never
by those of others (bookings/availability_units.PLANS)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from bookings import actions, availability, availability_units
from bookings.actions import PersonName
from bookings.models import Closure
from bookings.opening_hours import HoursChange
from tests.support.configuration import forget_kept_configurations

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 12, 1), date(2026, 12, 31)
TUESDAY = date(2026, 12, 8)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_kept_plans():
    forget_kept_configurations()
    yield
    forget_kept_configurations()


def snapshot(desk, service):
    return availability.load_snapshot(location=desk, start_date=FIRST, end_date=LAST, now=NOW, services=[service])


def test_two_snapshots_of_the_same_hours_share_the_layout_and_the_day_plans(desk, service):
    first, second = snapshot(desk, service), snapshot(desk, service)
    assert first._layout() is second._layout()
    assert first._day(TUESDAY).intervals is second._day(TUESDAY).intervals
    # ... but each keeps the masks of its own claims.
    assert first._day(TUESDAY) is not second._day(TUESDAY)
    assert first.free_slot_times(service=service, persons=1) == second.free_slot_times(service=service, persons=1)


def test_new_hours_are_worked_out_afresh(desk, service):
    before = snapshot(desk, service)
    assert before.opening_intervals(TUESDAY)[-1][1].time() == time(17, 0)
    before._layout()
    actions.change_opening_hours(
        location=desk,
        change=HoursChange(weekday=1, intervals=((time(9, 0), time(12, 0)),), valid_from=FIRST, valid_until=None),
        now=NOW,
    )
    after = snapshot(desk, service)
    assert [(b.time(), e.time()) for b, e in after.opening_intervals(TUESDAY)] == [(time(9, 0), time(12, 0))]
    assert after._layout() is not before._layout()
    tuesdays = {
        day: times for day, times in after.free_slot_times(service=service, persons=1).items() if day.weekday() == 1
    }
    assert tuesdays
    assert max(end for times in tuesdays.values() for _, _, end in times) == 12 * 60


def test_a_closure_is_worked_out_afresh(desk, service):
    assert snapshot(desk, service).opening_intervals(TUESDAY)
    actions.add_closure(location=desk, start_date=TUESDAY, end_date=TUESDAY, reason="Staff day", now=NOW)
    assert snapshot(desk, service).opening_intervals(TUESDAY) == []
    assert TUESDAY not in snapshot(desk, service).free_slot_times(service=service, persons=1)


def test_the_locations_own_settings_are_part_of_the_key(desk, service):
    """A location object read before it was switched off gives the plans of an open desk, one read after it
    those of a closed one, with the same hours and closures."""
    open_desk = snapshot(desk, service)
    assert open_desk.opening_intervals(TUESDAY)
    desk.is_active = False
    closed = snapshot(desk, service)
    assert closed.opening_intervals(TUESDAY) == []
    assert closed._layout().segments == []
    assert open_desk._layout().segments


def test_a_proposed_closure_of_a_preview_is_not_taken_for_the_real_hours(desk, service):
    """desk/selectors.capacity_preview copies a snapshot with a closure added (dataclasses.replace): the copy's
    plans are its own, and the real snapshot's stay open."""
    real = snapshot(desk, service)
    assert real.opening_intervals(TUESDAY)
    real._layout()
    proposed = replace(real, closures=[*real.closures, Closure(location=desk, start_date=TUESDAY, end_date=TUESDAY)])
    assert proposed.opening_intervals(TUESDAY) == []
    assert TUESDAY not in proposed.free_slot_times(service=service, persons=1)
    assert snapshot(desk, service).opening_intervals(TUESDAY)
    assert TUESDAY in snapshot(desk, service).free_slot_times(service=service, persons=1)


def test_the_shared_plans_are_bounded(desk, service, monkeypatch):
    monkeypatch.setattr(availability_units, "PLANS_KEPT", 10)
    snapshot(desk, service).free_slot_times(service=service, persons=1)
    assert 0 < len(availability_units.PLANS) <= 10


def test_the_same_claims_laid_into_the_same_layout_are_worked_out_once(desk, service):
    """availability_kept.ASSEMBLED gives snapshots of the same kept days and live holds one answer, the same
    masks; what is laid out of them into a shared layout is kept by identity too (availability_units.TAKEN_BITS)."""
    actions.book_appointment(
        location=desk,
        service=service,
        start=datetime(2026, 12, 8, 9, 0, tzinfo=desk.tz),
        names=[PersonName("Jane", "Doe")],
        now=NOW,
    )
    first, second = snapshot(desk, service), snapshot(desk, service)
    assert first.taken.masks is second.taken.masks
    counters = first.counters_for(service)
    assert first._taken_bits(first._layout(), counters) is second._taken_bits(second._layout(), counters)
    assert first._taken_bits(first._layout(), counters)  # the booking's unit


@pytest.mark.parametrize("change", ["hold", "booking", "cancellation"])
def test_a_change_of_the_claims_since_is_laid_out_afresh(desk, service, change):
    """The kept answers are the same objects only for the same claims: a hold (a live claim, read every time),
    a booking or a cancellation (a day's new version) in between, and the next snapshot works from the new ones."""
    start = datetime(2026, 12, 8, 9, 0, tzinfo=desk.tz)
    booked = actions.book_appointment(
        location=desk, service=service, start=start, names=[PersonName("Jane", "Doe")], now=NOW
    ).appointment
    before = snapshot(desk, service)
    free_before = {begin for begin, _start, _end in before.free_slot_times(service=service, persons=1)[TUESDAY]}
    assert int(start.timestamp()) in free_before  # two of three counters free
    if change == "cancellation":
        actions.cancel_appointment(appointment=booked, now=NOW)
    else:
        for _other in range(2):  # the other two counters
            if change == "hold":
                actions.hold_slot(location=desk, service=service, start=start, persons=1, now=NOW)
            else:
                actions.book_appointment(
                    location=desk, service=service, start=start, names=[PersonName("Jim", "Doe")], now=NOW
                )
    after = snapshot(desk, service)
    assert after.taken.masks is not before.taken.masks
    free_after = {begin for begin, _start, _end in after.free_slot_times(service=service, persons=1)[TUESDAY]}
    assert (int(start.timestamp()) in free_after) is (change == "cancellation")
    assert after.free_slot_times(service=service, persons=1) == availability.CapacitySnapshot.free_slot_times(
        fresh_snapshot(desk, service), service=service, persons=1
    )


def fresh_snapshot(desk, service):
    """A snapshot as a new process makes it: nothing kept."""
    forget_kept_configurations()
    return snapshot(desk, service)
