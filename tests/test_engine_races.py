"""The engine keeps its promises under real races on PostgreSQL (issue 9 §1; docs/locking.md).

Each race runs two real transactions in a chosen order with `interleave` (tests/support/races.py): the
first is stopped at a point inside its transaction, the second runs meanwhile, and the first goes on once
the second has finished or is seen waiting for a lock. Each race runs against the real path and against a
naive twin — today's code before the fix, or the real code with the location lock switched off — and the
same checks find the naive twin breaking the invariant or the rules. Where the database's own safety net
(migration 0006) would stop the naive twin, the net is switched off for that run, and a separate run shows
the net refusing it.

After every race: no live appointment lacks its claims, no two claims overlap in real time on a counter,
and no live appointment breaks the rules as they are after the race.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction

from bookings import locking
from bookings.actions import (
    BookingError,
    BookingResult,
    CounterSpec,
    HoursRow,
    add_closure,
    block_counter,
    book_appointment,
    configure_location,
    confirm_hold,
    hold_slot,
)
from bookings.actions import booking as booking_actions
from bookings.models import Appointment, AppointmentStatus, Closure, Location, SlotClaim
from services.models import Service
from tests.support.factories import make_desk
from tests.support.races import (
    TUESDAY,
    at,
    interleave,
    invariant_violations,
    names,
    real_claims,
    rule_violations,
    switch_off_safety_net,
    switch_on_safety_net,
)

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

NINE = at(TUESDAY, "09:00")


@pytest.fixture
def net_off(postgresql):
    switch_off_safety_net()
    yield
    switch_on_safety_net()


@pytest.fixture
def no_location_lock(monkeypatch):
    """The naive twin of the lock protocol: today's code before it, where bookings took no location lock."""
    monkeypatch.setattr(locking, "_lock", lambda location_ids, *, exclusive, service_id=None: None)


def one_counter_desk(service: Service) -> Location:
    return make_desk(services=[service], counters=1)


def assert_sound(location: Location, *, now: datetime) -> None:
    assert invariant_violations(location, real_claims(location), now=now) == []
    assert rule_violations(location, now=now) == []


# ---- 1. a confirmation stalled past its hold's expiry -----------------------------------------------


def before_claims_update() -> None:
    """Where the naive confirmation below can be stopped: after its decision, before its UPDATE."""


def naive_confirm_hold(*, appointment: Appointment, names, contact_email: str, now: datetime) -> BookingResult:
    """confirm_hold as it was before issue 9: it decides by `now`, read before it locked anything, whether
    the hold is still current, then updates the claims without looking at how many rows it touched."""
    with transaction.atomic(durable=True):
        locked = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
        claims = SlotClaim.objects.filter(appointment=locked)
        current = locked.status == AppointmentStatus.HELD and locked.hold_expires_at > now
        before_claims_update()
        if current:
            claims.update(expires_at=None)
        else:
            kept = claims.update(expires_at=None)
            if kept < locked.claimed_units:
                raise BookingError(BookingError.SLOT_TAKEN, "taken (naive)")
        Appointment.objects.filter(pk=locked.pk).update(
            status=AppointmentStatus.BOOKED, booked_at=now, hold_expires_at=None, contact_email=contact_email
        )
    locked.refresh_from_db()
    return BookingResult(appointment=locked, manage_token="naive")


def hold_then_race(service, monday_morning, *, confirm, pause_at):
    """A hold at 09:00 on the only counter; its confirmation (by its own clock still in time) is stopped
    while a booking whose clock says the hold lapsed takes 09:00."""
    location = one_counter_desk(service)
    held = hold_slot(location=location, service=service, start=NINE, persons=1, now=monday_morning)
    in_time = held.hold_expires_at - timedelta(minutes=1)
    after_expiry = held.hold_expires_at + timedelta(minutes=1)
    first, second = interleave(
        first=lambda: confirm(appointment=held, names=names(1), contact_email="first@example.org", now=in_time),
        pause_at=pause_at,
        second=lambda: book_appointment(
            location=location, service=service, start=NINE, names=names(1), now=after_expiry
        ),
    )
    return location, held, first, second, after_expiry


def test_a_confirmation_stalled_past_its_hold_expiry_never_books_without_its_claims(
    postgresql, service, monday_morning
):
    location, held, first, second, later = hold_then_race(
        service, monday_morning, confirm=confirm_hold, pause_at=(booking_actions, "make_claims_permanent")
    )

    assert second.won, second.trace
    # The UPDATE found the claims gone: the confirmation looked again, found 09:00 taken, and said so.
    assert first.slot_taken, first.trace
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD
    assert not SlotClaim.objects.filter(appointment=held).exists()
    assert Appointment.objects.filter(location=location, status=AppointmentStatus.BOOKED).count() == 1
    assert_sound(location, now=later)


def test_the_naive_confirmation_stalled_past_expiry_books_a_person_with_no_claims(net_off, service, monday_morning):
    location, held, first, second, later = hold_then_race(
        service, monday_morning, confirm=naive_confirm_hold, pause_at=(sys.modules[__name__], "before_claims_update")
    )

    assert first.won and second.won
    held.refresh_from_db()
    assert held.status == AppointmentStatus.BOOKED
    assert not SlotClaim.objects.filter(appointment=held).exists()
    assert Appointment.objects.filter(location=location, status=AppointmentStatus.BOOKED, start=NINE).count() == 2
    assert f"appointment {held.pk} holds 0 units, needs 1" in invariant_violations(
        location, real_claims(location), now=later
    )


def test_the_database_refuses_the_naive_confirmation_at_commit(postgresql, service, monday_morning):
    """With the safety net on, the naive twin's double booking does not commit: PostgreSQL refuses it."""
    location, held, first, second, later = hold_then_race(
        service, monday_morning, confirm=naive_confirm_hold, pause_at=(sys.modules[__name__], "before_claims_update")
    )

    assert second.won
    assert isinstance(first.error, IntegrityError), first.trace
    assert "owns 0 of its 1 claims" in str(first.error)
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD
    assert_sound(location, now=later)


# ---- 2. a lapsed hold confirmed while a closure is saved ----------------------------------------------


def lapsed_hold(service, monday_morning) -> tuple[Location, Appointment, datetime]:
    location = one_counter_desk(service)
    held = hold_slot(location=location, service=service, start=NINE, persons=1, now=monday_morning)
    return location, held, held.hold_expires_at + timedelta(minutes=5)


def close_tuesday(location: Location, now: datetime):
    return lambda: add_closure(location=location, start_date=TUESDAY, end_date=TUESDAY, reason="Training", now=now)


def test_a_lapsed_hold_racing_a_closure_never_lands_on_the_closed_day(postgresql, service, monday_morning):
    location, held, later = lapsed_hold(service, monday_morning)

    first, second = interleave(
        first=lambda: confirm_hold(appointment=held, names=names(1), contact_email="a@example.org", now=later),
        pause_at=(booking_actions, "_check_names"),
        second=close_tuesday(location, later),
    )

    # The closure waited for the confirmation, then saw the booking and was refused.
    assert first.won, first.trace
    assert isinstance(second.error, BookingError) and second.error.code == "appointments_in_closure"
    assert not Closure.objects.exists()
    assert_sound(location, now=later)


def test_a_lapsed_hold_confirmed_after_a_closure_is_refused(postgresql, service, monday_morning):
    location, held, later = lapsed_hold(service, monday_morning)
    close_tuesday(location, later)()  # lapsed holds do not stand in a closure's way

    with pytest.raises(BookingError) as refused:
        confirm_hold(appointment=held, names=names(1), contact_email="a@example.org", now=later)

    assert refused.value.code == BookingError.CLOSED
    assert_sound(location, now=later)


def test_the_naive_confirmation_of_a_lapsed_hold_lands_on_a_closed_day(
    postgresql, no_location_lock, service, monday_morning
):
    location, held, later = lapsed_hold(service, monday_morning)

    first, second = interleave(
        first=lambda: naive_confirm_hold(appointment=held, names=names(1), contact_email="a@example.org", now=later),
        pause_at=(sys.modules[__name__], "before_claims_update"),
        second=close_tuesday(location, later),
    )

    assert first.won and second.won
    assert Closure.objects.filter(location=location, start_date=TUESDAY).exists()
    assert rule_violations(location, now=later) == [f"appointment {held.pk} at Tue 09:00: outside opening hours"]


# ---- 3. a booking while the configuration changes ---------------------------------------------------


def change_closure(location: Location, now: datetime):
    return close_tuesday(location, now)


def change_hours(location: Location, now: datetime):
    # Tuesday from 10:00 only: 09:00 is no longer open.
    rows = [
        HoursRow(
            weekday=row.weekday,
            start_time=time(10, 0) if row.weekday == 1 and row.start_time == time(9) else row.start_time,
            end_time=row.end_time,
        )
        for row in location.opening_hours.all()
    ]
    return lambda: configure_location(location=location, fields={}, opening_hours=rows, now=now)


def change_counter_off(location: Location, now: datetime):
    counter = location.counters.get()
    spec = CounterSpec(pk=counter.pk, name=counter.name, service_ids=frozenset(), is_active=False)
    return lambda: configure_location(location=location, fields={}, counters=[spec], now=now)


def change_block(location: Location, now: datetime):
    counter = location.counters.get()
    return lambda: block_counter(
        counter=counter, start=at(TUESDAY, "08:00"), end=at(TUESDAY, "13:00"), reason="Ill", now=now, actor=None
    )


CHANGES = {"closure": change_closure, "hours": change_hours, "counter off": change_counter_off, "block": change_block}


def race_booking_with(change_name: str, service, monday_morning):
    location = one_counter_desk(service)
    change = CHANGES[change_name](location, monday_morning)
    first, second = interleave(
        first=lambda: book_appointment(
            location=location, service=service, start=NINE, names=names(1), now=monday_morning
        ),
        # After the rules are read, before the writes: one unit goes in with the appointment (PostgreSQL).
        pause_at=(booking_actions, "_create_appointment_claiming"),
        second=change,
    )
    return location, first, second


@pytest.mark.parametrize("change_name", list(CHANGES))
def test_a_booking_racing_a_configuration_change_keeps_the_rules(postgresql, service, monday_morning, change_name):
    location, first, second = race_booking_with(change_name, service, monday_morning)

    # The change waited for the booking (the location lock), then saw it: refused, or (a block) it left the
    # booking's unit to the booking and lists it for staff.
    assert first.won, first.trace
    booking = first.value.appointment
    if change_name == "block":
        assert second.won, second.trace
        assert SlotClaim.objects.filter(appointment=booking, unit_start=NINE).exists()
        assert not SlotClaim.objects.filter(block__isnull=False, unit_start=NINE).exists()
    else:
        assert isinstance(second.error, BookingError), second.trace
        assert_sound(location, now=monday_morning)
    assert invariant_violations(location, real_claims(location), now=monday_morning) == []


@pytest.mark.parametrize("change_name", ["closure", "hours", "counter off"])
def test_without_the_location_lock_a_booking_lands_outside_the_new_rules(
    postgresql, no_location_lock, service, monday_morning, change_name
):
    location, first, second = race_booking_with(change_name, service, monday_morning)

    assert first.won and second.won, (first.trace, second.trace)
    assert rule_violations(location, now=monday_morning) != []


def test_a_block_saved_first_keeps_the_booking_off_the_blocked_counter(postgresql, service, monday_morning):
    location = one_counter_desk(service)
    change_block(location, monday_morning)()

    with pytest.raises(BookingError) as refused:
        book_appointment(location=location, service=service, start=NINE, names=names(1), now=monday_morning)

    assert refused.value.code == BookingError.SLOT_TAKEN
    assert_sound(location, now=monday_morning)


# ---- 4. the grid changes under a booking -------------------------------------------------------------


def test_a_grid_change_racing_a_booking_is_refused_once_the_booking_is_in(postgresql, service, monday_morning):
    location = one_counter_desk(service)

    first, second = interleave(
        first=lambda: book_appointment(
            location=location, service=service, start=NINE, names=names(2), now=monday_morning
        ),
        pause_at=(booking_actions, "_insert_claims"),
        second=lambda: configure_location(location=location, fields={"grid_minutes": 10}, now=monday_morning),
    )

    assert first.won, first.trace
    assert isinstance(second.error, BookingError) and second.error.code == "claims_on_grid", second.trace
    location.refresh_from_db()
    assert location.grid_minutes == 15
    assert first.value.appointment.reference in second.error.message


def test_without_the_lock_and_the_net_a_grid_change_lets_claims_overlap_in_real_time(
    net_off, no_location_lock, service, monday_morning
):
    """The issue's example: a 09:00-09:30 booking on the 15-minute grid, the grid set to 10 minutes behind
    its back (as the admin saved it before), then a booking at 09:10 on the same counter."""
    location = one_counter_desk(service)
    first, second = interleave(
        first=lambda: book_appointment(
            location=location, service=service, start=NINE, names=names(2), now=monday_morning
        ),
        pause_at=(booking_actions, "_insert_claims"),
        second=lambda: Location.objects.filter(pk=location.pk).update(grid_minutes=10),
    )
    assert first.won and second.won
    location.refresh_from_db()
    book_appointment(location=location, service=service, start=at(TUESDAY, "09:10"), names=names(1), now=monday_morning)

    problems = invariant_violations(location, real_claims(location), now=monday_morning)
    assert any(problem.endswith("overlap") for problem in problems), problems


def test_the_exclusion_constraint_refuses_claims_that_overlap_in_real_time(postgresql, service, monday_morning):
    location = one_counter_desk(service)
    booked = book_appointment(location=location, service=service, start=NINE, names=names(2), now=monday_morning)
    counter = location.counters.get()

    with pytest.raises(IntegrityError, match="claim_no_overlap_in_real_time"), transaction.atomic():
        SlotClaim.objects.create(
            appointment=booked.appointment,
            counter=counter,
            unit_start=datetime(2026, 12, 1, 8, 10, tzinfo=UTC),  # 09:10 in Amsterdam
            unit_end=datetime(2026, 12, 1, 8, 20, tzinfo=UTC),
        )
