"""The lasting claims each process keeps per location and UTC day, under the day's ClaimsVersion.

A computed answer (free times, free days) reads every lasting claim (a booking's, a counter block's) of its
range: thousands of rows for six weeks at a busy desk, the most of its database time (README, Performance).
Those change only where a booking, a cancellation, a move or a block changes them, a day at a time, and
database triggers draw a new random version of a location's day in the statement of every such change
(bookings.models.ClaimsVersion, migration 0017; docs/locking.md §2). So a process keeps each day's lasting
claims under its version, and a read costs one statement: the versions of the range's days and the live holds
(few, through an index of their own); the lasting claims only of the days whose version it has not kept,
in a second statement that reads their versions with them, so what it keeps is of one moment. A day without a
version is read once as well and kept as such (no version), so claims written with the triggers off are seen
by a process started after them.

What is kept for a day: per counter, the bits of its lasting claims on the grid from the day's UTC midnight
(bit u: the claim that starts u·step seconds after it), and the claims off that grid as (counter, epoch
seconds). A range whose start is not a multiple of the grid in epoch seconds (a time zone whose offset is not)
takes the direct read (None). PostgreSQL and SQLite (availability_sql.plain_sql()).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bookings import availability_sql

DAY = 86400


def utc_day(epoch: int) -> int:
    """Days since 1970-01-01 UTC of an instant in epoch seconds (the triggers' day of a claim)."""
    return epoch // DAY


class _Kept:
    """One day's lasting claims of a location, as read under `version`."""

    __slots__ = ("bits", "off_grid", "version")

    def __init__(self, version: int | None, bits: dict[int, int], off_grid: tuple[tuple[int, int], ...]) -> None:
        self.version, self.bits, self.off_grid = version, bits, off_grid


# (location id, grid step in seconds) → UTC day → what this process read of it. Entries are never changed,
# only replaced. Bounded: emptied when it holds KEPT_DAYS days.
KEPT: dict[tuple[int, int], dict[int, _Kept]] = {}
KEPT_DAYS = 50_000
_kept_days = 0


# The answers of `claims` of the same days as kept (the _Kept objects themselves, compared by identity: an entry
# is replaced, never changed, when its day is read again) and the same live holds, for the same range and
# counters: one answer, the same objects, so what a snapshot works out from them can be kept by identity too
# (availability_fits TAKEN_BITS). Never changed once kept; bounded: emptied when it holds ASSEMBLED_KEPT.
ASSEMBLED: dict[tuple, tuple[dict[int, int], frozenset[tuple[int, int]]]] = {}
ASSEMBLED_KEPT = 256


def forget() -> None:
    """As a new process: every day's lasting claims are read again."""
    global _kept_days
    KEPT.clear()
    ASSEMBLED.clear()
    _kept_days = 0


def _keep(place: tuple[int, int], day: int, kept: _Kept) -> None:
    global _kept_days
    if _kept_days >= KEPT_DAYS:
        forget()
    days = KEPT.setdefault(place, {})
    if day not in days:
        _kept_days += 1
    days[day] = kept


def claims(
    *,
    location_id: int,
    counter_ids: Collection[int] | None,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    base: int,
    end: int,
    step: int,
) -> tuple[dict[int, int], frozenset[tuple[int, int]]] | None:
    """The live claims in [range_start, range_end) (`base` and `end`: the same in epoch seconds) of
    `counter_ids` (None: every counter of the location) as TakenUnits' masks (bit u: the unit `base` + u·`step`)
    and its claims off that grid; None where the grid does not divide a day or `base` (the caller reads them
    directly)."""
    if DAY % step or base % step:
        return None
    first, last = utc_day(base), utc_day(end - 1)
    place = (location_id, step)
    rows = availability_sql.claims_versions_and_holds(
        location_id=location_id,
        counter_ids=counter_ids,
        first_day=first,
        last_day=last,
        range_start=range_start,
        range_end=range_end,
        now=now,
    )
    versions: dict[int, int] = {}
    holds: list[tuple[int, int]] = []
    for counter_id, value, version in rows:
        if counter_id is None:
            versions[value] = version
        else:
            holds.append((counter_id, value))
    kept = KEPT.get(place, {})
    days: dict[int, _Kept] = {}
    stale = []
    for day in range(first, last + 1):
        found = kept.get(day)
        if found is not None and found.version == versions.get(day):  # None: no version, kept as such
            days[day] = found
        else:
            stale.append(day)
    if stale:
        days.update(_read_days(location_id=location_id, place=place, first=min(stale), last=max(stale)))
    wanted = None if counter_ids is None else frozenset(counter_ids)
    key = (place, wanted, base, end, tuple(days[day] for day in range(first, last + 1)), frozenset(holds))
    found = ASSEMBLED.get(key)
    if found is None:
        found = _assemble(days, holds, counter_ids=wanted, base=base, end=end, step=step)
        if len(ASSEMBLED) >= ASSEMBLED_KEPT:
            ASSEMBLED.clear()
        ASSEMBLED[key] = found
    return found


def _read_days(*, location_id: int, place: tuple[int, int], first: int, last: int) -> dict[int, _Kept]:
    """The lasting claims of every counter of the location on the UTC days first to last, with the days'
    versions in the same statement, kept."""
    step = place[1]
    rows = availability_sql.claims_versions_and_lasting_words(
        location_id=location_id, first_day=first, last_day=last, step=step
    )
    per_day = DAY // step
    day_mask = (1 << per_day) - 1
    versions: dict[int, int] = {}
    words: dict[int, dict[int, int]] = {}  # counter → word → bits
    off_grid: dict[int, list[tuple[int, int]]] = {}
    span_base = first * DAY
    for counter_id, word, bits in rows:
        if counter_id is None:
            versions[word] = bits
        elif word >= 0:
            words.setdefault(counter_id, {})[word] = bits & availability_sql.WORD_MASK
        else:
            epoch = span_base - 1 - word
            off_grid.setdefault(utc_day(epoch), []).append((counter_id, epoch))
    spans = {counter_id: _join_words(found) for counter_id, found in words.items()}
    read: dict[int, _Kept] = {}
    for day in range(first, last + 1):
        shift = (day - first) * per_day
        bits = {}
        for counter_id, span in spans.items():
            piece = (span >> shift) & day_mask
            if piece:
                bits[counter_id] = piece
        read[day] = kept = _Kept(versions.get(day), bits, tuple(off_grid.get(day, ())))
        _keep(place, day, kept)
    return read


def _join_words(words: dict[int, int]) -> int:
    """One int of 64-bit words (word w: bits 64·w up), built through bytes."""
    buffer = bytearray(8 * (max(words) + 1))
    for word, bits in words.items():
        buffer[8 * word : 8 * word + 8] = bits.to_bytes(8, "little")
    return int.from_bytes(buffer, "little")


def _assemble(
    days: dict[int, _Kept],
    holds: list[tuple[int, int]],
    *,
    counter_ids: Collection[int] | None,
    base: int,
    end: int,
    step: int,
) -> tuple[dict[int, int], frozenset[tuple[int, int]]]:
    """The masks and off-grid claims of the range [base, end) from the kept days and the holds."""
    wanted = None if counter_ids is None else set(counter_ids)
    masks: dict[int, int] = {}
    extra = set()
    for day, kept in days.items():
        shift = (day * DAY - base) // step
        for counter_id, bits in kept.bits.items():
            if wanted is None or counter_id in wanted:
                placed = bits << shift if shift >= 0 else bits >> -shift
                if placed:
                    masks[counter_id] = masks.get(counter_id, 0) | placed
        for counter_id, epoch in kept.off_grid:
            if base <= epoch < end and (wanted is None or counter_id in wanted):
                extra.add((counter_id, epoch))
    for counter_id, epoch in holds:  # read for the range and the counters already
        since = epoch - base
        if not since % step:
            masks[counter_id] = masks.get(counter_id, 0) | (1 << (since // step))
        else:
            extra.add((counter_id, epoch))
    limit = (1 << -(-(end - base) // step)) - 1
    return {counter_id: bits for counter_id, mask in masks.items() if (bits := mask & limit)}, frozenset(extra)
