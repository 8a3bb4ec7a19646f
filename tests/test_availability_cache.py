"""Availability versions in the shared cache (bookings/cache.py): bumped after the commit of every
action that changes a location's free capacity, so cached slot answers are dropped."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.cache import cache

from bookings import actions
from bookings.cache import bump_availability, days_around, version_token
from tests.support.env import AMSTERDAM

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)
THURSDAY = date(2026, 12, 3)
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)


def tokens(location, *days: date) -> tuple[str, ...]:
    return (version_token(location_id=location.pk), *(version_token(location_id=location.pk, day=d) for d in days))


def book(desk, service, now, start=TUESDAY_9):
    return actions.book_appointment(
        location=desk, service=service, start=start, names=[actions.PersonName("Ann", "Example")], now=now
    ).appointment


def test_a_version_is_stable_until_bumped_and_never_repeats_after_eviction(desk):
    first = tokens(desk, TUESDAY)
    assert tokens(desk, TUESDAY) == first
    bump_availability(location_id=desk.pk, days=[TUESDAY])
    bumped = tokens(desk, TUESDAY)
    assert bumped[0] != first[0] and bumped[1] != first[1]
    cache.clear()  # evicted: a fresh version, not the first one again
    assert tokens(desk, TUESDAY)[0] not in {first[0], bumped[0]}


def test_a_booking_bumps_its_location_and_day_after_the_commit_only(
    desk, service, monday_morning, django_capture_on_commit_callbacks
):
    before = tokens(desk, TUESDAY, THURSDAY)
    with django_capture_on_commit_callbacks() as callbacks:
        book(desk, service, monday_morning)
    assert tokens(desk, TUESDAY, THURSDAY) == before  # not before the commit
    for callback in callbacks:
        callback()
    after = tokens(desk, TUESDAY, THURSDAY)
    assert after[0] != before[0]  # the location, any day
    assert after[1] != before[1]  # Tuesday
    assert after[2] == before[2]  # Thursday untouched (days either side of the UTC date may be bumped)


def test_nothing_is_bumped_while_no_version_is_cached(
    desk, service, monday_morning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        book(desk, service, monday_morning)
    assert cache.get(f"availability-version:{desk.pk}:any") is None  # no cached answer to drop: no version made


def test_a_version_first_read_while_a_booking_commits_is_bumped(
    desk, service, monday_morning, django_capture_on_commit_callbacks
):
    """A reader makes the location's first version after the booking looked for one but before the booking
    committed, and reads the claims before that commit: its answer is stale, so the version it cached the
    answer under must be bumped. The booking looks for a version after its commit (bookings/cache.py
    availability_changed); looking inside the transaction, it found none and bumped nothing."""
    with django_capture_on_commit_callbacks() as callbacks:
        book(desk, service, monday_morning)
    read_meanwhile = tokens(desk, TUESDAY)  # the reader's version: made now, its claims read before the commit
    for callback in callbacks:
        callback()  # the commit
    after = tokens(desk, TUESDAY)
    assert after[0] != read_meanwhile[0] and after[1] != read_meanwhile[1]


def test_a_booking_reads_the_cache_only_after_its_commit(
    desk, service, monday_morning, django_capture_on_commit_callbacks, monkeypatch
):
    """No cache round trip while the booking holds its locks, and none at all for one that rolls back."""
    tokens(desk, TUESDAY)
    calls = []
    for name in ("get", "get_many", "incr", "set", "add"):
        original = getattr(cache, name)
        monkeypatch.setattr(cache, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    with django_capture_on_commit_callbacks() as callbacks:
        book(desk, service, monday_morning)
    assert calls == []
    for callback in callbacks:
        callback()
    assert "incr" in calls


def test_cancel_reschedule_hold_expiry_and_closures_bump(
    desk, service, monday_morning, django_capture_on_commit_callbacks
):
    appointment = book(desk, service, monday_morning)
    steps = [
        lambda: actions.reschedule_appointment(
            appointment=appointment, new_start=TUESDAY_9 + timedelta(days=1), now=monday_morning
        ),
        lambda: actions.cancel_appointment(appointment=appointment, now=monday_morning),
        lambda: actions.hold_slot(location=desk, service=service, start=TUESDAY_9, persons=1, now=monday_morning),
        lambda: actions.expire_holds(now=monday_morning + timedelta(hours=1)),
        lambda: actions.add_closure(
            location=desk,
            start_date=date(2026, 12, 24),
            end_date=date(2026, 12, 24),
            reason="Christmas eve",
            now=monday_morning,
        ),
    ]
    for step in steps:
        before = tokens(desk, TUESDAY, WEDNESDAY)
        with django_capture_on_commit_callbacks(execute=True):
            step()
        after = tokens(desk, TUESDAY, WEDNESDAY)
        assert after[0] != before[0]
    # A move from Tuesday to Thursday changes both days.
    moved = book(desk, service, monday_morning, start=TUESDAY_9 + timedelta(hours=1))
    before = tokens(desk, TUESDAY, THURSDAY)
    with django_capture_on_commit_callbacks(execute=True):
        actions.reschedule_appointment(
            appointment=moved, new_start=TUESDAY_9 + timedelta(days=1, hours=1), now=monday_morning
        )
    after = tokens(desk, TUESDAY, THURSDAY)
    assert after[1] != before[1] and after[2] != before[2]


def test_a_closure_bumps_every_day_of_the_location(desk, monday_morning, django_capture_on_commit_callbacks):
    before = tokens(desk, TUESDAY, WEDNESDAY)
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_closure(
            location=desk,
            start_date=date(2026, 12, 24),
            end_date=date(2026, 12, 24),
            reason="Christmas eve",
            now=monday_morning,
        )
    after = tokens(desk, TUESDAY, WEDNESDAY)
    assert all(a != b for a, b in zip(after, before))


def test_days_around_covers_the_local_day_in_european_time_zones():
    late = datetime(2026, 12, 1, 0, 30, tzinfo=AMSTERDAM)  # Monday 23:30 UTC
    assert late.astimezone(AMSTERDAM).date() in days_around(late)
    assert date(2026, 11, 30) in days_around(late)
