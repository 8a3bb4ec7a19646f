"""A per-location version of the waiting-room display in the shared cache (the displays' ETag).

Every action that changes what a display shows (a call, a recall, a ticket done, skipped, transferred or put
back) bumps the version after its transaction commits; the displays poll with If-None-Match and are answered
304 from the cache alone while it has not moved. A missing version (never set, evicted, Redis restarted)
starts at the current time in nanoseconds, so it never repeats an earlier value.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

_PREFIX = "queue-display-version"


def _key(location_id: int) -> str:
    return f"{_PREFIX}:{location_id}"


def display_version(*, location_id: int) -> int:
    key = _key(location_id)
    value = cache.get(key)
    if value is None:
        cache.add(key, time.time_ns(), timeout=None)
        value = cache.get(key, 0)
    return int(value)


def _bump(location_id: int) -> None:
    key = _key(location_id)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, time.time_ns(), timeout=None)


def display_changed(*, location_id: int) -> None:
    """Inside an action's transaction: bump the location's display version once it commits."""
    transaction.on_commit(lambda: _bump(location_id))
