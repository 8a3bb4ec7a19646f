"""Free capacity, computed in memory from one snapshot of a location.

Read-only. A snapshot costs four queries whatever the number of appointments: the active counters
and the services they serve, the opening hours, the closures, and the live claims in the range.
Everything else — public holidays, minimum notice, horizon, the grid, the allocation of persons to
counters — is computed in Python. `now` is always passed in.

How a booking uses counters: a service takes `k` grid units per person. A booking for P persons
starting at `t` places each person on a counter for k consecutive free units; persons on the same
counter follow each other from `t`. So a family of 3 may sit at 3 counters at once, or one after
another at one counter, or anything between; the allocation that ends earliest is chosen.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.db.models import Q
from django.utils import translation

from bookings.models import Closure, Counter, Location, OpeningHours, SlotClaim
from services.models import Service

UnitKey = tuple[int, datetime]  # (counter id, unit start in UTC)


@lru_cache(maxsize=32)
def _dutch_public_holidays(year: int, language: str = "en_US") -> dict[date, str]:
    return dict(holidays.country_holidays("NL", years=year, language=language))


def public_holiday_name(day: date) -> str | None:
    """The holiday's name in the active language: Dutch ("Eerste kerstdag") or English ("Christmas Day")."""
    language = "nl" if (translation.get_language() or "").startswith("nl") else "en_US"
    return _dutch_public_holidays(day.year, language).get(day)


def units_per_person(*, location: Location, service: Service, extra_units: int = 0) -> int:
    """How many grid units one person of `service` occupies on a counter (`extra_units` more: extra time)."""
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
class CapacitySnapshot:
    location: Location
    start_date: date
    end_date: date
    now: datetime
    counter_services: dict[int, set[int]]
    opening_hours: list[OpeningHours]
    closures: list[Closure]
    taken: set[UnitKey] = field(default_factory=set)

    # ---- calendar -------------------------------------------------------------------------

    @property
    def grid(self) -> timedelta:
        return timedelta(minutes=self.location.grid_minutes)

    def local_today(self) -> date:
        return self.now.astimezone(self.location.tz).date()

    def closure_reason(self, day: date) -> str | None:
        for closure in self.closures:
            if closure.start_date <= day <= closure.end_date:
                return closure.reason
        return public_holiday_name(day)

    def opening_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's open intervals as aware datetimes; empty when the desk is closed."""
        if not self.location.is_active or self.closure_reason(day) is not None:
            return []
        intervals = [
            (self.location.local_datetime(day, hours.start_time), self.location.local_datetime(day, hours.end_time))
            for hours in self.opening_hours
            if hours.applies_on(day)
        ]
        return sorted(intervals)

    def is_on_grid(self, moment: datetime) -> bool:
        local = moment.astimezone(self.location.tz)
        minutes = local.hour * 60 + local.minute
        return local.second == 0 and local.microsecond == 0 and minutes % self.location.grid_minutes == 0

    def first_grid_point(self, moment: datetime) -> datetime:
        """The first start on the grid at or after `moment` (admins may type opening hours off the grid)."""
        local = moment.astimezone(self.location.tz).replace(second=0, microsecond=0)
        if local < moment:
            local += timedelta(minutes=1)
        offset = -(local.hour * 60 + local.minute) % self.location.grid_minutes
        return local + timedelta(minutes=offset)

    def units_per_person(self, service: Service, extra_units: int = 0) -> int:
        return units_per_person(location=self.location, service=service, extra_units=extra_units)

    def counters_for(self, service: Service) -> list[int]:
        return sorted(counter_id for counter_id, services in self.counter_services.items() if service.pk in services)

    def latest_bookable_day(self, service: Service) -> date:
        return self.local_today() + timedelta(days=service.booking_horizon_days)

    # ---- allocation -----------------------------------------------------------------------

    def _free_run(self, counter_id: int, start: datetime, interval_end: datetime, limit: int) -> int:
        """How many consecutive free units counter `counter_id` has from `start`, up to `limit`."""
        run = 0
        unit = start
        while run < limit and unit + self.grid <= interval_end:
            if (counter_id, unit.astimezone(UTC)) in self.taken:
                break
            run += 1
            unit += self.grid
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
        """Place `persons` on counters from `start`, ending as early as possible; None if it does not fit."""
        if persons < 1:
            return None
        interval_end = next(
            (
                end
                for begin, end in self.opening_intervals(start.astimezone(self.location.tz).date())
                if begin <= start < end
            ),
            None,
        )
        if interval_end is None:
            return None
        units_per_person = self.units_per_person(service, extra_units)
        candidates = self.counters_for(service) if counter_ids is None else list(counter_ids)
        capacity = {
            counter_id: self._free_run(counter_id, start, interval_end, persons * units_per_person) // units_per_person
            for counter_id in candidates
        }
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
            (counter_id, (start + self.grid * index).astimezone(UTC))
            for counter_id, here in placed
            for index in range(here * units_per_person)
        )
        end = start + self.grid * units_per_person * rounds
        return Allocation(start=start, end=end, units=units, persons_per_counter=tuple(placed))

    # ---- free times -----------------------------------------------------------------------

    def earliest_start(self, service: Service) -> datetime:
        # In UTC: adding to a local time adds wall-clock time, which is an hour off across a DST night.
        return self.now.astimezone(UTC) + service.minimum_notice

    def free_slots_on(self, *, service: Service, persons: int, day: date, extra_units: int = 0) -> list[Slot]:
        if not service.is_active or not 1 <= persons <= service.max_persons:
            return []
        if day > self.latest_bookable_day(service) or day < self.local_today():
            return []
        earliest = self.earliest_start(service)
        slots: list[Slot] = []
        for begin, end in self.opening_intervals(day):
            start = self.first_grid_point(begin)
            while start < end:
                if start >= earliest:
                    allocation = self.allocate(service=service, persons=persons, start=start, extra_units=extra_units)
                    if allocation is not None:
                        slots.append(Slot(start=start, end=allocation.end, persons=persons))
                start += self.grid
        return slots

    def days(self) -> Iterable[date]:
        day = self.start_date
        while day <= self.end_date:
            yield day
            day += timedelta(days=1)


def load_snapshot(
    *,
    location: Location,
    start_date: date,
    end_date: date,
    now: datetime,
    ignore_appointment_id: int | None = None,
) -> CapacitySnapshot:
    """Read everything availability needs for [start_date, end_date] at `location`, in four queries."""
    tz = location.tz
    range_start = datetime.combine(start_date, time.min, tzinfo=tz)
    range_end = datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=tz)

    counter_services: dict[int, set[int]] = defaultdict(set)
    for counter_id, service_id in Counter.services.through.objects.filter(
        counter__location=location, counter__is_active=True
    ).values_list("counter_id", "service_id"):
        counter_services[counter_id].add(service_id)

    opening_hours = list(
        OpeningHours.objects.filter(location=location)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=end_date))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=start_date))
    )
    closures = list(
        Closure.objects.filter(Q(location=location) | Q(location__isnull=True)).filter(
            start_date__lte=end_date, end_date__gte=start_date
        )
    )
    claims = SlotClaim.objects.filter(
        counter__location=location, unit_start__gte=range_start, unit_start__lt=range_end
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    if ignore_appointment_id is not None:
        claims = claims.exclude(appointment_id=ignore_appointment_id)
    taken = {(counter_id, unit.astimezone(UTC)) for counter_id, unit in claims.values_list("counter_id", "unit_start")}
    return CapacitySnapshot(
        location=location,
        start_date=start_date,
        end_date=end_date,
        now=now,
        counter_services=dict(counter_services),
        opening_hours=opening_hours,
        closures=closures,
        taken=taken,
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
) -> dict[date, list[Slot]]:
    """The free start times per day in [start_date, end_date]; days without one are left out."""
    snapshot = load_snapshot(
        location=location,
        start_date=start_date,
        end_date=end_date,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
    )
    result: dict[date, list[Slot]] = {}
    for day in snapshot.days():
        slots = snapshot.free_slots_on(service=service, persons=persons, day=day, extra_units=extra_units)
        if slots:
            result[day] = slots
    return result


def free_days(
    *,
    location: Location,
    service: Service,
    persons: int,
    start_date: date,
    end_date: date,
    now: datetime,
    extra_units: int = 0,
) -> list[date]:
    return list(
        free_slots(
            location=location,
            service=service,
            persons=persons,
            start_date=start_date,
            end_date=end_date,
            now=now,
            extra_units=extra_units,
        )
    )


def first_free_day(*, location: Location, service: Service, now: datetime, persons: int = 1) -> date | None:
    """The first day with a free start for `persons`, within the service's horizon; None if there is none."""
    return first_free_days(location=location, services=[service], now=now, persons=persons)[service.pk]


def first_free_days(
    *, location: Location, services: Iterable[Service], now: datetime, persons: int = 1
) -> dict[int, date | None]:
    """The first free day per service (keyed by service id): the desk's own measure of waiting time."""
    services = list(services)
    today = now.astimezone(location.tz).date()
    horizon = max((service.booking_horizon_days for service in services), default=0)
    snapshot = load_snapshot(location=location, start_date=today, end_date=today + timedelta(days=horizon), now=now)
    result: dict[int, date | None] = {}
    for service in services:
        result[service.pk] = next(
            (
                day
                for day in snapshot.days()
                if persons <= service.max_persons and snapshot.free_slots_on(service=service, persons=persons, day=day)
            ),
            None,
        )
    return result


def nearest_free_slots(
    *,
    location: Location,
    service: Service,
    persons: int,
    around: datetime,
    now: datetime,
    limit: int = 6,
    window_days: int = 7,
) -> list[Slot]:
    """Up to `limit` free starts closest to `around` (within `window_days` either side), in time order.

    Offered when the time a person held was taken meanwhile: one snapshot, four queries.
    """
    tz = location.tz
    today = now.astimezone(tz).date()
    day = around.astimezone(tz).date()
    start_date = max(today, day - timedelta(days=window_days))
    end_date = min(today + timedelta(days=service.booking_horizon_days), day + timedelta(days=window_days))
    if end_date < start_date:
        return []
    by_day = free_slots(
        location=location, service=service, persons=persons, start_date=start_date, end_date=end_date, now=now
    )
    candidates = [slot for slots in by_day.values() for slot in slots if slot.start != around]
    nearest = sorted(candidates, key=lambda slot: (abs(slot.start - around), slot.start))[:limit]
    return sorted(nearest, key=lambda slot: slot.start)
