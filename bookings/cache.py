"""Versions of a location's free capacity in the shared cache, so cached slot answers can be dropped.

Answers about free times (the APIs' slot lists) are cached briefly under a key that holds a version
token of the location, never invalidated by deleting keys: a write that changes free capacity bumps
the version after its transaction commits, and the next read computes afresh under the new token.

Two tokens:
- `version_token(location_id=…)` — bumped by every change at the location (any day). For answers
  that span many days, such as the IND slot list (the whole booking horizon).
- `version_token(location_id=…, day=…)` — bumped by changes on that local day, and by changes that
  concern the whole location (a closure, a counter block). For answers about one day.

A missing version (never set, or evicted) starts at the current time in nanoseconds, so it never
repeats an earlier value and no stale answer can come back under it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.core.cache import cache
from django.db import transaction

_PREFIX = "availability-version"

logger = logging.getLogger(__name__)


def _any_key(location_id: int) -> str:
    return f"{_PREFIX}:{location_id}:any"


def _all_key(location_id: int) -> str:
    return f"{_PREFIX}:{location_id}:all"


def _day_key(location_id: int, day: date) -> str:
    return f"{_PREFIX}:{location_id}:{day.isoformat()}"


def _read(keys: list[str]) -> list[int]:
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, time.time_ns(), timeout=None)
    missing = [key for key in keys if key not in found]
    if missing:
        found.update(cache.get_many(missing))
    return [int(found.get(key, 0)) for key in keys]


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # not in the cache (never read, or evicted): any fresh value is a new version
        cache.set(key, time.time_ns(), timeout=None)


def version_token(*, location_id: int, day: date | None = None) -> str:
    """The current version of the location's free capacity (on `day`, or on any day)."""
    if day is None:
        return str(_read([_any_key(location_id)])[0])
    # The `any` version is read (so created) too: while it is missing, nothing is cached to invalidate.
    _any, everything, that_day = _read([_any_key(location_id), _all_key(location_id), _day_key(location_id, day)])
    return f"{everything}.{that_day}"


def days_around(moment: datetime) -> list[date]:
    """The local days `moment` can fall on in any European time zone (UTC-1 to UTC+4), without
    loading the location: its UTC date and the days either side. Bumping a day too many is harmless."""
    utc_day = moment.astimezone(UTC).date()
    return [utc_day - timedelta(days=1), utc_day, utc_day + timedelta(days=1)]


def bump_availability(*, location_id: int, days: Iterable[date] | None) -> None:
    """Mark the location's free capacity changed on `days` (None: on every day). Call after a commit."""
    _bump(_any_key(location_id))
    if days is None:
        _bump(_all_key(location_id))
        return
    for day in set(days):
        _bump(_day_key(location_id, day))


def availability_changed(*, location_id: int, days: Iterable[date] | None) -> None:
    """Bump the versions once the current transaction commits (right away outside one).

    Skipped while the location has no version in the cache: then no answer is cached under one (a
    reader creates the version before it caches), and the next reader starts a new version anyway.

    Robust: a cache that is down must not fail a booking that has committed; its answers then live
    at most EXPATDESK_SLOT_CACHE_SECONDS.
    """
    try:
        if cache.get(_any_key(location_id)) is None:
            return  # no answer about this location is cached under a version: nothing to invalidate
    except Exception:  # the cache is down: the action goes on; the bump after the commit is tried anyway
        logger.warning("Cache unavailable while marking availability of location %s changed.", location_id)
    days = None if days is None else list(days)
    transaction.on_commit(lambda: bump_availability(location_id=location_id, days=days), robust=True)
