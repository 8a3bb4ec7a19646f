"""How a snapshot finds the starts that fit fast (bookings/availability.py's CapacitySnapshot uses it).

Two paths, both with exactly the plain algorithm's answers (tests/test_availability_equality.py):
- per start: each counter's free run from a start is the distance to the next taken bit of its mask
  of the day, so a start costs a few integer operations per counter;
- all days at once: the open units of every day of the snapshot are laid end to end in one bit string
  per counter, and "k·r free units in a row" and "the capacities add up to the persons" are worked out
  with shifts, ANDs and 3-bit saturating counters over all units together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from bookings.availability_units import (
    _MICROS_PER_MINUTE,
    PLANS,
    TakenUnits,
    _at_least_count,
    _Day,
    _epoch_ceiling,
    _epoch_seconds,
    _Layout,
    _runs_at_least,
    keep_plan,
    kept_taken_bits,
)
from services.models import Service


class FitsMixin:
    """The fast paths of CapacitySnapshot; it needs the snapshot's fields and `_day`."""

    # ---- the day's grid and claims ------------------------------------------------------------

    def _unit_epoch(self, plan: _Day, unit: int) -> int:
        """The instant (epoch seconds) of grid unit `unit` of the day, read as local wall-clock time."""
        if plan.uniform:
            return plan.midnight_epoch + unit * self._grid_seconds
        return _epoch_seconds(plan.midnight + self._grid * unit)  # wall-clock arithmetic, as the plain path

    def _masks(self, plan: _Day) -> dict[int, int]:
        """Per counter, the bits of the day's taken grid units (built once, from the snapshot's bits)."""
        if plan.masks is not None:
            return plan.masks
        masks: dict[int, int] = {}
        if plan.intervals:
            taken: TakenUnits = self.taken  # type: ignore[assignment]
            units_a_day = 1440 // self.location.grid_minutes
            since = plan.midnight_epoch - taken.base
            if plan.uniform and since >= 0 and not since % taken.step:
                shift, width = since // taken.step, (1 << units_a_day) - 1
                for counter_id, mask in taken.masks.items():
                    bits = (mask >> shift) & width
                    if bits:
                        masks[counter_id] = bits
            else:  # a daylight-saving day (or one before the snapshot's range): unit by unit, by wall clock
                counters = taken.counters()
                for unit in range(units_a_day + 1):
                    epoch = self._unit_epoch(plan, unit)
                    for counter_id in counters:
                        if taken.has(counter_id, epoch):
                            masks[counter_id] = masks.get(counter_id, 0) | (1 << unit)
        plan.masks = masks
        return masks

    @staticmethod
    def _containing_end(plan: _Day, at: int) -> int | None:
        """The end (micros of day) of the first interval, in sorted order, that contains `at`."""
        for begin, end in plan.spans:
            if begin <= at < end:
                return end
        return None

    def _capacities(
        self, *, masks: dict[int, int], counters: list[int], unit: int, fit: int, limit: int, per_person: int
    ) -> list[int]:
        """Persons each counter can serve in a row from grid unit `unit`, with `fit` units to the interval's end."""
        fit = min(fit, limit)
        capacities = []
        for counter_id in counters:
            mask = masks.get(counter_id)
            if mask is not None:
                mask >>= unit
                if mask:
                    run = (mask & -mask).bit_length() - 1
                    if run < fit:
                        capacities.append(run // per_person)
                        continue
            capacities.append(fit // per_person)
        return capacities

    def _fast_capacities(
        self, *, start: datetime, candidates: list[int], limit: int, per_person: int
    ) -> list[int] | None:
        """Capacities through the day's masks (empty when `start` is not open); None where only the
        plain path gives the same answer: off the grid, or another time zone on a daylight-saving day."""
        tz = self._tz
        if start.tzinfo is tz:
            if start.fold:
                return None
            local = start
            plan = self._day(local.date())
        else:
            local = start.astimezone(tz)
            plan = self._day(local.date())
            if not plan.uniform:
                return None
        if local.second or local.microsecond:
            return None
        minute = local.hour * 60 + local.minute
        if minute % self.location.grid_minutes:
            return None
        interval_end = self._containing_end(plan, minute * _MICROS_PER_MINUTE)
        if interval_end is None:
            return []
        unit = minute // self.location.grid_minutes
        fit = interval_end // self._grid_micros - unit
        return self._capacities(
            masks=self._masks(plan), counters=candidates, unit=unit, fit=fit, limit=limit, per_person=per_person
        )

    def _check_claims_cover(self, counters: Iterable[int]) -> None:
        if self.claims_counters is not None and not self.claims_counters.issuperset(counters):
            raise ValueError("This snapshot read the claims of other counters only.")

    def _free_starts(
        self, *, service: Service, persons: int, day: date, extra_units: int = 0
    ) -> Iterator[tuple[int, int]]:
        """(grid unit, rounds) of every start of `day` at which the booking fits, in the plain order."""
        plan = self._day(day)
        if not plan.intervals:
            return
        per_person = self.units_per_person(service, extra_units)
        counters = self.counters_for(service)
        self._check_claims_cover(counters)
        if not counters:
            return
        limit = persons * per_person
        earliest = _epoch_ceiling(self.earliest_start(service))
        masks = self._masks(plan)
        busy = [counter_id for counter_id in counters if counter_id in masks]
        idle = len(counters) - len(busy)
        grid_micros = self._grid_micros
        for begin, end in plan.spans:
            unit = -(-begin // grid_micros)
            while unit * grid_micros < end:
                if self._unit_epoch(plan, unit) >= earliest:
                    interval_end = self._containing_end(plan, unit * grid_micros)
                    fit = min(interval_end // grid_micros - unit, limit)  # type: ignore[operator]
                    if fit >= per_person:
                        rounds = self._rounds(
                            masks=masks,
                            busy=busy,
                            idle=idle,
                            unit=unit,
                            fit=fit,
                            per_person=per_person,
                            persons=persons,
                        )
                        if rounds:
                            yield unit, rounds
                unit += 1

    @staticmethod
    def _rounds(
        *, masks: dict[int, int], busy: list[int], idle: int, unit: int, fit: int, per_person: int, persons: int
    ) -> int:
        """The fewest rounds that fit `persons` from `unit`, 0 when they do not fit."""
        idle_capacity = min(fit // per_person, persons)
        total = idle * idle_capacity
        capacities = []
        if total < persons or busy:
            for counter_id in busy:
                mask = masks[counter_id] >> unit
                run = (mask & -mask).bit_length() - 1 if mask else fit
                here = min(run, fit) // per_person
                if here:
                    capacities.append(min(here, persons))
            total += sum(capacities)
            if total < persons:
                return 0
        for rounds in range(1, persons + 1):
            if idle * min(idle_capacity, rounds) + sum(min(c, rounds) for c in capacities) >= persons:
                return rounds
        return 0  # pragma: no cover - total >= persons guarantees a round count

    # ---- every day of the snapshot at once, bit-parallel --------------------------------------

    def _layout(self) -> _Layout:
        """The open grid units of every day of the range, laid end to end in one bit string.

        Each opening interval is a segment of its units that fit before it closes, followed by one
        zero bit, so no run of free units reaches into the next interval. Days whose intervals
        overlap (validity periods the admin let overlap) are left to the per-start path.
        """
        if self._layout_cache is not None:
            return self._layout_cache
        key = (self._plan_key, self.start_date, self.end_date)
        shared = PLANS.get(key)
        if shared is not None:
            self._layout_cache = shared
            return shared
        layout = _Layout()
        offset = 0
        grid_micros = self._grid_micros
        for day in self.days():
            plan = self._day(day)
            spans = plan.spans
            if not spans:
                continue
            if any(spans[i][1] > spans[i + 1][0] for i in range(len(spans) - 1)):
                layout.per_start_days.add(day)
                continue
            for begin, end in spans:
                first = -(-begin // grid_micros)
                fit_end = end // grid_micros
                if fit_end > first:
                    layout.segments.append((day, first, fit_end - first, offset))
                    layout.open |= ((1 << (fit_end - first)) - 1) << offset
                    offset += fit_end - first + 1
        self._layout_cache = layout
        keep_plan(key, layout)
        return layout

    def _taken_bits(self, layout: _Layout, counters: list[int]) -> dict[int, int]:
        """Per counter with claims, its taken units in the layout's bit string; the same claims' bits laid into
        the same layout are worked out once (TAKEN_BITS)."""
        taken: TakenUnits = self.taken  # type: ignore[assignment]
        return kept_taken_bits(layout, taken, tuple(counters), lambda: self._lay_out_taken(layout, counters))

    def _lay_out_taken(self, layout: _Layout, counters: list[int]) -> dict[int, int]:
        wanted = set(counters)
        pieces: dict[int, int] = {}
        for day, first, length, offset in layout.segments:
            for counter_id, mask in self._masks(self._day(day)).items():
                if counter_id in wanted:
                    bits = (mask >> first) & ((1 << length) - 1)
                    if bits:
                        pieces[counter_id] = pieces.get(counter_id, 0) | (bits << offset)
        return pieces

    def _starts_bits(self, layout: _Layout, service: Service) -> int:
        """The layout's units that are starts late enough for the service's minimum notice."""
        earliest = _epoch_ceiling(self.earliest_start(service))
        starts = layout.open
        for day, first, length, offset in layout.segments:
            plan = self._day(day)
            if self._unit_epoch(plan, first) >= earliest and plan.uniform:
                continue  # the whole segment is late enough (instants rise with the units on such a day)
            for index in range(length):
                if self._unit_epoch(plan, first + index) < earliest:
                    starts &= ~(1 << (offset + index))
        return starts

    def _fits(self, *, service: Service, persons: int, extra_units: int = 0) -> dict[date, list[tuple[int, int]]]:
        """(grid unit, rounds) of every start that fits, per day of the layout: all days in one pass.

        For r rounds a counter can take a person at a start when it has r·k free units from there;
        the booking fits in r rounds where the counters' capacities, each capped at r, add up to
        the persons. The sums are kept as 3-bit saturating counters, one bit per unit, so every
        step works on all units of all days at once.
        """
        key = (service.pk, persons, extra_units)
        found = self._fits_cache.get(key)
        if found is not None:
            return found
        layout = self._layout()
        counters = self.counters_for(service)
        self._check_claims_cover(counters)
        per_person = self.units_per_person(service, extra_units)
        taken = self._taken_bits(layout, counters)
        free = [layout.open & ~taken[c] for c in counters if c in taken]
        idle = min(len(counters) - len(free), 7)  # the counters saturate at 7
        starts = self._starts_bits(layout, service)
        low = mid = high = 0  # the 3-bit counters
        fits_in: list[int] = []
        for rounds in range(1, persons + 1):
            length = rounds * per_person
            vectors, still = [], []
            for bits in free:
                vector = _runs_at_least(bits, length)
                if vector:  # a counter without such a run has none longer either
                    vectors.append(vector)
                    still.append(bits)
            free = still
            if idle:
                vectors += [_runs_at_least(layout.open, length)] * idle
            for vector in vectors:
                carry = low & vector
                low ^= vector
                carry_up = mid & carry
                mid ^= carry
                overflow = high & carry_up
                high |= carry_up
                low |= overflow
                mid |= overflow
            fits_in.append(_at_least_count(low, mid, high, persons) & starts)
        result: dict[date, list[tuple[int, int]]] = defaultdict(list)
        fitting = fits_in[-1] if fits_in else 0
        if fitting:
            for day, first, length, offset in layout.segments:
                bits = (fitting >> offset) & ((1 << length) - 1)
                if not bits:
                    continue
                by_round = [(mask >> offset) & ((1 << length) - 1) for mask in fits_in]
                starts_of_day = result[day]
                while bits:
                    lowest = bits & -bits
                    index = lowest.bit_length() - 1
                    bits ^= lowest
                    if persons == 1:
                        starts_of_day.append((first + index, 1))
                    else:
                        rounds = next(r for r, mask in enumerate(by_round, start=1) if mask & lowest)
                        starts_of_day.append((first + index, rounds))
        result = dict(result)
        self._fits_cache[key] = result
        return result

    def _starts_on(
        self, *, service: Service, persons: int, day: date, extra_units: int = 0
    ) -> Iterable[tuple[int, int]]:
        if self.start_date <= day <= self.end_date and day not in self._layout().per_start_days:
            return self._fits(service=service, persons=persons, extra_units=extra_units).get(day, ())
        return self._free_starts(service=service, persons=persons, day=day, extra_units=extra_units)
