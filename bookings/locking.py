"""The location lock: bookings share it, configuration changes take it alone (docs/locking.md).

Every transaction that changes a location's free capacity calls `capacity_changes` once, first, before
it locks or writes anything else:

- a booking (hold, confirmation, direct booking, move, walk-in) and anything that releases counter time
  (cancellation, done, no-show, hold expiry, erasure) takes the lock **shared**: any number of them run
  side by side, kept apart by the claims' unique constraint;
- a configuration change (opening hours, closures, counters, counter blocks, the location's grid, time zone
  or active flag) takes it **exclusive**: it waits until every booking in flight at the location has
  committed, and bookings that start meanwhile wait for it. So a booking is always checked against the
  rules as they are when it commits, and a configuration change sees every booking made before it.

On PostgreSQL the lock is a transaction-scoped advisory lock (`pg_advisory_xact_lock_shared` /
`pg_advisory_xact_lock`) on the pair (LOCATION_LOCK_SPACE, location id), the scheme pretix's
`lock_objects` uses: no row is locked, so no foreign-key check or `SELECT … FOR UPDATE` elsewhere can
deadlock with it. Several locations are locked in ascending id order. The wait is bounded by the
connection's `lock_timeout` (DATABASE_LOCK_TIMEOUT_MS); past it PostgreSQL raises LockNotAvailable, which
expatdesk/busy.py turns into a translated "busy, try again" answer (503). SQLite, the embedded default,
runs one writing transaction at a time, so it needs no lock.

The same call registers, for after the commit, the bump of the cached free-capacity answers of the
location (bookings/cache.py): it is the one place where every change of free capacity, from any path,
drops the answers that it made stale. A transaction that rolls back bumps nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import connection

from bookings.cache import availability_changed
from services.models import Service

# The first key of every location lock (the second is the location's id): a number of our own, so the
# locks never meet the single-key advisory locks of bookings/abuse.py (PostgreSQL keeps the two key
# spaces apart) nor another application's two-key locks on the same database.
LOCATION_LOCK_SPACE = 0x45444B  # "EDK"

SHARED = "shared"
EXCLUSIVE = "exclusive"


def _lock(location_ids: list[int], *, exclusive: bool, service_id: int | None = None) -> bool | None:
    """Take the locks; with `service_id`, whether that service is active, read in the statement of the (one)
    lock: None when nothing was read (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    if not connection.in_atomic_block:
        raise RuntimeError("A location lock is taken inside the action's transaction.")
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        if service_id is not None and len(location_ids) == 1:
            # One round trip for both. The flag is read as it was before the lock, as it was when it was read in
            # a statement of its own before the lock: a statement's snapshot is taken before it waits for a lock.
            cursor.execute(
                f"SELECT {function}(%s, %s), EXISTS (SELECT 1 FROM services_service WHERE id = %s AND is_active)",  # noqa: S608
                [LOCATION_LOCK_SPACE, location_ids[0], service_id],
            )
            return cursor.fetchone()[1]
        for location_id in location_ids:
            cursor.execute(f"SELECT {function}(%s, %s)", [LOCATION_LOCK_SPACE, location_id])
    return None


def capacity_changes(
    *,
    location_id: int,
    mode: str = SHARED,
    days: Iterable[date] | None = None,
    service_id: int | None = None,
    takes_only: bool = False,
) -> bool:
    """Announce, at the start of an action's transaction, that it changes the location's free capacity:
    lock the location (`SHARED` for bookings and releases, `EXCLUSIVE` for configuration changes) and bump
    its cached answers after the commit, on `days` (local days; None: every day).

    With `service_id` (a hold), answers whether that service is active, read with the lock in one statement
    (as of just before the lock); True otherwise. `takes_only` (a hold, a booking of a hold): the transaction
    only takes free time, so what this process remembered as taken there stays remembered (bookings/cache.py
    availability_changed; where such a transaction lets time go after all, it calls cache.time_may_be_freed)."""
    active = _lock([location_id], exclusive=_exclusive(mode), service_id=service_id)
    _bump([location_id], days=days, takes_only=takes_only)
    if service_id is None or active is not None:
        return service_id is None or bool(active)
    return Service.objects.filter(pk=service_id, is_active=True).exists()


def capacity_changes_at(*, location_ids: Iterable[int], mode: str = SHARED, days: Iterable[date] | None = None) -> None:
    """The same for several locations (hold expiry, a closure of every location), locked in id order."""
    location_ids = sorted(set(location_ids))
    _lock(location_ids, exclusive=_exclusive(mode))
    _bump(location_ids, days=days)


def _exclusive(mode: str) -> bool:
    if mode not in (SHARED, EXCLUSIVE):
        raise ValueError(f"Unknown lock mode {mode!r}.")
    return mode == EXCLUSIVE


def _bump(location_ids: list[int], *, days: Iterable[date] | None, takes_only: bool = False) -> None:
    days = None if days is None else list(days)
    for location_id in location_ids:
        availability_changed(location_id=location_id, days=days, takes_only=takes_only)
