"""The engine of a visit of several parts (issue 13): one arrival, several services, each for some persons.

A family of four needs registration for all four and biometrics for the two adults. A visit is a list of
parts in the order the desk wants them (services.selectors.visit_order); each part is a service and the
persons (numbered 1 to n) who need it. The engine works on one CapacitySnapshot (bookings/availability.py)
and answers, per arrival time, whether the whole visit fits and how:

- each person of a part is served on one counter that serves the part's service, for the service's units in
  a row, inside one opening interval, on units nobody has claimed and that no other person of the visit uses;
- a person's first part starts at the arrival, or directly after another person of the visit on the same
  counter (persons in a row on one counter, as a one-service booking is served today); so nobody is told to
  come and then wait for a counter to become free;
- a person's next part starts at or after the end of their previous part, at most `max_wait` later (the
  location's maximum wait between parts): nobody is at two counters at once, nobody waits long in between.
  The wait is wall-clock time: a lunch break between two parts is waiting like any other, so a visit that
  would continue only after lunch does not fit at that arrival;
- of the placements it tries, the one that ends the whole visit earliest wins.

Placing persons is a small scheduling problem. The engine first places them greedily, part by part, each
person at the earliest end the counters allow, preferring counters that the visit's later parts do not need
(so a counter that also serves biometrics stays free for the adults' biometrics), in two orders of the
persons (those with more parts first, and by number). When that ends later than the persons' own lower
bound (all their parts in a row), or finds nothing, a depth-first search over every order, counter and start
the rules allow looks for an earlier end, within SEARCH_NODES steps. A bit test first skips arrivals at which
some part has no free run of its length within reach. tests/test_visit_engine.py compares the answers with
an exhaustive reference: every placement found is valid and ends at the optimum; the bounded search gives up
on a rare hard case (a visit refused at an arrival where it would just fit). A one-part visit is a booking of
today and goes through CapacitySnapshot.allocate, so its answers are exactly today's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.utils.translation import gettext as _

from bookings.availability import Allocation, CapacitySnapshot, load_snapshot
from bookings.availability_units import UnitKey, _epoch_ceiling, _runs_at_least
from bookings.models import Location
from services.models import Service
from services.selectors import visit_order

DEFAULT_MAX_WAIT_MINUTES = 15
# How many steps the exhaustive search may take per arrival when the greedy placement found nothing or
# something later than the persons' own lower bound (bounded: a six-week search stays a few milliseconds).
SEARCH_NODES = 400
_Placed = tuple[int, int, int, int, int]  # (part, person, counter, start unit, end unit)


@dataclass(frozen=True)
class PartRequest:
    """One part of a visit: a service for some of the visit's persons (numbers from 1)."""

    service: Service
    persons: tuple[int, ...]


@dataclass(frozen=True)
class Task:
    """One person served on one counter for one part."""

    part: int  # index into the visit's parts
    person: int
    counter_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class VisitAllocation:
    start: datetime  # the arrival
    end: datetime  # the end of the last part
    tasks: tuple[Task, ...]
    units: tuple[UnitKey, ...]

    def part_span(self, part: int) -> tuple[datetime, datetime]:
        tasks = [task for task in self.tasks if task.part == part]
        return min(task.start for task in tasks), max(task.end for task in tasks)


@dataclass(frozen=True)
class VisitSlot:
    start: datetime
    end: datetime


class VisitError(ValueError):
    """A visit that cannot be asked for at all (no parts, a person without a part, too many persons)."""


def persons_of(parts: Sequence[PartRequest]) -> tuple[int, ...]:
    return tuple(sorted({person for part in parts for person in part.persons}))


def in_desk_order(parts: Sequence[PartRequest]) -> list[PartRequest]:
    """The parts in the order the desk runs them (services.selectors.visit_order: its rules per pair of
    services, else display order), whatever order they were asked in."""
    by_service = {part.service.pk: part for part in parts}
    return [by_service[service.pk] for service in visit_order([part.service for part in parts])]


def check_parts(parts: Sequence[PartRequest]) -> None:
    """The shape of a visit request; raises VisitError with a message for the person asking."""
    if not parts:
        raise VisitError(_("A visit needs at least one service."))
    services = [part.service.pk for part in parts]
    if len(set(services)) != len(services):
        raise VisitError(_("Each service appears once in a visit."))
    everyone = persons_of(parts)
    if everyone != tuple(range(1, len(everyone) + 1)):
        raise VisitError(_("The persons of a visit are numbered from 1 without gaps."))
    for part in parts:
        if not part.persons or len(set(part.persons)) != len(part.persons):
            raise VisitError(_("Each part is for one or more different persons."))
        if len(part.persons) > part.service.max_persons:
            raise VisitError(_("Too many persons for one of the services."))


class _DayGrid:
    """The units of one local day a visit can use, per counter: open, unclaimed, inside one interval."""

    def __init__(self, snapshot: CapacitySnapshot, day: date, counters: set[int]) -> None:
        plan = snapshot._day(day)
        grid_micros = snapshot._grid_micros
        self.plan = plan
        self.snapshot = snapshot
        self.span_end: dict[int, int] = {}
        open_bits = 0
        for begin, end in plan.spans:
            first, last = -(-begin // grid_micros), end // grid_micros
            for unit in range(first, last):
                self.span_end[unit] = last
                open_bits |= 1 << unit
        self.starts = sorted(self.span_end)
        masks = snapshot._masks(plan)
        self.free = {counter_id: open_bits & ~masks.get(counter_id, 0) for counter_id in counters}
        self._run_starts: list[int] | None = None

    def run_starts(self, planner: VisitPlanner) -> list[int]:
        """Per part of `planner`'s visit: the units at which one of its counters has its length free."""
        if self._run_starts is None:
            self._run_starts = []
            for counters, length in zip(planner.counters, planner.units, strict=True):
                bits = 0
                for counter_id in counters:
                    bits |= _runs_at_least(self.free[counter_id], length)
                self._run_starts.append(bits)
        return self._run_starts

    def fits(self, counter_id: int, unit: int, length: int, busy: int) -> bool:
        end = self.span_end.get(unit)
        if end is None or unit + length > end:
            return False
        run = ((1 << length) - 1) << unit
        return (self.free[counter_id] & ~busy) & run == run

    def moment(self, unit: int) -> datetime:
        return self.plan.midnight + self.snapshot._grid * unit  # wall-clock arithmetic, as the plain path


class VisitPlanner:
    """Free arrival times and placements of one visit on one snapshot."""

    def __init__(
        self,
        snapshot: CapacitySnapshot,
        parts: Sequence[PartRequest],
        *,
        max_wait_minutes: int | None = None,
        enforce_notice: bool = True,
    ) -> None:
        check_parts(parts)
        self.snapshot = snapshot
        self.parts = list(parts)
        grid = snapshot.location.grid_minutes
        wait = DEFAULT_MAX_WAIT_MINUTES if max_wait_minutes is None else max_wait_minutes
        self.max_wait_minutes = wait
        self.enforce_notice = enforce_notice
        self.max_wait = wait // grid
        self.units = [snapshot.units_per_person(part.service) for part in self.parts]
        self.counters = [snapshot.counters_for(part.service) for part in self.parts]
        every = {counter_id for counters in self.counters for counter_id in counters}
        snapshot._check_claims_cover(every)
        self.all_counters = every
        # Per part: the counters a later part needs too (placed on last, to keep them free).
        self.needed_later = [
            {counter_id for later in self.counters[index + 1 :] for counter_id in later}
            for index in range(len(self.parts))
        ]
        everyone = persons_of(self.parts)
        remaining = {person: sum(person in part.persons for part in self.parts) for person in everyone}
        self.orders = [
            sorted(everyone, key=lambda person: (-remaining[person], person)),
            list(everyone),
        ]
        # The latest a part can start after the arrival: everybody's work in a row plus a wait per part.
        self.reach = sum(u * len(part.persons) for u, part in zip(self.units, self.parts, strict=True)) + (
            self.max_wait * len(self.parts)
        )
        self._grids: dict[date, _DayGrid] = {}
        if enforce_notice:
            self._earliest = max(_epoch_ceiling(snapshot.earliest_start(part.service)) for part in self.parts)
        else:  # staff may book at short notice, never in the past
            self._earliest = _epoch_ceiling(snapshot.now)

    def on(self, snapshot: CapacitySnapshot) -> VisitPlanner:
        """The same visit's planner on another snapshot (an empty desk: to tell why a visit does not fit)."""
        return VisitPlanner(
            snapshot, self.parts, max_wait_minutes=self.max_wait_minutes, enforce_notice=self.enforce_notice
        )

    # ---- rules ---------------------------------------------------------------------------------

    def bookable_day(self, day: date) -> bool:
        snapshot = self.snapshot
        return all(
            part.service.is_active
            and len(part.persons) <= part.service.max_persons
            and snapshot.local_today() <= day <= snapshot.latest_bookable_day(part.service)
            for part in self.parts
        )

    def _grid(self, day: date) -> _DayGrid:
        found = self._grids.get(day)
        if found is None:
            found = self._grids[day] = _DayGrid(self.snapshot, day, self.all_counters)
        return found

    # ---- placing -------------------------------------------------------------------------------

    def _starts(
        self, *, person: int, counter_id: int, arrival: int, ready: dict[int, int], last_end: dict[int, int]
    ) -> Iterable[int]:
        """Where a task of `person` on `counter_id` may start: within the wait after their previous part, or
        (a first part) at the arrival or directly after the visit's last task on that counter."""
        if person in ready:
            return range(ready[person], ready[person] + self.max_wait + 1)
        if counter_id in last_end and last_end[counter_id] != arrival:
            return (arrival, last_end[counter_id])
        return (arrival,)

    def _place(self, grid: _DayGrid, arrival: int, order: list[int]) -> list[_Placed] | None:
        """The greedy placement for `arrival` with persons in `order`, or None."""
        busy: dict[int, int] = {}
        last_end: dict[int, int] = {}  # counter → end unit of the visit's last task there
        ready: dict[int, int] = {}  # person → end unit of their last part
        tasks: list[_Placed] = []
        for index, part in enumerate(self.parts):
            length = self.units[index]
            later = self.needed_later[index]
            members = sorted(part.persons, key=lambda person: (ready.get(person, arrival), order.index(person)))
            for person in members:
                best: tuple[int, bool, int] | None = None  # (end, needed later, counter)
                for counter_id in self.counters[index]:
                    mask = busy.get(counter_id, 0)
                    for start in self._starts(
                        person=person, counter_id=counter_id, arrival=arrival, ready=ready, last_end=last_end
                    ):
                        if grid.fits(counter_id, start, length, mask):
                            choice = (start + length, counter_id in later, counter_id)
                            if best is None or choice < best:
                                best = choice
                            break
                if best is None:
                    return None
                end, _, counter_id = best
                start = end - length
                busy[counter_id] = busy.get(counter_id, 0) | (((1 << length) - 1) << start)
                last_end[counter_id] = max(last_end.get(counter_id, end), end)
                ready[person] = end
                tasks.append((index, person, counter_id, start, end))
        return tasks

    def _lower_bound(self, arrival: int) -> int:
        """No placement ends before every person has had all their parts in a row."""
        own: dict[int, int] = {}
        for index, part in enumerate(self.parts):
            for person in part.persons:
                own[person] = own.get(person, 0) + self.units[index]
        return arrival + max(own.values())

    def _search(self, grid: _DayGrid, arrival: int, better_than: int | None) -> list[_Placed] | None:
        """Every placement the rules allow, depth first, for one that ends before `better_than` (any, when
        None), at most SEARCH_NODES steps: a family the greedy placement could not fit may still fit."""
        found: list[list[_Placed]] = []
        bound = [better_than]
        budget = [SEARCH_NODES]
        floor = self._lower_bound(arrival)

        def visit(index, waiting, busy, last_end, ready, tasks, end_so_far) -> bool:
            budget[0] -= 1
            if budget[0] < 0 or (bound[0] is not None and end_so_far >= bound[0]):
                return False
            if index == len(self.parts):
                found.append(list(tasks))
                bound[0] = end_so_far
                return end_so_far <= floor  # nothing can end earlier: stop
            if not waiting:
                following = self.parts[index + 1].persons if index + 1 < len(self.parts) else ()
                return visit(index + 1, tuple(following), busy, last_end, ready, tasks, end_so_far)
            length = self.units[index]
            # Forward check: a person who is ready (a later part) and fits nowhere now fits nowhere later
            # in this branch either, since placing others only takes units away.
            for person in waiting:
                if person in ready and not any(
                    grid.fits(counter_id, start, length, busy.get(counter_id, 0))
                    for counter_id in self.counters[index]
                    for start in range(ready[person], ready[person] + self.max_wait + 1)
                ):
                    return False
            for person in waiting:
                rest = tuple(p for p in waiting if p != person)
                for counter_id in self.counters[index]:
                    mask = busy.get(counter_id, 0)
                    for start in self._starts(
                        person=person, counter_id=counter_id, arrival=arrival, ready=ready, last_end=last_end
                    ):
                        if not grid.fits(counter_id, start, length, mask):
                            continue
                        end = start + length
                        tasks.append((index, person, counter_id, start, end))
                        done = visit(
                            index,
                            rest,
                            {**busy, counter_id: mask | (((1 << length) - 1) << start)},
                            {**last_end, counter_id: max(last_end.get(counter_id, end), end)},
                            {**ready, person: end},
                            tasks,
                            max(end_so_far, end),
                        )
                        tasks.pop()
                        if done:
                            return True
            return False

        visit(0, tuple(self.parts[0].persons), {}, {}, {}, [], arrival)
        return found[-1] if found else None

    def _may_fit(self, grid: _DayGrid, arrival: int) -> bool:
        """A necessary condition, in a few bit operations: every part has a free run of its length starting
        on one of its counters between the arrival and the latest moment the visit could still reach it."""
        window = ((1 << (self.reach + 1)) - 1) << arrival
        return all(starts & window for starts in grid.run_starts(self))

    def _best(self, grid: _DayGrid, arrival: int) -> list[_Placed] | None:
        if not self._may_fit(grid, arrival):
            return None
        best = None
        for order in self.orders:
            tasks = self._place(grid, arrival, order)
            if tasks is not None and (best is None or max(t[4] for t in tasks) < max(t[4] for t in best)):
                best = tasks
        best_end = None if best is None else max(t[4] for t in best)
        if best_end is not None and best_end <= self._lower_bound(arrival):
            return best
        return self._search(grid, arrival, best_end) or best

    def _arrivals(self, day: date) -> Iterator[tuple[_DayGrid, int]]:
        if not self.bookable_day(day):
            return
        grid = self._grid(day)
        snapshot = self.snapshot
        for unit in grid.starts:
            if snapshot._unit_epoch(grid.plan, unit) >= self._earliest:
                yield grid, unit

    def free_arrivals_on(self, day: date) -> list[VisitSlot]:
        if len(self.parts) == 1:
            part = self.parts[0]
            return [
                VisitSlot(start=slot.start, end=slot.end)
                for slot in self.snapshot.free_slots_on(service=part.service, persons=len(part.persons), day=day)
            ]
        slots = []
        for grid, unit in self._arrivals(day):
            tasks = self._best(grid, unit)
            if tasks is not None:
                slots.append(VisitSlot(start=grid.moment(unit), end=grid.moment(max(t[4] for t in tasks))))
        return slots

    def has_free_arrival_on(self, day: date) -> bool:
        if len(self.parts) == 1:
            part = self.parts[0]
            return self.snapshot.has_free_slot_on(service=part.service, persons=len(part.persons), day=day)
        return any(self._best(grid, unit) is not None for grid, unit in self._arrivals(day))

    def free_days(self) -> list[date]:
        return [day for day in self.snapshot.days() if self.has_free_arrival_on(day)]

    def allocate(self, start: datetime) -> VisitAllocation | None:
        """The placement of the visit arriving at `start`, or None when it does not fit there."""
        snapshot = self.snapshot
        if len(self.parts) == 1:
            part = self.parts[0]
            single = snapshot.allocate(service=part.service, persons=len(part.persons), start=start)
            return None if single is None else self._from_single(single, part)
        local = start.astimezone(snapshot._tz)
        day = local.date()
        if not snapshot.start_date <= day <= snapshot.end_date or not snapshot.is_on_grid(start):
            return None
        grid = self._grid(day)
        unit = next((u for u in grid.starts if grid.moment(u) == start), None)
        if unit is None or not any(u == unit for _, u in self._arrivals(day)):
            return None
        tasks = self._best(grid, unit)
        if tasks is None:
            return None
        placed = tuple(
            Task(part=part, person=person, counter_id=counter_id, start=grid.moment(first), end=grid.moment(last))
            for part, person, counter_id, first, last in tasks
        )
        units = tuple(
            (counter_id, grid.moment(u).astimezone(UTC))
            for _, _, counter_id, first, last in tasks
            for u in range(first, last)
        )
        return VisitAllocation(start=start, end=max(task.end for task in placed), tasks=placed, units=units)

    def _from_single(self, single: Allocation, part: PartRequest) -> VisitAllocation:
        """Today's allocation of a one-service booking as a one-part visit: persons in a row per counter."""
        length = self.snapshot.grid * self.units[0]
        persons = iter(part.persons)
        tasks = []
        for counter_id, here in single.persons_per_counter:
            for round_ in range(here):
                begin = single.start + length * round_
                tasks.append(Task(part=0, person=next(persons), counter_id=counter_id, start=begin, end=begin + length))
        return VisitAllocation(start=single.start, end=single.end, tasks=tuple(tasks), units=single.units)


def load_planner(
    *,
    location: Location,
    parts: Sequence[PartRequest],
    start_date: date,
    end_date: date,
    now: datetime,
    max_wait_minutes: int | None = None,
    ignore_appointment_id: int | None = None,
    enforce_notice: bool = True,
) -> VisitPlanner:
    """A planner for the visit at `location` over [start_date, end_date]: one snapshot of the claims of the
    counters that serve one of the parts (`load_snapshot`), whatever the number of parts and appointments.
    `ignore_appointment_id`: as if that appointment's claims were free (a visit being moved).
    `max_wait_minutes`: the location's own (Location.max_wait_minutes) unless given."""
    check_parts(parts)
    if max_wait_minutes is None:
        max_wait_minutes = location.max_wait_minutes
    snapshot = load_snapshot(
        location=location,
        start_date=start_date,
        end_date=end_date,
        now=now,
        services=[p.service for p in parts],
        ignore_appointment_id=ignore_appointment_id,
    )
    return VisitPlanner(snapshot, parts, max_wait_minutes=max_wait_minutes, enforce_notice=enforce_notice)


def free_arrivals(
    *,
    location: Location,
    parts: Sequence[PartRequest],
    start_date: date,
    end_date: date,
    now: datetime,
    max_wait_minutes: int | None = None,
) -> dict[date, list[VisitSlot]]:
    """The free arrival times of the visit per day in [start_date, end_date]; days without one are left out."""
    planner = load_planner(
        location=location,
        parts=parts,
        start_date=start_date,
        end_date=end_date,
        now=now,
        max_wait_minutes=max_wait_minutes,
    )
    found = {day: planner.free_arrivals_on(day) for day in planner.snapshot.days()}
    return {day: slots for day, slots in found.items() if slots}
