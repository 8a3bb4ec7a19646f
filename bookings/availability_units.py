"""The integer side of availability (bookings/availability.py): claims as (counter, epoch seconds),
a day's plan, the bit strings of the all-days pass, and the claims query.

Read-only, no business rules: the snapshot decides what the integers mean.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import BigIntegerField, BooleanField, ExpressionWrapper, Func, Q

from bookings import availability_kept, availability_sql
from bookings.models import Location, SlotClaim

UnitKey = tuple[int, datetime]  # (counter id, unit start in UTC)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_PER_MINUTE = 60_000_000


def _epoch_seconds(moment: datetime) -> int:
    """Whole seconds since 1970 (UTC) of an aware datetime; grid units never carry fractions."""
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds


def _epoch_ceiling(moment: datetime) -> int:
    """The smallest whole second at or after `moment`."""
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds + (1 if delta.microseconds else 0)


def _micros_of_day(clock: time) -> int:
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 1_000_000 + clock.microsecond


def _bits_of(units: Iterable[int]) -> int:
    """An int with the bits `units` set (built through bytes: linear, not quadratic)."""
    units = list(units)
    if not units:
        return 0
    buffer = bytearray(max(units) // 8 + 1)
    for unit in units:
        buffer[unit >> 3] |= 1 << (unit & 7)
    return int.from_bytes(buffer, "little")


class TakenUnits(Set):
    """The claimed units of a snapshot, a set of (counter id, UTC start) kept as bits.

    Unit u of counter c is bit u of `masks[c]`: the claim that starts `base + u * step` (epoch seconds;
    `base` is the snapshot's first local midnight, `step` its grid). The rare claim off that grid (never
    a start of the snapshot's grid, but looked up by the plain path) is kept as it is, in `extra`.
    """

    __slots__ = ("base", "extra", "masks", "step")

    def __init__(self, *, base: int, step: int, masks: dict[int, int], extra: frozenset[tuple[int, int]]) -> None:
        self.base, self.step, self.masks, self.extra = base, step, masks, extra

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int]], *, base: int, step: int) -> TakenUnits:
        """From (counter id, epoch seconds) rows."""
        units: dict[int, list[int]] = {}
        extra = set()
        for counter_id, epoch in rows:
            since = epoch - base
            if since >= 0 and not since % step:
                units.setdefault(counter_id, []).append(since // step)
            else:
                extra.add((counter_id, epoch))
        masks = {counter_id: _bits_of(found) for counter_id, found in units.items()}
        return cls(base=base, step=step, masks=masks, extra=frozenset(extra))

    @classmethod
    def from_words(cls, rows: Iterable[tuple[int, int, int]], *, base: int, step: int) -> TakenUnits:
        """From the (counter id, word, bits) rows of availability_sql.claim_words read with this `base` and
        `step`: each word's 64 bits laid into its counter's mask (through bytes), the claims off the grid
        into `extra`."""
        words: dict[int, list[tuple[int, int]]] = {}
        extra = set()
        for counter_id, word, bits in rows:
            if word >= 0:
                words.setdefault(counter_id, []).append((word, bits))
            else:
                extra.add((counter_id, base - 1 - word))
        masks = {}
        for counter_id, found in words.items():
            buffer = bytearray(8 * (max(word for word, _bits in found) + 1))
            for word, bits in found:
                buffer[8 * word : 8 * word + 8] = (bits & availability_sql.WORD_MASK).to_bytes(8, "little")
            masks[counter_id] = int.from_bytes(buffer, "little")
        return cls(base=base, step=step, masks=masks, extra=frozenset(extra))

    @classmethod
    def of(cls, units: Collection[UnitKey] | TakenUnits, *, base: int, step: int) -> TakenUnits:
        if isinstance(units, TakenUnits) and units.base == base and units.step == step:
            return units
        return cls.from_rows(
            ((counter_id, _epoch_seconds(unit)) for counter_id, unit in units if not unit.microsecond),
            base=base,
            step=step,
        )

    def has(self, counter_id: int, epoch: int) -> bool:
        since = epoch - self.base
        if since >= 0 and not since % self.step:
            return bool((self.masks.get(counter_id, 0) >> (since // self.step)) & 1)
        return (counter_id, epoch) in self.extra

    def counters(self) -> set[int]:
        return set(self.masks) | {counter_id for counter_id, _epoch in self.extra}

    def __contains__(self, unit: object) -> bool:
        if not isinstance(unit, tuple) or len(unit) != 2 or not isinstance(unit[1], datetime):
            return False
        moment = unit[1]
        if moment.tzinfo is None or moment.microsecond:
            return False
        return self.has(unit[0], _epoch_seconds(moment))

    def __iter__(self) -> Iterator[UnitKey]:
        for counter_id, mask in self.masks.items():
            while mask:
                lowest = mask & -mask
                yield counter_id, _EPOCH + timedelta(seconds=self.base + (lowest.bit_length() - 1) * self.step)
                mask ^= lowest
        for counter_id, epoch in self.extra:
            yield counter_id, _EPOCH + timedelta(seconds=epoch)

    def __len__(self) -> int:
        return sum(mask.bit_count() for mask in self.masks.values()) + len(self.extra)


@dataclass(slots=True)
class _Day:
    """What a snapshot worked out about one local day, once."""

    intervals: list[tuple[datetime, datetime]]
    # Per interval, in sorted order: (begin, end) in microseconds of the local day (wall clock).
    spans: list[tuple[int, int]]
    midnight: datetime  # local 00:00 of the day
    midnight_epoch: int
    uniform: bool  # no daylight-saving change on this day: grid unit g starts at midnight + g units
    masks: dict[int, int] | None = None  # counter id → bits of taken grid units (g = bit); built on demand


@dataclass(slots=True)
class _Layout:
    segments: list[tuple[date, int, int, int]] = field(default_factory=list)  # (day, first unit, units, bit offset)
    open: int = 0
    per_start_days: set[date] = field(default_factory=set)


# What snapshots of the same opening hours and closures work out from them alone, shared between them: each
# day's plan without its claims ((key, day) → _Day) and the layout of a range ((key, first day, last day) →
# _Layout), the key being CapacitySnapshot._plan_key (the hours and closures by value). Never changed once
# kept. Bounded: emptied when it holds PLANS_KEPT entries.
PLANS: dict[tuple, _Day | _Layout] = {}
PLANS_KEPT = 20_000


def _keep_bounded(store: dict, key: tuple, value: object, *, limit: int) -> None:
    if len(store) >= limit:
        store.clear()
    store[key] = value


def keep_plan(key: tuple, plan: _Day | _Layout) -> None:
    _keep_bounded(PLANS, key, plan, limit=PLANS_KEPT)


# The taken units of a layout's counters laid into its bit string (FitsMixin._taken_bits), kept for the same
# layout and the same claims: (id(layout), id(masks), the claims off the grid, the counters) → (layout, masks,
# the bits), the layout and the masks compared by identity (both are never changed once made; the masks are
# those of availability_kept.ASSEMBLED, one object for the same claims; the entry holds both, so neither id is
# another object's while it is kept). Bounded: emptied at TAKEN_BITS_KEPT.
TAKEN_BITS: dict[tuple, tuple[_Layout, dict[int, int], dict[int, int]]] = {}
TAKEN_BITS_KEPT = 256


def kept_taken_bits(
    layout: _Layout, taken: TakenUnits, counters: tuple[int, ...], lay_out: Callable[[], dict[int, int]]
) -> dict[int, int]:
    """The bits `lay_out` gives for these claims in this layout, worked out once (TAKEN_BITS)."""
    key = (id(layout), id(taken.masks), taken.extra, counters)
    kept = TAKEN_BITS.get(key)
    if kept is not None and kept[0] is layout and kept[1] is taken.masks:
        return kept[2]
    pieces = lay_out()
    _keep_bounded(TAKEN_BITS, key, (layout, taken.masks, pieces), limit=TAKEN_BITS_KEPT)
    return pieces


def forget_plans() -> None:
    """As a new process: the plans and what was laid out from them are worked out again."""
    PLANS.clear()
    TAKEN_BITS.clear()


def _runs_at_least(bits: int, length: int) -> int:
    """The bits at which `bits` has `length` set bits in a row (upwards)."""
    result, have = bits, 1
    while result and have * 2 <= length:
        result &= result >> have
        have *= 2
    if result and have < length:
        result &= result >> (length - have)
    return result


def _at_least_count(low: int, mid: int, high: int, count: int) -> int:
    """The bits whose 3-bit counter (high, mid, low) is at least `count` (1 to 7)."""
    if count == 1:
        return low | mid | high
    if count == 2:
        return mid | high
    if count == 3:
        return high | (mid & low)
    if count == 4:
        return high
    if count == 5:
        return high & (mid | low)
    if count == 6:
        return high & mid
    return high & mid & low


class _Epoch(Func):
    """Whole seconds since 1970 of a timestamp column, as an integer (PostgreSQL and SQLite)."""

    # date_part gives a double (EXTRACT gives numeric, slower to compute and to cast): exact for whole seconds.
    template = "CAST(date_part('epoch', %(expressions)s) AS bigint)"
    output_field = BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS integer)",
            **extra_context,
        )


def read_claim_rows(
    *, counter_ids: Collection[int], range_start: datetime, range_end: datetime, now: datetime
) -> list[tuple[int, int]]:
    """The live claims of these counters in the range as (counter id, epoch seconds) rows: one query."""
    if availability_sql.plain_sql():
        return availability_sql.claim_rows(
            counter_ids=counter_ids, range_start=range_start, range_end=range_end, now=now
        )
    query = (
        SlotClaim.objects.filter(
            counter_id__in=sorted(counter_ids), unit_start__gte=range_start, unit_start__lt=range_end
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .annotate(epoch=_Epoch("unit_start"))
        .order_by()
        .values_list("counter_id", "epoch")
    )
    return [tuple(row) for row in query]


def read_claims(
    *,
    location: Location,
    counter_ids: Collection[int] | None,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    ignore_appointment_id: int | None,
    step: int,
    lapsed_into: set[UnitKey] | None = None,
) -> TakenUnits:
    """The live claims in the range as TakenUnits (based at `range_start`): one query, no model rows.

    With `lapsed_into`, the same query reads the lapsed claims too (held until a time at or before `now`,
    not swept yet) and adds them to that set, as units (a booking leaves out its delete of lapsed claims
    where it saw none)."""
    base = _epoch_seconds(range_start)
    if counter_ids is not None and not counter_ids:
        return TakenUnits(base=base, step=step, masks={}, extra=frozenset())  # no counter serves it: nothing to read
    if availability_sql.plain_sql():
        query = {
            "range_start": range_start,
            "range_end": range_end,
            "now": now,
            "counter_ids": counter_ids,
            "location_id": location.pk,
            "ignore_appointment_id": ignore_appointment_id,
        }
        if lapsed_into is None and ignore_appointment_id is None:
            kept = kept_claims(
                location=location,
                counter_ids=counter_ids,
                range_start=range_start,
                range_end=range_end,
                now=now,
                step=step,
            )
            if kept is not None:
                return kept
        if lapsed_into is None:
            # Summed into 64-bit words by the database: a few hundred rows for thousands of claims, in the time
            # of the plain rows' scan (a bit_or into one bit string per counter measured three times slower).
            words = availability_sql.claim_words(base=base, step=step, **query)
            return TakenUnits.from_words(words, base=base, step=step)
        rows = availability_sql.claim_rows(**query, with_lapsed=True)
        return taken_of_rows(rows, range_start=range_start, step=step, lapsed_into=lapsed_into)
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    claims = SlotClaim.objects.filter(unit_start__gte=range_start, unit_start__lt=range_end)
    if lapsed_into is None:
        claims = claims.filter(live)
    if counter_ids is None:
        claims = claims.filter(counter__location=location)
    else:
        claims = claims.filter(counter_id__in=sorted(counter_ids))
    if ignore_appointment_id is not None:
        claims = claims.exclude(appointment_id=ignore_appointment_id)
    query = claims.annotate(epoch=_Epoch("unit_start")).order_by()
    if lapsed_into is None:
        query = query.values_list("counter_id", "epoch")
    else:
        query = query.annotate(is_live=ExpressionWrapper(live, output_field=BooleanField())).values_list(
            "counter_id", "epoch", "is_live"
        )
    return TakenUnits.from_rows(_live_rows(list(query), lapsed_into), base=base, step=step)


def kept_claims(
    *,
    location: Location,
    counter_ids: Collection[int] | None,
    range_start: datetime,
    range_end: datetime,
    now: datetime,
    step: int,
) -> TakenUnits | None:
    """`read_claims` through the lasting claims this process keeps (bookings/availability_kept.py); None where
    they cannot say (a grid that does not divide the range's start in epoch seconds)."""
    base = _epoch_seconds(range_start)
    kept = availability_kept.claims(
        location_id=location.pk,
        counter_ids=counter_ids,
        range_start=range_start,
        range_end=range_end,
        now=now,
        base=base,
        end=_epoch_seconds(range_end),
        step=step,
    )
    if kept is None:
        return None
    masks, extra = kept
    return TakenUnits(base=base, step=step, masks=masks, extra=extra)


def taken_of_rows(
    rows: list[tuple], *, range_start: datetime, step: int, lapsed_into: set[UnitKey] | None = None
) -> TakenUnits:
    """TakenUnits of claim rows read as `read_claims` reads them (availability_sql.claim_rows)."""
    return TakenUnits.from_rows(_live_rows(rows, lapsed_into), base=_epoch_seconds(range_start), step=step)


def _live_rows(rows: list[tuple], lapsed_into: set[UnitKey] | None) -> list[tuple]:
    """The (counter id, epoch) rows of the live claims; with `lapsed_into`, the rows carry whether each is live
    and the lapsed ones are added to that set as units."""
    if lapsed_into is None:
        return rows
    lapsed_into.update(
        (counter_id, _EPOCH + timedelta(seconds=epoch)) for counter_id, epoch, is_live in rows if not is_live
    )
    return [(counter_id, epoch) for counter_id, epoch, is_live in rows if is_live]
