"""Free capacity, computed in memory from one snapshot of a location.

Read-only. A snapshot costs two queries whatever the number of appointments, past or future: the
version of the location's configuration, and the live claims in the range. The configuration (the active
counters and the services they serve that the location offers, with the location's own minimum notice and
horizon of each, LocationService; the opening hours; the closures) is three queries more when this process
has not read it under that version yet (`_load_configs`, docs/locking.md §2). Everything else — public
holidays, minimum notice, horizon, the grid, the allocation of persons to counters — is computed in Python.
`now` is always passed in.

How a booking uses counters: a service takes `k` grid units per person. A booking for P persons
starting at `t` places each person on a counter for k consecutive free units; persons on the same
counter follow each other from `t`. So a family of 3 may sit at 3 counters at once, or one after
another at one counter, or anything between; the allocation that ends earliest is chosen.

How it stays fast (the answers are those of the plain algorithm, which tests/support keeps as the
reference of an equality test):
- claims are read as (counter, epoch seconds) integers and kept as one bit string per counter over the
  whole range (bit u: the unit `u` grid steps after the range's first local midnight);
- a day's opening intervals (holiday and closure check included), its grid starts and their instants
  are worked out once per snapshot, and a day's mask of taken units per counter is one shift of those
  bit strings;
- whether a booking fits at a start is then a few integer operations per counter, and all starts of all
  days at once are a few dozen operations on bit strings per counter.
Starts that are off the grid, or given in another time zone on a daylight-saving day, take the plain
path, unit by unit, exactly as before. The integer side lives in bookings/availability_units.py, the
fast paths in bookings/availability_fits.py, the queries as plain SQL in bookings/availability_sql.py
(building them through the ORM cost more than running them); callers import this module only.
free_slot_times() gives free_slots()' slots as plain numbers, for answers that list hundreds of them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import TypeVar

import holidays
from django.db.models import F, Q
from django.utils import translation

from bookings import availability_kept, availability_sql, refusals
from bookings.availability_fits import FitsMixin
from bookings.availability_units import (
    _MICROS_PER_MINUTE,
    PLANS,
    TakenUnits,
    UnitKey,
    _Day,
    _epoch_seconds,
    _Layout,
    _micros_of_day,
    forget_plans,
    keep_plan,
    read_claim_rows,
    read_claims,
    taken_of_rows,
)
from bookings.models import Closure, Counter, Location, OpeningHours
from services.models import Service

T = TypeVar("T")

__all__ = [
    "Allocation",
    "CapacitySnapshot",
    "Slot",
    "TakenUnits",
    "UnitKey",
    "first_free_day",
    "first_free_days",
    "free_days",
    "free_slot_times",
    "free_slots",
    "load_snapshot",
    "nearest_free_slots",
    "public_holiday_name",
    "units_per_person",
]


@lru_cache(maxsize=32)
def _dutch_public_holidays(year: int, language: str = "en_US") -> dict[date, str]:
    return dict(holidays.country_holidays("NL", years=year, language=language))


def public_holiday_name(day: date) -> str | None:
    """The holiday's name in the active language: Dutch ("Eerste kerstdag") or English ("Christmas Day")."""
    language = "nl" if (translation.get_language() or "").startswith("nl") else "en_US"
    return _dutch_public_holidays(day.year, language).get(day)


def _minute_of(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _is_public_holiday(day: date) -> bool:
    return day in _dutch_public_holidays(day.year)


def units_per_person(*, location: Location, service: Service, extra_units: int = 0) -> int:
    """How many grid units one person of `service` occupies on a counter, with `extra_units` more for each
    person of a booking that asked for extra time (a special need, Appointment.extra_units)."""
    return max(1, math.ceil(service.duration_minutes / location.grid_minutes)) + extra_units


@dataclass(frozen=True)
class Slot:
    """A start time at which the booking fits, with the end of its last person."""

    start: datetime
    end: datetime
    persons: int


@dataclass(frozen=True)
class Allocation:
    start: datetime
    end: datetime
    units: tuple[UnitKey, ...]
    persons_per_counter: tuple[tuple[int, int], ...]  # (counter id, persons served there)


@dataclass
class CapacitySnapshot(FitsMixin):
    location: Location
    start_date: date
    end_date: date
    now: datetime
    counter_services: dict[int, set[int]]
    opening_hours: list[OpeningHours]
    closures: list[Closure]
    taken: Collection[UnitKey] = field(default_factory=set)
    # When set, the claims were read for these counters only (load_snapshot(services=...)).
    claims_counters: frozenset[int] | None = None
    # The location's own (minimum notice minutes, horizon days) per service id where it sets them (None in
    # either place: the service's own); None when the snapshot was built without the location's offers.
    service_rules: dict[int, tuple[int | None, int | None]] | None = None
    # The lapsed claims in the range (held until `now` or before, not swept yet), when read with the live ones
    # (load_snapshot(with_lapsed=True), for a booking); None when they were not read.
    lapsed: frozenset[UnitKey] | None = None

    _days: dict[date, _Day] = field(init=False, repr=False, compare=False)
    _grid: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = _epoch_seconds(datetime.combine(self.start_date, time.min, tzinfo=self.location.tz))
        self.taken = TakenUnits.of(self.taken, base=base, step=self.location.grid_minutes * 60)
        self._days = {}
        self._grid = timedelta(minutes=self.location.grid_minutes)
        self._tz = self.location.tz
        self._grid_micros = self.location.grid_minutes * _MICROS_PER_MINUTE
        self._grid_seconds = self.location.grid_minutes * 60
        self._local_today = self.now.astimezone(self._tz).date()
        self._hours_by_weekday: dict[int, list[OpeningHours]] = defaultdict(list)
        for hours in self.opening_hours:
            self._hours_by_weekday[hours.weekday].append(hours)
        self._candidates: dict[int, list[int]] = {}
        self._layout_cache: _Layout | None = None
        # (service id, persons, extra units) → the starts that fit, per day.
        self._fits_cache: dict[tuple[int, int, int], dict[date, list[tuple[int, int]]]] = {}

    # ---- calendar -------------------------------------------------------------------------

    @property
    def grid(self) -> timedelta:
        return self._grid

    def local_today(self) -> date:
        return self._local_today

    def closure_reason(self, day: date) -> str | None:
        for closure in self.closures:
            if closure.start_date <= day <= closure.end_date:
                return closure.reason
        return public_holiday_name(day)

    def _is_closed(self, day: date) -> bool:
        if not self.location.is_active:
            return True
        return any(closure.start_date <= day <= closure.end_date for closure in self.closures) or _is_public_holiday(
            day
        )

    @cached_property
    def _plan_key(self) -> tuple:
        """What the day plans (without their claims) and the layout depend on: the location's settings, its
        opening hours and its closures' days, by value (a preview's proposed hours or closure are other values:
        desk/selectors.capacity_preview). Snapshots with the same share them (availability_units.PLANS). Worked
        out on the first plan asked for, not for a snapshot that needs none."""
        return (
            self.location.pk,
            self.location.is_active,
            self.location.time_zone,
            self.location.grid_minutes,
            tuple(
                sorted(
                    (h.weekday, h.start_time, h.end_time, h.valid_from or date.min, h.valid_until or date.max)
                    for h in self.opening_hours
                )
            ),
            tuple((c.start_date, c.end_date) for c in self.closures),
        )

    def _day(self, day: date) -> _Day:
        plan = self._days.get(day)
        if plan is not None:
            return plan
        shared = PLANS.get((self._plan_key, day))
        if shared is None:
            shared = self._plan_of(day)
            keep_plan((self._plan_key, day), shared)
        # The claims' masks are this snapshot's own: a fresh plan around the shared parts, which nobody changes.
        plan = _Day(
            intervals=shared.intervals,
            spans=shared.spans,
            midnight=shared.midnight,
            midnight_epoch=shared.midnight_epoch,
            uniform=shared.uniform,
        )
        self._days[day] = plan
        return plan

    def _plan_of(self, day: date) -> _Day:
        """The day's opening intervals and clock, from the configuration alone (no claims)."""
        tz = self._tz
        if self._is_closed(day):
            hours: list[OpeningHours] = []
        else:
            hours = [h for h in self._hours_by_weekday.get(day.weekday(), ()) if h.applies_on(day)]
        intervals = sorted(
            (datetime.combine(day, h.start_time, tzinfo=tz), datetime.combine(day, h.end_time, tzinfo=tz))
            for h in hours
        )
        midnight = datetime.combine(day, time.min, tzinfo=tz)
        last = datetime.combine(day, time.max, tzinfo=tz)
        return _Day(
            intervals=intervals,
            spans=[(_micros_of_day(begin.time()), _micros_of_day(end.time())) for begin, end in intervals],
            midnight=midnight,
            midnight_epoch=_epoch_seconds(midnight),
            uniform=midnight.utcoffset() == last.utcoffset(),
        )

    def opening_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's open intervals as aware datetimes; empty when the desk is closed."""
        return list(self._day(day).intervals)

    def is_on_grid(self, moment: datetime) -> bool:
        local = moment.astimezone(self._tz)
        minutes = local.hour * 60 + local.minute
        return local.second == 0 and local.microsecond == 0 and minutes % self.location.grid_minutes == 0

    def first_grid_point(self, moment: datetime) -> datetime:
        """The first start on the grid at or after `moment` (admins may type opening hours off the grid)."""
        local = moment.astimezone(self._tz).replace(second=0, microsecond=0)
        if local < moment:
            local += timedelta(minutes=1)
        offset = -(local.hour * 60 + local.minute) % self.location.grid_minutes
        return local + timedelta(minutes=offset)

    def units_per_person(self, service: Service, extra_units: int = 0) -> int:
        return units_per_person(location=self.location, service=service, extra_units=extra_units)

    def counters_for(self, service: Service) -> list[int]:
        found = self._candidates.get(service.pk)
        if found is None:
            found = sorted(
                counter_id for counter_id, services in self.counter_services.items() if service.pk in services
            )
            self._candidates[service.pk] = found
        return list(found)

    def horizon_days(self, service: Service) -> int:
        """How many days ahead `service` can be booked here (the location's own horizon, else the service's)."""
        own = (self.service_rules or {}).get(service.pk, (None, None))[1]
        return service.booking_horizon_days if own is None else own

    def minimum_notice(self, service: Service) -> timedelta:
        """How long before its start `service` can still be booked here."""
        own = (self.service_rules or {}).get(service.pk, (None, None))[0]
        return service.minimum_notice if own is None else timedelta(minutes=own)

    def latest_bookable_day(self, service: Service) -> date:
        return self._local_today + timedelta(days=self.horizon_days(service))

    # ---- allocation -----------------------------------------------------------------------

    def _free_run(self, counter_id: int, start: datetime, interval_end: datetime, limit: int) -> int:
        """How many consecutive free units counter `counter_id` has from `start`, up to `limit`."""
        run = 0
        unit = start
        while run < limit and unit + self._grid <= interval_end:
            if (counter_id, unit.astimezone(UTC)) in self.taken:
                break
            run += 1
            unit += self._grid
        return run

    def allocate(
        self,
        *,
        service: Service,
        persons: int,
        start: datetime,
        counter_ids: Iterable[int] | None = None,
        extra_units: int = 0,
    ) -> Allocation | None:
        """Place `persons` on counters from `start`, ending as early as possible; None if it does not fit.
        `extra_units`: grid units more per person (extra time)."""
        if persons < 1:
            return None
        per_person = self.units_per_person(service, extra_units)
        candidates = self.counters_for(service) if counter_ids is None else list(counter_ids)
        if not candidates:
            return None  # nobody to serve them, wherever the start is
        self._check_claims_cover(candidates)
        limit = persons * per_person
        fast = self._fast_capacities(start=start, candidates=candidates, limit=limit, per_person=per_person)
        if fast is None:
            interval_end = next(
                (
                    end
                    for begin, end in self.opening_intervals(start.astimezone(self._tz).date())
                    if begin <= start < end
                ),
                None,
            )
            if interval_end is None:
                return None
            capacity = {
                counter_id: self._free_run(counter_id, start, interval_end, limit) // per_person
                for counter_id in candidates
            }
        elif not fast:
            return None  # not open at `start`
        else:
            capacity = dict(zip(candidates, fast, strict=True))
        if sum(min(persons_here, persons) for persons_here in capacity.values()) < persons:
            return None
        # The fewest rounds r such that the counters, each serving at most r persons in a row, fit everyone.
        rounds = next(r for r in range(1, persons + 1) if sum(min(c, r) for c in capacity.values()) >= persons)
        remaining = persons
        placed: list[tuple[int, int]] = []
        for counter_id in candidates:
            here = min(capacity[counter_id], rounds, remaining)
            if here:
                placed.append((counter_id, here))
                remaining -= here
            if not remaining:
                break
        units = tuple(
            (counter_id, (start + self._grid * index).astimezone(UTC))
            for counter_id, here in placed
            for index in range(here * per_person)
        )
        end = start + self._grid * per_person * rounds
        return Allocation(start=start, end=end, units=units, persons_per_counter=tuple(placed))

    # ---- free times -----------------------------------------------------------------------

    def earliest_start(self, service: Service) -> datetime:
        # In UTC: adding to a local time adds wall-clock time, which is an hour off across a DST night.
        return self.now.astimezone(UTC) + self.minimum_notice(service)

    def _bookable(self, *, service: Service, persons: int, day: date) -> bool:
        if not service.is_active or not 1 <= persons <= service.max_persons:
            return False
        return self._local_today <= day <= self.latest_bookable_day(service)

    def free_slots_on(self, *, service: Service, persons: int, day: date, extra_units: int = 0) -> list[Slot]:
        if not self._bookable(service=service, persons=persons, day=day):
            return []
        midnight = self._day(day).midnight
        grid = self._grid
        length = grid * self.units_per_person(service, extra_units)
        slots = []
        for unit, rounds in self._starts_on(service=service, persons=persons, day=day, extra_units=extra_units):
            start = midnight + grid * unit
            slots.append(Slot(start=start, end=start + length * rounds, persons=persons))
        return slots

    def free_slot_times_on(
        self, *, service: Service, persons: int, day: date, extra_units: int = 0
    ) -> list[tuple[int, int, int]]:
        """free_slots_on()'s slots as numbers, without building them (an answer lists hundreds): per slot, its
        start's epoch seconds (int(start.timestamp())) and the local minutes of the day of its start and end
        (hour * 60 + minute, read in the location's zone). Worked out from the grid units on a day without a
        daylight-saving change, from the slots themselves on such a day."""
        if not self._bookable(service=service, persons=persons, day=day):
            return []
        plan = self._day(day)
        asked = {"service": service, "persons": persons, "day": day, "extra_units": extra_units}
        if not plan.uniform:
            tz = self._tz
            return [
                (
                    int(slot.start.timestamp()),
                    _minute_of(slot.start.astimezone(tz)),
                    _minute_of(slot.end.astimezone(tz)),
                )
                for slot in self.free_slots_on(**asked)
            ]
        return self._times_of(plan, self._starts_on(**asked), length=self.units_per_person(service, extra_units))

    def _times_of(self, plan: _Day, starts: Iterable[tuple[int, int]], *, length: int) -> list[tuple[int, int, int]]:
        """The (epoch seconds, start minute, end minute) of the (grid unit, rounds) starts of a day without a
        daylight-saving change, `length` grid units a round."""
        grid, step, midnight = self.location.grid_minutes, self._grid_seconds, plan.midnight_epoch
        return [(midnight + unit * step, unit * grid, (unit + length * rounds) * grid) for unit, rounds in starts]

    def _pass_starts(
        self, *, service: Service, persons: int, extra_units: int
    ) -> Iterator[tuple[date, list[tuple[int, int]] | None]]:
        """Each day of the snapshot that may be booked (`_bookable`: the service and persons checked by the
        caller), with its starts from the all-days pass (`_fits`), or None for a day the pass leaves to the
        per-start path (`_starts_on`)."""
        fits = self._fits(service=service, persons=persons, extra_units=extra_units)
        per_start_days = self._layout().per_start_days
        first, last = self._local_today, self.latest_bookable_day(service)
        for day in self.days():
            if first <= day <= last:
                yield day, (None if day in per_start_days else fits.get(day, []))

    def free_slot_times(
        self, *, service: Service, persons: int, extra_units: int = 0
    ) -> dict[date, list[tuple[int, int, int]]]:
        """free_slot_times_on() for every day of the snapshot, the days without a free start left out: one walk
        over the all-days pass (`_pass_starts`), where asking day by day looked the pass up again for every day."""
        if not service.is_active or not 1 <= persons <= service.max_persons:
            return {}
        length = self.units_per_person(service, extra_units)
        result = {}
        for day, starts in self._pass_starts(service=service, persons=persons, extra_units=extra_units):
            plan = self._day(day)
            if starts is None or not plan.uniform:  # the day's own path
                found = self.free_slot_times_on(service=service, persons=persons, day=day, extra_units=extra_units)
            else:
                found = self._times_of(plan, starts, length=length)
            if found:
                result[day] = found
        return result

    def has_free_slot_on(self, *, service: Service, persons: int, day: date, extra_units: int = 0) -> bool:
        """Whether `day` has a free start, without building its slots (day by day: cheap for the first)."""
        if not self._bookable(service=service, persons=persons, day=day):
            return False
        asked = {"service": service, "persons": persons, "day": day, "extra_units": extra_units}
        if (service.pk, persons, extra_units) in self._fits_cache:
            return next(iter(self._starts_on(**asked)), None) is not None
        return next(self._free_starts(**asked), None) is not None

    def free_days(self, *, service: Service, persons: int, extra_units: int = 0) -> list[date]:
        """The days of the range with a free start."""
        if not service.is_active or not 1 <= persons <= service.max_persons:
            return []
        return [
            day
            for day, starts in self._pass_starts(service=service, persons=persons, extra_units=extra_units)
            if (
                starts
                if starts is not None
                else self.has_free_slot_on(service=service, persons=persons, day=day, extra_units=extra_units)
            )
        ]

    def days(self) -> Iterable[date]:
        day = self.start_date
        while day <= self.end_date:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class _Config:
    counter_services: dict[int, set[int]]
    opening_hours: list[OpeningHours]
    closures: list[Closure]
    service_rules: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)

    def counters_serving(self, services: Iterable[Service]) -> frozenset[int]:
        wanted = {service.pk for service in services}
        return frozenset(c for c, served in self.counter_services.items() if served & wanted)

    def horizon_days(self, service: Service) -> int:
        own = self.service_rules.get(service.pk, (None, None))[1]
        return service.booking_horizon_days if own is None else own

    def within(self, start_date: date, end_date: date) -> _Config:
        """The configuration for [start_date, end_date]: the opening hours valid and the closures on some of
        those days."""
        return _Config(
            counter_services=self.counter_services,
            opening_hours=[
                row
                for row in self.opening_hours
                if (row.valid_from is None or row.valid_from <= end_date)
                and (row.valid_until is None or row.valid_until >= start_date)
            ],
            closures=[c for c in self.closures if c.start_date <= end_date and c.end_date >= start_date],
            service_rules=self.service_rules,
        )


# Each location's configuration as this process last read it, under its ConfigurationVersion (bookings/models.py:
# drawn anew by a database trigger on every change of those rows, whoever makes it). Kept while the version
# read in the same transaction is the same; never written to, so callers share it. One entry a location.
_CONFIGS: dict[int, tuple[int, _Config]] = {}


def forget_kept_configurations() -> None:
    """As a new process: the next read of each location's configuration costs its three queries again (the
    benchmark's first run, tests that compare query counts), the day plans are worked out again and each day's
    lasting claims read again (bookings/availability_kept.py)."""
    _CONFIGS.clear()
    forget_plans()
    availability_kept.forget()
    refusals.forget()


def _read_configs(*, location_ids: Collection[int]) -> dict[int, _Config]:
    """Per location: its active counters with the services they serve that the location offers (and the
    location's own notice and horizon of each, in the same query), all its opening hours and its closures
    and those of every location. Three queries, whatever the number of locations, once per version of a
    location's configuration in a process (the ORM's: off the hot path, which reads the version alone)."""
    counter_services: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    rules: dict[int, dict[int, tuple[int | None, int | None]]] = defaultdict(dict)
    for counter_id, location_id, service_id, notice, horizon in Counter.services.through.objects.filter(
        counter__location_id__in=sorted(location_ids),
        counter__is_active=True,
        # Only what the location offers: the offer's join is filtered and read by this one query.
        service__location_offers__location_id=F("counter__location_id"),
    ).values_list(
        "counter_id",
        "counter__location_id",
        "service_id",
        "service__location_offers__minimum_notice_minutes",
        "service__location_offers__booking_horizon_days",
    ):
        counter_services[location_id][counter_id].add(service_id)
        rules[location_id][service_id] = (notice, horizon)
    hours: dict[int, list[OpeningHours]] = defaultdict(list)
    for row in OpeningHours.objects.filter(location_id__in=sorted(location_ids)):
        hours[row.location_id].append(row)
    closures: dict[int | None, list[Closure]] = defaultdict(list)
    for closure in Closure.objects.filter(Q(location_id__in=sorted(location_ids)) | Q(location__isnull=True)):
        closures[closure.location_id].append(closure)
    return {
        location_id: _Config(
            counter_services=dict(counter_services.get(location_id, {})),
            opening_hours=hours.get(location_id, []),
            closures=sorted(
                [*closures.get(None, []), *closures.get(location_id, [])], key=lambda c: (c.start_date, c.pk)
            ),
            service_rules=rules.get(location_id, {}),
        )
        for location_id in location_ids
    }


def _load_configs(*, location_ids: Collection[int], start_date: date, end_date: date) -> dict[int, _Config]:
    """Per location, its configuration for [start_date, end_date] (`_read_configs`): one query for the
    versions, and the three of `_read_configs` only for the locations whose version this process has not
    read the configuration under (docs/locking.md §2: inside the location lock, the version read is the
    configuration's as of the lock)."""
    versions = availability_sql.configuration_versions(sorted(set(location_ids)))
    return _configs_under(versions, location_ids=location_ids, start_date=start_date, end_date=end_date)


def _configs_under(
    versions: dict[int, int], *, location_ids: Collection[int], start_date: date, end_date: date
) -> dict[int, _Config]:
    """The configurations of `location_ids` under the `versions` just read (a location without one has no
    configuration rows yet): kept ones where this process read them under the same version, else read."""
    wanted = sorted(set(location_ids))
    kept = {pk: _CONFIGS[pk][1] for pk in wanted if pk in versions and _CONFIGS.get(pk, (None,))[0] == versions[pk]}
    stale = [pk for pk in wanted if pk not in kept]
    if stale:
        for pk, config in _read_configs(location_ids=stale).items():
            kept[pk] = config
            if pk in versions:  # a location without a version has no configuration rows yet: nothing to keep
                _CONFIGS[pk] = (versions[pk], config)
    return {pk: kept[pk].within(start_date, end_date) for pk in location_ids}


def _load_config(*, location: Location, start_date: date, end_date: date) -> _Config:
    """Counters and their offered services, opening hours and closures for the range (`_load_configs`)."""
    return _load_configs(location_ids=[location.pk], start_date=start_date, end_date=end_date)[location.pk]


def _snapshot(
    *,
    config: _Config,
    location: Location,
    start_date: date,
    end_date: date,
    now: datetime,
    ignore_appointment_id: int | None,
    claims_counters: frozenset[int] | None,
    with_lapsed: bool = False,
    rows: list[tuple] | None = None,
) -> CapacitySnapshot:
    """The snapshot of `config` and the claims (`rows`, the claim rows of every counter already read with
    the version: availability_sql.version_and_claim_rows; else read here)."""
    tz = location.tz
    lapsed: set[UnitKey] | None = set() if with_lapsed else None
    range_start = datetime.combine(start_date, time.min, tzinfo=tz)
    step = location.grid_minutes * 60
    if rows is not None:
        taken = taken_of_rows(rows, range_start=range_start, step=step, lapsed_into=lapsed)
    else:
        taken = read_claims(
            location=location,
            counter_ids=claims_counters,
            range_start=range_start,
            range_end=_range_end(end_date, tz),
            now=now,
            ignore_appointment_id=ignore_appointment_id,
            step=step,
            lapsed_into=lapsed,
        )
    return CapacitySnapshot(
        location=location,
        start_date=start_date,
        end_date=end_date,
        now=now,
        counter_services=config.counter_services,
        opening_hours=config.opening_hours,
        closures=config.closures,
        taken=taken,
        claims_counters=claims_counters,
        service_rules=config.service_rules,
        lapsed=None if lapsed is None else frozenset(lapsed),
    )


def _range_end(end_date: date, tz: object) -> datetime:
    return datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=tz)


# No version given: read it (load_snapshot, load_rules).
READ_VERSION = availability_sql.VERSION_NOT_READ


def _config_under(version: object, *, location: Location, start_date: date, end_date: date) -> _Config:
    """The location's configuration under `version`, just read by the caller in a statement of its own (None: it
    has none), or read with its version here (READ_VERSION)."""
    if version is READ_VERSION:
        return _load_config(location=location, start_date=start_date, end_date=end_date)
    versions = {} if version is None else {location.pk: version}
    return _configs_under(versions, location_ids=[location.pk], start_date=start_date, end_date=end_date)[location.pk]


def load_snapshot(
    *,
    location: Location,
    start_date: date,
    end_date: date,
    now: datetime,
    ignore_appointment_id: int | None = None,
    services: Iterable[Service] | None = None,
    with_lapsed: bool = False,
    version: object = READ_VERSION,
) -> CapacitySnapshot:
    """Read everything availability needs for [start_date, end_date] at `location`: in one query for every
    counter's claims (the configuration's version read with them), in two with `services` (the version, then
    the claims of the counters that serve them); three more when the configuration is read afresh
    (`_configs_under`).

    With `services`, only the claims of the counters that serve one of them are read: the snapshot
    then answers for those services only. With `with_lapsed`, the lapsed claims too, in the same query
    (CapacitySnapshot.lapsed: a booking's snapshot). `version`, with `services`: the configuration's version
    the caller read in a statement of its own (availability_sql.location_offer_and_version), so one query fewer.
    """
    rows = None
    if services is None and availability_sql.plain_sql():  # every counter's claims: read with the version
        read, rows = availability_sql.version_and_claim_rows(
            location_id=location.pk,
            range_start=datetime.combine(start_date, time.min, tzinfo=location.tz),
            range_end=_range_end(end_date, location.tz),
            now=now,
            ignore_appointment_id=ignore_appointment_id,
            with_lapsed=with_lapsed,
        )
        config = _config_under(read, location=location, start_date=start_date, end_date=end_date)
    else:
        config = _config_under(version, location=location, start_date=start_date, end_date=end_date)
    return _snapshot(
        config=config,
        location=location,
        start_date=start_date,
        end_date=end_date,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
        claims_counters=None if services is None else config.counters_serving(services),
        with_lapsed=with_lapsed,
        rows=rows,
    )


def load_rules(
    *, location: Location, start_date: date, end_date: date, now: datetime, version: object = READ_VERSION
) -> CapacitySnapshot:
    """The booking rules for [start_date, end_date] without the claims (`_load_configs`): counters and their
    services, opening hours, closures. Answers whether a time may be booked at all, never whether it is free.

    `version`: the location's configuration version (None: it has none), when the caller has just read it in a
    statement of its own after the location lock (availability_sql.appointment_for_update): then no query, unless this
    process has not read the configuration under that version."""
    config = _config_under(version, location=location, start_date=start_date, end_date=end_date)
    return _rules_of(config, location=location, start_date=start_date, end_date=end_date, now=now)


def _rules_of(
    config: _Config, *, location: Location, start_date: date, end_date: date, now: datetime
) -> CapacitySnapshot:
    """A snapshot of the configuration's rules without claims, the location's own notice and horizon of each
    service among them."""
    return CapacitySnapshot(
        location=location,
        start_date=start_date,
        end_date=end_date,
        now=now,
        counter_services=config.counter_services,
        opening_hours=config.opening_hours,
        closures=config.closures,
        taken=set(),
        claims_counters=frozenset(),
        service_rules=config.service_rules,
    )


def free_slots(
    *,
    location: Location,
    service: Service,
    persons: int,
    start_date: date,
    end_date: date,
    now: datetime,
    ignore_appointment_id: int | None = None,
    extra_units: int = 0,
    version: object = READ_VERSION,
) -> dict[date, list[Slot]]:
    """The free start times per day in [start_date, end_date]; days without one are left out (`version`: the
    configuration's, read by the caller)."""
    snapshot = load_snapshot(
        location=location,
        start_date=start_date,
        end_date=end_date,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
        services=[service],
        version=version,
    )
    return _days_with(
        lambda day: snapshot.free_slots_on(service=service, persons=persons, day=day, extra_units=extra_units), snapshot
    )


def free_slot_times(
    *,
    location: Location,
    service: Service,
    persons: int,
    start_date: date,
    end_date: date,
    now: datetime,
    extra_units: int = 0,
    version: object = READ_VERSION,
) -> dict[date, list[tuple[int, int, int]]]:
    """free_slots() as numbers (CapacitySnapshot.free_slot_times_on): per day with a free start, its slots'
    (start epoch seconds, local start minute of the day, local end minute). One snapshot (`load_snapshot`;
    `version`: the configuration's, read by the caller)."""
    snapshot = load_snapshot(
        location=location, start_date=start_date, end_date=end_date, now=now, services=[service], version=version
    )
    return snapshot.free_slot_times(service=service, persons=persons, extra_units=extra_units)


def _days_with(answer: Callable[[date], list[T]], snapshot: CapacitySnapshot) -> dict[date, list[T]]:
    """`answer` for each day of the snapshot, the days it gives nothing for left out."""
    return {day: found for day in snapshot.days() if (found := answer(day))}


def free_days(
    *,
    location: Location,
    service: Service,
    persons: int,
    start_date: date,
    end_date: date,
    now: datetime,
    extra_units: int = 0,
    version: object = READ_VERSION,
) -> list[date]:
    """The days with a free start (one snapshot, `load_snapshot`; `version`: the configuration's, read by the
    caller)."""
    snapshot = load_snapshot(
        location=location, start_date=start_date, end_date=end_date, now=now, services=[service], version=version
    )
    return snapshot.free_days(service=service, persons=persons, extra_units=extra_units)


def first_free_day(*, location: Location, service: Service, now: datetime, persons: int = 1) -> date | None:
    """The first day with a free start for `persons`, within the service's horizon; None if there is none."""
    return first_free_days(location=location, services=[service], now=now, persons=persons)[service.pk]


# The first free day is looked for in the claims of a first window, then (if needed) in the rest of the
# horizon: two queries when the window has one, three at most (three more when the configuration is read
# afresh, `_load_configs`), whatever the number of claims further on.
# The window ends with the FIRST_WINDOW_OPEN_DAYS-th day still open after the earliest start (today's
# hours over, a weekend or a closure do not count), and within FIRST_WINDOW_DAYS days at most: the claims
# of a busy desk's days are most of the cost, so it reads as few of them as a first answer likely needs.
FIRST_WINDOW_DAYS = 7
FIRST_WINDOW_OPEN_DAYS = 2
# The longest booking horizon a service or a location may set (services.models, LocationService).
MAX_HORIZON_DAYS = 366


def first_free_days(
    *, location: Location, services: Iterable[Service], now: datetime, persons: int = 1
) -> dict[int, date | None]:
    """The first free day per service (keyed by service id): the desk's own measure of waiting time."""
    return first_free_days_at(locations=[location], services=services, now=now, persons=persons)[location.pk]


def first_free_days_at(
    *, locations: Iterable[Location], services: Iterable[Service], now: datetime, persons: int = 1
) -> dict[int, dict[int, date | None]]:
    """The first free day per location and service (location id → service id → day or None), each within
    the location's own horizon of the service; None where the location does not offer it.

    Whatever the number of locations: three queries of configuration, then one of claims for the first
    week and (where a location's services still have none) one for the rest of the horizon."""
    locations = list(locations)
    services = list(services)
    result: dict[int, dict[int, date | None]] = {
        location.pk: {service.pk: None for service in services} for location in locations
    }
    if not locations or not services:
        return result
    today_of = {location.pk: now.astimezone(location.tz).date() for location in locations}
    # The configuration as far as any horizon can reach (a location's own may exceed the service's).
    configs = _load_configs(
        location_ids=[location.pk for location in locations],
        start_date=min(today_of.values()),
        end_date=max(today_of.values()) + timedelta(days=MAX_HORIZON_DAYS),
    )
    pending: dict[int, list[Service]] = {}
    last_day_of: dict[int, date] = {}
    for location in locations:
        config = configs[location.pk]
        # A service that no counter serves here (or the location does not offer), or not for this many
        # persons, has no free day: no claims to read.
        open_here = [
            service for service in services if persons <= service.max_persons and config.counters_serving([service])
        ]
        if open_here:
            pending[location.pk] = open_here
            last_day_of[location.pk] = today_of[location.pk] + timedelta(
                days=max(config.horizon_days(service) for service in open_here)
            )
    by_pk = {location.pk: location for location in locations}
    window_start = dict(today_of)
    window_end = {
        pk: _first_window_end(
            location=by_pk[pk], config=configs[pk], services=pending[pk], now=now, last_day=last_day_of[pk]
        )
        for pk in pending
    }
    while pending:
        taken_by_location = _read_claims_of(
            locations=[by_pk[pk] for pk in pending],
            counters={pk: configs[pk].counters_serving(pending[pk]) for pk in pending},
            start={pk: window_start[pk] for pk in pending},
            end={pk: window_end[pk] for pk in pending},
            now=now,
        )
        for pk in list(pending):
            location = by_pk[pk]
            config = configs[pk]
            snapshot = CapacitySnapshot(
                location=location,
                start_date=window_start[pk],
                end_date=window_end[pk],
                now=now,
                counter_services=config.counter_services,
                opening_hours=config.opening_hours,
                closures=config.closures,
                taken=taken_by_location[pk],
                claims_counters=config.counters_serving(pending[pk]),
                service_rules=config.service_rules,
            )
            for service in list(pending[pk]):
                found = next(
                    (
                        day
                        for day in snapshot.days()
                        if snapshot.has_free_slot_on(service=service, persons=persons, day=day)
                    ),
                    None,
                )
                if found is not None:
                    result[pk][service.pk] = found
                    pending[pk].remove(service)
            if not pending[pk] or window_end[pk] >= last_day_of[pk]:
                del pending[pk]
            else:
                window_start[pk], window_end[pk] = window_end[pk] + timedelta(days=1), last_day_of[pk]
    return result


def _first_window_end(
    *, location: Location, config: _Config, services: list[Service], now: datetime, last_day: date
) -> date:
    """The last day of the first window of claims read for the first free day (FIRST_WINDOW_OPEN_DAYS)."""
    today = now.astimezone(location.tz).date()
    end = min(last_day, today + timedelta(days=FIRST_WINDOW_DAYS - 1))
    rules = _rules_of(config, location=location, start_date=today, end_date=end, now=now)
    earliest = min(rules.earliest_start(service) for service in services)
    open_days = 0
    for day in rules.days():
        intervals = rules._day(day).intervals
        if intervals and max(finish for _begin, finish in intervals) > earliest:
            open_days += 1
            if open_days == FIRST_WINDOW_OPEN_DAYS:
                return day
    return end


def _read_claims_of(
    *,
    locations: list[Location],
    counters: dict[int, frozenset[int]],
    start: dict[int, date],
    end: dict[int, date],
    now: datetime,
) -> dict[int, TakenUnits]:
    """The live claims of several locations' counters, each in its own range: one query for all. One location's
    through the lasting claims this process keeps (`read_claims`: one query while they are unchanged)."""
    if len(locations) == 1:
        (location,) = locations
        range_start = datetime.combine(start[location.pk], time.min, tzinfo=location.tz)
        return {
            location.pk: read_claims(
                location=location,
                counter_ids=counters[location.pk],
                range_start=range_start,
                range_end=_range_end(end[location.pk], location.tz),
                now=now,
                ignore_appointment_id=None,
                step=location.grid_minutes * 60,
            )
        }
    ranges = {
        location.pk: (
            datetime.combine(start[location.pk], time.min, tzinfo=location.tz),
            datetime.combine(end[location.pk] + timedelta(days=1), time.min, tzinfo=location.tz),
        )
        for location in locations
    }
    counter_location = {counter: pk for pk, ids in counters.items() for counter in ids}
    rows: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if counter_location:
        everything = read_claim_rows(
            counter_ids=counter_location,
            range_start=min(begin for begin, _ in ranges.values()),
            range_end=max(finish for _, finish in ranges.values()),
            now=now,
        )
        if len(ranges) == 1:  # one location: the query's range is its own
            rows[next(iter(ranges))] = everything
        else:
            bounds = {pk: (_epoch_seconds(begin), _epoch_seconds(finish)) for pk, (begin, finish) in ranges.items()}
            for counter_id, epoch in everything:
                pk = counter_location[counter_id]
                low, high = bounds[pk]
                if low <= epoch < high:
                    rows[pk].append((counter_id, epoch))
    return {
        location.pk: TakenUnits.from_rows(
            rows.get(location.pk, []),
            base=_epoch_seconds(ranges[location.pk][0]),
            step=location.grid_minutes * 60,
        )
        for location in locations
    }


def nearest_free_slots(
    *,
    location: Location,
    service: Service,
    persons: int,
    around: datetime,
    now: datetime,
    limit: int = 6,
    window_days: int = 7,
    extra_units: int = 0,
) -> list[Slot]:
    """Up to `limit` free starts closest to `around` (within `window_days` either side), in time order.

    Offered when the time a person held was taken meanwhile: one snapshot (`load_snapshot`).
    """
    tz = location.tz
    today = now.astimezone(tz).date()
    day = around.astimezone(tz).date()
    start_date = max(today, day - timedelta(days=window_days))
    # Days past the location's horizon of the service have no free start in the snapshot.
    end_date = min(today + timedelta(days=MAX_HORIZON_DAYS), day + timedelta(days=window_days))
    if end_date < start_date:
        return []
    by_day = free_slots(
        location=location,
        service=service,
        persons=persons,
        start_date=start_date,
        end_date=end_date,
        now=now,
        extra_units=extra_units,
    )
    candidates = [slot for slots in by_day.values() for slot in slots if slot.start != around]
    nearest = sorted(candidates, key=lambda slot: (abs(slot.start - around), slot.start))[:limit]
    return sorted(nearest, key=lambda slot: slot.start)
