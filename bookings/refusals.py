"""Times a process has just found taken, remembered for a moment (issue 10: a release of popular times).

When many people try for the same few times at once (2,000 attempts at 50 freed slots), nearly every hold is
refused: the time went to someone else a moment ago. The read before a hold (bookings/actions/booking.py
`refuse_unless_free`) tells each of them so in one statement, without a lock; this module lets a process
answer the same hold (location, service, start, persons, extra time) the same way for
EXPATDESK_TAKEN_REMEMBERED_MS after it read that the time was taken, without reading again. The moment is
measured by the `now` the hold is made at, the one its rules are checked at.

What it may cost a person: a time freed by another process (a cancellation, a hold let go) or by a hold
lapsing within that moment is refused as taken for the rest of it, as a list of free times cached for
EXPATDESK_SLOT_CACHE_SECONDS would not show it yet either; they try again a moment later. A change of free
capacity at the location made by this process forgets what it remembered there at once and again after its
commit (bookings/cache.py `availability_changed`), unless it only takes time (a hold, and the booking of a
hold as it was held: what was taken stays taken). Only "taken" is remembered: a refusal by the rules (the
notice, the horizon, the hours) is read every time. Nothing here ever lets a hold through: a time not
remembered as taken is read, and held only by the transaction under its locks (docs/locking.md, "The read
before a hold").

A refusal as taken also marks its location contended for this process for CONTENDED (by the holds' `now`):
only there does a hold read before its transaction (`contended`). A hold anywhere else goes straight to its
transaction, which refuses what is not free with the same errors (tests/test_hold_refusals.py): the read
before pays for itself only when most holds are refused, and costs every hold that goes through one statement.

Each process keeps its own (nothing shared, no round trip), at most MAX_REMEMBERED holds; a test or a new
process starts with none (`forget`).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from datetime import datetime, timedelta

from django.conf import settings

# A desk has a few hundred starts a day: enough for every time a release of slots is fought over.
MAX_REMEMBERED = 4096

# How long after a refusal as taken at a location this process reads before each hold there: a release of
# slots is fought over for seconds; a minute is many times that, and only a moment to a quiet desk.
CONTENDED = timedelta(seconds=60)

# key → (read at; location id; the refusal's code and message)
_remembered: dict[Hashable, tuple[datetime, int, str, str]] = {}
# location id → the `now` of the latest hold this process refused there as taken (one entry a location).
_taken_at: dict[int, datetime] = {}
# Held while the entries are gone through (a process serving requests on threads): a lookup is one dict operation.
_lock = threading.Lock()


def _moment() -> timedelta:
    return timedelta(milliseconds=settings.EXPATDESK_TAKEN_REMEMBERED_MS)


def recent(key: Hashable, *, now: datetime) -> tuple[str, str] | None:
    """The code and message of the refusal of `key` this process read a moment before `now`, or None."""
    found = _remembered.get(key)
    if found is None:
        return None
    read_at, _location_id, code, message = found
    if not read_at <= now < read_at + _moment():  # (a `now` before the read: read again)
        with _lock:
            _remembered.pop(key, None)
        return None
    return code, message


def contended(location_id: int, *, now: datetime) -> bool:
    """Whether this process refused a hold at the location as taken within CONTENDED before `now`."""
    taken_at = _taken_at.get(location_id)
    return taken_at is not None and taken_at <= now < taken_at + CONTENDED


def remember(key: Hashable, *, now: datetime, location_id: int, code: str, message: str) -> None:
    """Answer `key` with this refusal as taken, read at `now`, for EXPATDESK_TAKEN_REMEMBERED_MS (nothing while
    it is 0), and mark its location contended from `now`."""
    moment = _moment()
    with _lock:
        latest = _taken_at.get(location_id)
        if latest is None or now > latest:  # an older `now` does not move it back
            _taken_at[location_id] = now
        if moment <= timedelta(0):
            return
        if len(_remembered) >= MAX_REMEMBERED:
            for old in [old for old, entry in _remembered.items() if entry[0] + moment <= now]:
                del _remembered[old]
            while len(_remembered) >= MAX_REMEMBERED:  # all still current: the oldest go first
                del _remembered[next(iter(_remembered))]
        _remembered.pop(key, None)  # to the end of the order, as the newest
        _remembered[key] = (now, location_id, code, message)


def forget(location_id: int | None = None) -> None:
    """Forget the refusals remembered at the location (None: everywhere, and which locations are contended:
    as a new process). A location stays contended through its own changes of free capacity: the few holds that
    go through in a release of slots do not end it."""
    with _lock:
        if location_id is None:
            _remembered.clear()
            _taken_at.clear()
            return
        for key in [key for key, entry in _remembered.items() if entry[1] == location_id]:
            del _remembered[key]
