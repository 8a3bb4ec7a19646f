"""The fast availability gives exactly the answers of the plain algorithm it replaced.

tests/support/reference_availability.py is the module as it was before the rewrite, unchanged but for
`extra_units` (extra time: grid units more per person, added to its units_per_person): the reference.
Randomised desks (seeded, so a failure repeats): counters serving some of several services, several opening
intervals a weekday with validity periods (some off the grid, some over the night of a daylight-saving
change), closures, claims (booked, blocked, and holds live and expired), 1–6 persons without extra time and
1–4 with one or two extra grid units each, grids of 5–30 minutes, days around the changes in March and
October. Every day's free slots and every allocation at every start (local and UTC, on and off the grid,
any counter or a chosen few) must be equal.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from bookings import availability
from bookings.models import (
    Appointment,
    AppointmentStatus,
    Closure,
    Counter,
    CounterBlock,
    Location,
    OpeningHours,
    SlotClaim,
)
from bookings.tokens import new_reference
from services.models import Service
from tests.support import reference_availability as reference
from tests.support.configuration import forget_kept_configurations
from tests.support.factories import CounterFactory, LocationFactory, OpeningHoursFactory, ServiceFactory

ZONES = ["Europe/Amsterdam", "Europe/Amsterdam", "Europe/London", "Europe/Helsinki"]
AROUND = [date(2026, 3, 29), date(2026, 10, 25), date(2026, 12, 1), date(2027, 3, 28)]


def random_time(rng: random.Random, *, low: int = 0, high: int = 24 * 60 - 1) -> time:
    minute = rng.randint(low, high)
    if rng.random() < 0.8:  # mostly on a 5-minute step, sometimes anywhere
        minute -= minute % 5
    return time(minute // 60, minute % 60)


def random_desk(rng: random.Random, case: int) -> dict:
    tz_name = rng.choice(ZONES)
    grid = rng.choice([5, 10, 15, 20, 30])
    location = Location(
        pk=1000 + case,
        name="Desk",
        short_code="EQ",
        time_zone=tz_name,
        grid_minutes=grid,
        is_active=rng.random() > 0.03,
    )
    services = [
        Service(
            pk=index + 1,
            code=f"s{index}",
            duration_minutes=rng.choice([5, 10, 15, 20, 25, 30, 45, 60]),
            max_persons=rng.randint(1, 6),
            minimum_notice_minutes=rng.choice([0, 0, 30, 120, 24 * 60]),
            booking_horizon_days=rng.choice([7, 14, 42]),
            is_active=rng.random() > 0.05,
        )
        for index in range(rng.randint(1, 3))
    ]
    counter_services = {
        counter_id: {service.pk for service in services if rng.random() < 0.75}
        for counter_id in range(1, rng.randint(1, 8) + 1)
    }
    around = rng.choice(AROUND)
    start_date = around - timedelta(days=rng.randint(0, 3))
    end_date = start_date + timedelta(days=rng.randint(0, 5))
    hours = []
    for weekday in range(7):
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            if rng.random() < 0.15:  # over the night, where the clocks change
                begin, end = random_time(rng, low=0, high=150), random_time(rng, low=160, high=300)
            else:
                begin, end = (
                    random_time(rng, low=6 * 60, high=14 * 60),
                    random_time(rng, low=14 * 60 + 5, high=23 * 60 + 59),
                )
            valid_from = start_date + timedelta(days=rng.randint(-3, 8)) if rng.random() < 0.3 else None
            valid_until = (valid_from or start_date) + timedelta(days=rng.randint(0, 8)) if rng.random() < 0.3 else None
            hours.append(
                OpeningHours(
                    weekday=weekday, start_time=begin, end_time=end, valid_from=valid_from, valid_until=valid_until
                )
            )
    closures = [
        Closure(
            start_date=(first := start_date + timedelta(days=rng.randint(0, 10))),
            end_date=first + timedelta(days=rng.randint(0, 2)),
            reason="closed",
        )
        for _ in range(rng.choice([0, 0, 1, 2]))
    ]
    tz = ZoneInfo(tz_name)
    day_count = (end_date - start_date).days + 1
    fill = rng.choice([0.0, 0.2, 0.5, 0.8, 0.95])
    taken = set()
    for offset in range(day_count):
        midnight = datetime.combine(start_date + timedelta(days=offset), time.min, tzinfo=tz)
        for unit in range(24 * 60 // grid):
            for counter_id in counter_services:
                if rng.random() < fill:
                    taken.add((counter_id, (midnight + timedelta(minutes=grid * unit)).astimezone(UTC)))
    # Claims by real time, too: the second 02:xx of the October night, and a few off the local grid.
    for _ in range(rng.randint(0, 30)):
        moment = datetime.combine(start_date, time.min, tzinfo=UTC) + timedelta(
            minutes=5 * rng.randint(0, 288 * day_count)
        )
        taken.add((rng.choice(list(counter_services)), moment))
    now = datetime.combine(start_date, random_time(rng), tzinfo=tz) + timedelta(days=rng.randint(-2, 3))
    return {
        "location": location,
        "start_date": start_date,
        "end_date": end_date,
        "now": now.astimezone(UTC) if rng.random() < 0.5 else now,
        "counter_services": counter_services,
        "opening_hours": hours,
        "closures": closures,
        "taken": taken,
        "services": services,
    }


def starts_of(snapshot, day: date, rng: random.Random) -> list[datetime]:
    """Every grid start of the day (local and in UTC) and a few off the grid."""
    tz = snapshot.location.tz
    midnight = datetime.combine(day, time.min, tzinfo=tz)
    grid = snapshot.location.grid_minutes
    starts = []
    for unit in range(24 * 60 // grid):
        local = midnight + timedelta(minutes=grid * unit)
        starts.append(local if rng.random() < 0.5 else local.astimezone(UTC))
    starts += [
        midnight + timedelta(minutes=rng.randint(0, 24 * 60 - 1), seconds=rng.choice([0, 0, 30])) for _ in range(5)
    ]
    starts.append(datetime.combine(day, time(2, 30, fold=1), tzinfo=tz))
    return starts


def as_compared(value):
    """Equal datetimes in different zones compare equal; the answers must match in zone and offset too."""
    if isinstance(value, availability.Slot | reference.Slot):
        return (value.start, value.start.tzinfo, value.start.utcoffset(), value.end, value.end.tzinfo, value.persons)
    if isinstance(value, availability.Allocation | reference.Allocation):
        return (value.start, value.start.tzinfo, value.end, value.end.tzinfo, value.units, value.persons_per_counter)
    return value


def compared_slots(slots) -> list:
    return [as_compared(slot) for slot in slots]


def slot_times(slots, tz) -> list[tuple[int, int, int]]:
    """What CapacitySnapshot.free_slot_times_on gives for these slots: epoch seconds, local minutes of day."""
    return [
        (
            int(slot.start.timestamp()),
            slot.start.astimezone(tz).hour * 60 + slot.start.astimezone(tz).minute,
            slot.end.astimezone(tz).hour * 60 + slot.end.astimezone(tz).minute,
        )
        for slot in slots
    ]


def assert_same_answers(spec: dict, rng: random.Random) -> int:
    services = spec.pop("services")
    old = reference.CapacitySnapshot(**spec)
    new = availability.CapacitySnapshot(**spec)
    fresh = availability.CapacitySnapshot(**spec)  # asked day by day only: the per-start path
    compared = 0
    for day in old.days():
        assert new.opening_intervals(day) == old.opening_intervals(day)
        assert new.closure_reason(day) == old.closure_reason(day)
        for service in services:
            for persons, extra in [*((p, 0) for p in range(1, 7)), *((p, e) for e in (1, 2) for p in range(1, 5))]:
                asked = {"service": service, "persons": persons, "day": day, "extra_units": extra}
                expected = [as_compared(slot) for slot in old.free_slots_on(**asked)]
                assert [as_compared(s) for s in new.free_slots_on(**asked)] == expected
                assert new.free_slot_times_on(**asked) == slot_times(old.free_slots_on(**asked), old.location.tz)
                assert new.has_free_slot_on(**asked) == bool(expected)
                assert fresh.has_free_slot_on(**asked) == bool(expected)
                compared += 1
        for start in starts_of(old, day, rng):
            service = rng.choice(services)
            persons = rng.randint(1, 6)
            extra = rng.choice((0, 0, 1, 2))
            counters = list(spec["counter_services"])
            chosen = None if rng.random() < 0.7 else rng.sample(counters, rng.randint(1, len(counters)))
            asked = {
                "service": service,
                "persons": persons,
                "start": start,
                "counter_ids": chosen,
                "extra_units": extra,
            }
            assert as_compared(new.allocate(**asked)) == as_compared(old.allocate(**asked))
            compared += 1
    whole = availability.CapacitySnapshot(**spec)  # every day at once, before any day was asked
    for service in services:
        for persons, extra in ((1, 0), (2, 0), (6, 0), (3, 1), (1, 2)):
            asked = {"service": service, "persons": persons, "extra_units": extra}
            expected = {
                day: times
                for day in old.days()
                if (times := slot_times(old.free_slots_on(**asked, day=day), old.location.tz))
            }
            assert whole.free_slot_times(**asked) == expected
            assert new.free_slot_times(**asked) == expected
            compared += 1
    return compared


def test_the_fast_algorithm_gives_the_plain_answers_on_random_desks():
    rng = random.Random(20261201)
    compared = sum(assert_same_answers(random_desk(rng, case), rng) for case in range(30))
    assert compared > 10_000  # the cases are not trivially empty


def test_replacing_the_claims_of_a_snapshot_recomputes_its_answers():
    """Callers ask "would it fit on an empty desk?" with dataclasses.replace(snapshot, taken=set())."""
    from dataclasses import replace

    rng = random.Random(7)
    spec = random_desk(rng, 0)
    spec.pop("services")
    spec["taken"] = {(counter_id, datetime(2030, 1, 1, tzinfo=UTC)) for counter_id in spec["counter_services"]}
    new = availability.CapacitySnapshot(**spec)
    empty = replace(new, taken=set())
    assert len(new.taken) == len(spec["counter_services"]) and len(empty.taken) == 0
    assert (1, datetime(2030, 1, 1, tzinfo=UTC)) in new.taken


# ---- from the database: load_snapshot reads the same claims ----------------------------------------------


def _claim(*, counter: Counter, start: datetime, units: int, grid: timedelta, status: str, expires_at=None, block=None):
    appointment = None
    if block is None:
        appointment = Appointment.objects.create(
            reference=new_reference(short_code=counter.location.short_code),
            service=counter.services.first(),
            location=counter.location,
            start=start,
            end=start + grid * units,
            persons=1,
            status=status,
            hold_expires_at=expires_at,
            created_at=start - timedelta(days=3),
        )
    SlotClaim.objects.bulk_create(
        SlotClaim(
            appointment=appointment, block=block, counter=counter, unit_start=start + grid * i, expires_at=expires_at
        )
        for i in range(units)
    )
    return appointment


@pytest.mark.parametrize("seed", [1, 2])
def test_loaded_snapshots_and_the_module_functions_agree(db, seed):
    rng = random.Random(seed)
    tz_name = rng.choice(ZONES)
    location = LocationFactory(time_zone=tz_name, grid_minutes=rng.choice([10, 15, 30]))
    tz = ZoneInfo(tz_name)
    services = [
        ServiceFactory(duration_minutes=rng.choice([15, 30]), max_persons=6, booking_horizon_days=5) for _ in range(2)
    ]
    counters = [
        CounterFactory(location=location, name=f"C{i}", services=rng.sample(services, rng.randint(1, 2)))
        for i in range(4)
    ]
    inactive = CounterFactory(location=location, name="Off", services=services, is_active=False)
    for weekday in range(7):
        OpeningHoursFactory(location=location, weekday=weekday, start_time=time(8, 0), end_time=time(12, 0))
        OpeningHoursFactory(location=location, weekday=weekday, start_time=time(13, 0), end_time=time(16, 30))
    first = rng.choice(AROUND) - timedelta(days=2)
    last = first + timedelta(days=3)
    now = datetime.combine(first, time(7), tzinfo=tz)
    grid = timedelta(minutes=location.grid_minutes)
    ignored = None
    block = CounterBlock.objects.create(
        counter=counters[0], start=now, end=now + timedelta(hours=1), reason="-", created_at=now
    )
    for _ in range(60):
        counter = rng.choice([*counters, inactive])
        day = first + timedelta(days=rng.randint(0, 3))
        start = datetime.combine(day, time(8), tzinfo=tz) + grid * rng.randint(0, 30)
        kind = rng.choice(["booked", "held", "expired", "block"])
        try:
            with transaction.atomic():
                appointment = _claim(
                    counter=counter,
                    start=start,
                    units=rng.randint(1, 3),
                    grid=grid,
                    status=AppointmentStatus.BOOKED if kind == "booked" else AppointmentStatus.HELD,
                    expires_at={"held": now + timedelta(minutes=10), "expired": now - timedelta(minutes=1)}.get(kind),
                    block=block if kind == "block" else None,
                )
        except IntegrityError:  # the unit was claimed already: skip it
            continue
        if appointment is not None and ignored is None:
            ignored = appointment.pk
    for ignore in (None, ignored):
        old = reference.load_snapshot(
            location=location, start_date=first, end_date=last, now=now, ignore_appointment_id=ignore
        )
        new = availability.load_snapshot(
            location=location, start_date=first, end_date=last, now=now, ignore_appointment_id=ignore
        )
        assert set(new.taken) == old.taken
        assert all(unit in new.taken for unit in old.taken)
        for day in old.days():
            for service in services:
                for persons, extra in ((1, 0), (3, 0), (6, 0), (1, 2), (3, 1)):
                    asked = {"service": service, "persons": persons, "day": day, "extra_units": extra}
                    assert compared_slots(new.free_slots_on(**asked)) == compared_slots(old.free_slots_on(**asked))
    for service in services:
        for persons, extra in ((1, 0), (2, 0), (6, 0), (1, 1), (2, 2)):
            kwargs = {
                "location": location,
                "service": service,
                "persons": persons,
                "start_date": first,
                "end_date": last,
                "now": now,
                "extra_units": extra,
            }
            new_slots, old_slots = availability.free_slots(**kwargs), reference.free_slots(**kwargs)
            assert {day: compared_slots(slots) for day, slots in new_slots.items()} == {
                day: compared_slots(slots) for day, slots in old_slots.items()
            }
            assert availability.free_days(**kwargs) == reference.free_days(**kwargs)
        assert availability.first_free_day(location=location, service=service, now=now) == reference.first_free_day(
            location=location, service=service, now=now
        )
    assert availability.first_free_days(location=location, services=services, now=now, persons=4) == (
        reference.first_free_days(location=location, services=services, now=now, persons=4)
    )


# ---- the first free day: a first window of claims, then the rest of the horizon --------------------------


@pytest.mark.parametrize("seed", range(6))
def test_the_first_free_day_beyond_its_first_window_is_the_plain_answer(db, seed, django_assert_max_num_queries):
    """Busy desks whose first open days are full, some closed days and closures, minimum notice, several
    persons: the first free day (read from a first window of claims, widened to the rest of the horizon only
    if it has none) is the reference's, in eight queries at most in a new process, three once it has kept the
    location's configuration and the days' lasting claims."""
    rng = random.Random(1000 + seed)
    tz_name = rng.choice(ZONES)
    location = LocationFactory(time_zone=tz_name, grid_minutes=rng.choice([10, 15, 30]))
    tz = ZoneInfo(tz_name)
    services = [
        ServiceFactory(
            duration_minutes=rng.choice([15, 30]),
            max_persons=6,
            minimum_notice_minutes=rng.choice([0, 0, 60, 24 * 60, 3 * 24 * 60]),
            booking_horizon_days=rng.choice([10, 20]),
        )
        for _ in range(2)
    ]
    counters = [
        CounterFactory(location=location, name=f"C{i}", services=rng.sample(services, rng.randint(1, 2)))
        for i in range(rng.randint(1, 4))
    ]
    for weekday in rng.sample(range(7), rng.randint(2, 6)):
        OpeningHoursFactory(location=location, weekday=weekday, start_time=time(8, 0), end_time=time(12, 0))
        if rng.random() < 0.5:
            OpeningHoursFactory(location=location, weekday=weekday, start_time=time(13, 0), end_time=time(15, 0))
    today = rng.choice(AROUND) - timedelta(days=rng.randint(0, 6))
    now = datetime.combine(today, random_time(rng), tzinfo=tz)
    if rng.random() < 0.5:
        first_closed = today + timedelta(days=rng.randint(0, 5))
        Closure.objects.create(
            location=location, start_date=first_closed, end_date=first_closed + timedelta(days=rng.randint(0, 3))
        )
    grid = timedelta(minutes=location.grid_minutes)
    block = CounterBlock.objects.create(counter=counters[0], start=now, end=now + grid, reason="-", created_at=now)
    full_days = rng.randint(0, 12)  # every unit of the first days claimed, then some at random
    claims = []
    for offset in range(22):
        midnight = datetime.combine(today + timedelta(days=offset), time(8), tzinfo=tz)
        for unit in range(7 * 60 // location.grid_minutes):
            for counter in counters:
                if offset < full_days or rng.random() < 0.6:
                    start = midnight + grid * unit
                    claims.append(SlotClaim(block=block, counter=counter, unit_start=start, unit_end=start + grid))
    SlotClaim.objects.bulk_create(claims)
    for persons in (1, 2, 4):
        for service in services:
            # As in a new process: the configuration's version and its three queries; then one window of claims,
            # or two, each its days' versions with the holds and those days' lasting claims.
            forget_kept_configurations()
            with django_assert_max_num_queries(8):
                found = availability.first_free_day(location=location, service=service, now=now, persons=persons)
            assert found == reference.first_free_day(location=location, service=service, now=now, persons=persons)
            with django_assert_max_num_queries(3):  # the configuration and the lasting claims kept
                assert (
                    availability.first_free_day(location=location, service=service, now=now, persons=persons) == found
                )
        assert availability.first_free_days(location=location, services=services, now=now, persons=persons) == (
            reference.first_free_days(location=location, services=services, now=now, persons=persons)
        )
