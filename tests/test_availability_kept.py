"""Each process keeps every day's lasting claims under the day's ClaimsVersion, which database triggers draw anew on
every change of those claims, whoever writes them (bookings/availability_kept.py, migration 0017, docs/locking.md
§2): the kept claims are exactly what a direct read of the claims gives, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bookings import actions, availability, availability_kept, availability_sql
from bookings.actions import PersonName
from bookings.availability_units import TakenUnits, _epoch_seconds, kept_claims
from bookings.models import Appointment, ClaimsVersion, Counter, CounterBlock, SlotClaim
from tests.support.configuration import forget_kept_claims
from tests.support.factories import AppointmentFactory, OpeningHoursFactory, make_desk

TUESDAY = date(2026, 12, 1)


def day_of(moment: datetime) -> int:
    return availability_kept.utc_day(_epoch_seconds(moment))


def versions(location) -> dict[int, int]:
    return dict(ClaimsVersion.objects.filter(location_id=location.pk).values_list("day", "version"))


def at(day: date, clock: str, location) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=location.tz)


def free_starts(location, service, now, day=TUESDAY) -> list[datetime]:
    slots = availability.free_slots(
        location=location, service=service, persons=1, start_date=day, end_date=day, now=now
    )
    return [slot.start for slot in slots.get(day, [])]


def book(location, service, start, now, persons=1) -> Appointment:
    return actions.book_appointment(
        location=location, service=service, start=start, names=[PersonName("Jane", "Doe")] * persons, now=now
    ).appointment


def kept_read(location, start_date, end_date, now, counter_ids=None) -> TakenUnits:
    """The claims through what this process keeps (availability_kept)."""
    found = kept_claims(
        location=location,
        counter_ids=counter_ids,
        range_start=datetime.combine(start_date, time.min, tzinfo=location.tz),
        range_end=datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=location.tz),
        now=now,
        step=location.grid_minutes * 60,
    )
    assert found is not None
    return found


def direct_read(location, start_date, end_date, now, counter_ids=None) -> TakenUnits:
    """The claims read from the table itself, as before anything was kept (availability_sql.claim_words)."""
    range_start = datetime.combine(start_date, time.min, tzinfo=location.tz)
    range_end = datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=location.tz)
    step = location.grid_minutes * 60
    base = _epoch_seconds(range_start)
    words = availability_sql.claim_words(
        base=base,
        step=step,
        range_start=range_start,
        range_end=range_end,
        now=now,
        counter_ids=counter_ids,
        location_id=location.pk,
    )
    return TakenUnits.from_words(words, base=base, step=step)


def same(one: TakenUnits, other: TakenUnits) -> bool:
    return (one.base, one.step, one.masks, one.extra) == (other.base, other.step, other.masks, other.extra)


# ---- the triggers ------------------------------------------------------------------------------------------


def test_a_booking_draws_a_new_version_of_its_utc_day_and_a_hold_none(desk, service, monday_morning):
    start = free_starts(desk, service, monday_morning)[0]
    held = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    assert versions(desk) == {}  # a hold is read live, never kept
    actions.confirm_hold(appointment=held, names=[PersonName("Jane", "Doe")], contact_email="", now=monday_morning)
    after_confirm = versions(desk)
    assert list(after_confirm) == [day_of(start)]
    book(desk, service, free_starts(desk, service, monday_morning)[0], monday_morning)
    assert versions(desk)[day_of(start)] != after_confirm[day_of(start)]


def test_a_claim_after_utc_midnight_is_on_the_next_utc_day(service, monday_morning):
    """00:30 in Amsterdam is 23:30 UTC the day before: the triggers and the reads say the same day."""
    desk = make_desk(services=[service])
    desk.opening_hours.all().delete()
    OpeningHoursFactory(location=desk, weekday=TUESDAY.weekday(), start_time=time(0, 0), end_time=time(2, 0))
    starts = free_starts(desk, service, monday_morning)
    book(desk, service, starts[2], monday_morning)  # 00:30 local
    book(desk, service, starts[-1], monday_morning)  # 01:45 local: 00:45 UTC
    assert (
        sorted(versions(desk))
        == [day_of(starts[2]), day_of(starts[-1])]
        == [
            day_of(starts[2]),
            day_of(starts[2]) + 1,
        ]
    )
    forget_kept_claims()
    assert same(kept_read(desk, TUESDAY, TUESDAY, monday_morning), direct_read(desk, TUESDAY, TUESDAY, monday_morning))


def cancel(desk, service, appointment, now):
    actions.cancel_appointment(appointment=appointment, now=now)


def delete_with_the_orm(desk, service, appointment, now):
    Appointment.objects.filter(pk=appointment.pk).delete()  # its claims with it


def move_with_sql(desk, service, appointment, now):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bookings_slotclaim SET counter_id = %s WHERE appointment_id = %s",
            [desk.counters.order_by("-pk").first().pk, appointment.pk],
        )


def make_it_a_hold_again(desk, service, appointment, now):
    SlotClaim.objects.filter(appointment=appointment).update(expires_at=now + timedelta(minutes=10))


def block_its_counter(desk, service, appointment, now):
    counter = desk.counters.exclude(claims__appointment=appointment).first()
    actions.block_counter(
        counter=counter, start=appointment.start, end=appointment.end, reason="Training", now=now, actor=None
    )


def end_a_block(desk, service, appointment, now):
    block_its_counter(desk, service, appointment, now)
    before = versions(desk)
    actions.end_counter_block(block=CounterBlock.objects.get(), now=now)
    assert versions(desk) != before


CHANGES = [cancel, delete_with_the_orm, move_with_sql, make_it_a_hold_again, block_its_counter, end_a_block]


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__ for change in CHANGES])
def test_every_change_of_lasting_claims_draws_a_new_version_and_the_kept_claims_follow(
    desk, service, monday_morning, change
):
    appointment = book(desk, service, free_starts(desk, service, monday_morning)[3], monday_morning)
    kept_before = kept_read(desk, TUESDAY, TUESDAY, monday_morning)  # read and kept by this process
    before = versions(desk)
    change(desk, service, appointment, monday_morning)
    assert versions(desk)[day_of(appointment.start)] != before[day_of(appointment.start)]
    kept_after = kept_read(desk, TUESDAY, TUESDAY, monday_morning)
    assert same(kept_after, direct_read(desk, TUESDAY, TUESDAY, monday_morning))
    # A hold is taken all the same; a block ended leaves the claims as they were before it.
    assert same(kept_after, kept_before) == (change in (make_it_a_hold_again, end_a_block))


def test_a_counter_moved_to_another_location_draws_new_versions_at_both(desk, service, monday_morning):
    """The admin does not let a counter move; a shell or SQL may, and the kept claims follow it."""
    other = make_desk(services=[service], counters=1)
    start = free_starts(desk, service, monday_morning)[0]
    appointment = book(desk, service, start, monday_morning, persons=3)
    moved = Counter.objects.get(claims__appointment=appointment, name="Counter 1")
    here, there = kept_read(desk, TUESDAY, TUESDAY, monday_morning), kept_read(other, TUESDAY, TUESDAY, monday_morning)
    assert moved.pk in here.masks and not there.masks
    Counter.objects.filter(pk=moved.pk).update(location=other, name="Moved")
    assert day_of(start) in versions(other)
    for location in (desk, other):
        assert same(
            kept_read(location, TUESDAY, TUESDAY, monday_morning),
            direct_read(location, TUESDAY, TUESDAY, monday_morning),
        )
    assert moved.pk in kept_read(other, TUESDAY, TUESDAY, monday_morning).masks


def test_a_change_rolled_back_leaves_the_kept_claims_as_they_were(desk, service, monday_morning):
    """Read and kept inside a transaction that rolls back: its version is one nobody else ever reads."""
    start = free_starts(desk, service, monday_morning)[0]
    book(desk, service, start, monday_morning)
    before = kept_read(desk, TUESDAY, TUESDAY, monday_morning)
    with pytest.raises(RuntimeError), transaction.atomic():
        book(desk, service, free_starts(desk, service, monday_morning)[0], monday_morning, persons=3)
        inside = kept_read(desk, TUESDAY, TUESDAY, monday_morning)
        assert len(inside) == len(before) + 3
        raise RuntimeError("refused")
    assert same(kept_read(desk, TUESDAY, TUESDAY, monday_morning), before)


def test_claims_written_without_their_versions_are_read_by_a_new_process(desk, service, monday_morning):
    """A restore or bulk load with the triggers off leaves lasting claims without versions (here: their rows
    deleted): a process started after it reads those days all the same (docs/locking.md §2)."""
    for start in free_starts(desk, service, monday_morning)[:3]:
        book(desk, service, start, monday_morning)
    ClaimsVersion.objects.all().delete()
    forget_kept_claims()  # the processes restarted
    kept = kept_read(desk, TUESDAY, TUESDAY, monday_morning)
    assert len(kept) == 3 and same(kept, direct_read(desk, TUESDAY, TUESDAY, monday_morning))
    with CaptureQueriesContext(connection) as again:
        assert same(kept_read(desk, TUESDAY, TUESDAY, monday_morning), kept)
    assert len(again) == 1  # kept as a day without a version


# ---- the reads ---------------------------------------------------------------------------------------------


def test_kept_days_cost_one_query_and_only_the_changed_days_are_read_again(desk, service, monday_morning):
    days = [TUESDAY + timedelta(days=offset) for offset in (0, 1, 7)]
    for day in days:
        book(desk, service, free_starts(desk, service, monday_morning, day)[0], monday_morning)
    forget_kept_claims()
    end = TUESDAY + timedelta(days=13)
    with CaptureQueriesContext(connection) as first:
        kept_read(desk, TUESDAY, end, monday_morning)
    assert len(first) == 2  # the versions and holds; the lasting claims of the days that have some
    with CaptureQueriesContext(connection) as kept:
        kept_read(desk, TUESDAY, end, monday_morning)
    assert len(kept) == 1
    book(desk, service, free_starts(desk, service, monday_morning, days[1])[0], monday_morning)
    with CaptureQueriesContext(connection) as changed:
        found = kept_read(desk, TUESDAY, end, monday_morning)
    assert len(changed) == 2
    day = day_of(at(days[1], "00:00", desk) + timedelta(hours=12))
    assert f"{day}" in changed.captured_queries[1]["sql"]  # that day alone
    assert same(found, direct_read(desk, TUESDAY, end, monday_morning))


def test_a_grid_that_does_not_divide_the_range_start_is_read_directly(service, monday_morning):
    """Kolkata is UTC+05:30: its midnight is no whole hour of epoch seconds, so an hour's grid there is read
    from the table (None), and a quarter of an hour's is kept."""
    desk = make_desk(services=[service], time_zone="Asia/Kolkata", grid_minutes=60)
    start = datetime.combine(TUESDAY, time.min, tzinfo=ZoneInfo("Asia/Kolkata"))
    common = {"location_id": desk.pk, "counter_ids": None, "range_start": start, "now": monday_morning}
    end = start + timedelta(days=1)
    assert (
        availability_kept.claims(
            **common, range_end=end, base=_epoch_seconds(start), end=_epoch_seconds(end), step=3600
        )
        is None
    )
    assert (
        availability_kept.claims(**common, range_end=end, base=_epoch_seconds(start), end=_epoch_seconds(end), step=900)
        is not None
    )


ZONES = ["Europe/Amsterdam", "Europe/Lisbon", "Europe/Helsinki", "Europe/Moscow", "UTC"]


@pytest.mark.parametrize("seed", range(6))
def test_kept_claims_equal_a_direct_read_for_random_desks_and_changes(service, seed):
    """Random desks (time zones with daylight-saving days, grids, counters), random bookings, holds live and
    lapsed, blocks and claims off the grid, then random changes: after each, every range read through the kept
    claims (every counter or some) is exactly the direct read."""
    rng = random.Random(seed)
    zone = ZONES[seed % len(ZONES)]
    grid = rng.choice([15, 30]) if zone != "UTC" else rng.choice([10, 15, 20])
    desk = make_desk(
        services=[service], counters=rng.randint(1, 4), weekdays=tuple(range(7)), time_zone=zone, grid_minutes=grid
    )
    counters = list(desk.counters.values_list("pk", flat=True))
    tz = ZoneInfo(zone)
    # Around the changes to winter and to summer time (late October, late March).
    first = date(2026, 10, 20) if seed % 2 else date(2027, 3, 25)
    now = datetime.combine(first, time(6, 0), tzinfo=tz) - timedelta(days=1)
    appointments = []

    def claim(*, lasting: bool, lapsed: bool = False, off_grid: bool = False) -> None:
        day = first + timedelta(days=rng.randint(0, 20))
        minutes = rng.randint(0, 23 * 60 // grid) * grid + (7 if off_grid else 0)
        start = (datetime.combine(day, time.min, tzinfo=tz) + timedelta(minutes=minutes)).astimezone(UTC)
        appointment = AppointmentFactory(
            location=desk, service=service, start=start, end=start + timedelta(minutes=grid)
        )
        expires = None if lasting else now + timedelta(minutes=-5 if lapsed else 10)
        counter = rng.choice(counters)
        end = start + timedelta(minutes=grid)
        if not SlotClaim.objects.filter(counter_id=counter, unit_start__lt=end, unit_end__gt=start).exists():
            SlotClaim.objects.create(
                appointment=appointment,
                counter_id=counter,
                unit_start=start,
                unit_end=start + timedelta(minutes=grid),
                expires_at=expires,
            )
            appointments.append(appointment)

    for _ in range(60):
        claim(lasting=rng.random() < 0.7, lapsed=rng.random() < 0.3, off_grid=rng.random() < 0.05)

    def check() -> None:
        for _ in range(4):
            start = first + timedelta(days=rng.randint(-2, 18))
            end = start + timedelta(days=rng.randint(0, 8))
            subset = None if rng.random() < 0.5 else set(rng.sample(counters, rng.randint(1, len(counters))))
            # (kept_read: every European time zone's midnight is on these grids, so the kept claims answer)
            kept = kept_read(desk, start, end, now, subset)
            direct = direct_read(desk, start, end, now, subset)
            assert same(kept, direct), (zone, grid, start, end, subset)

    check()
    for _ in range(12):
        change = rng.randrange(4)
        if change == 0:
            claim(lasting=True, off_grid=rng.random() < 0.2)
        elif change == 1 and appointments:
            SlotClaim.objects.filter(appointment=appointments.pop(rng.randrange(len(appointments)))).delete()
        elif change == 2:
            SlotClaim.objects.filter(expires_at__isnull=False, pk__in=SlotClaim.objects.values("pk")[:3]).update(
                expires_at=None
            )
        else:
            now += timedelta(minutes=rng.choice([1, 8, 20]))  # holds lapse
        check()
