"""Read-only: where a booking can go when the desk moves it on one day.

As the booking pages see the day (bookings/availability.py), with two differences for the desk: no
minimum notice (but nothing in the past), and a blocked counter is not free in its blocked period even
where a booking still holds time on it. (A block claims only the units nobody held when it was made, so
a booking's own time on a blocked counter would otherwise look free to move back into.)

One view of the day costs six queries (the snapshot's four, the blocks and the counters' names), whatever
the number of bookings to move: each booking's own claims are taken out in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from bookings.availability import Allocation, CapacitySnapshot, UnitKey, load_snapshot
from bookings.models import Appointment, Counter, CounterBlock, Location, SlotClaim
from services.models import Service


@dataclass(frozen=True)
class MoveOption:
    """A start the booking fits at, its end, and the counters that could take it on their own."""

    start: datetime
    end: datetime
    counter_ids: tuple[int, ...]


@dataclass(frozen=True)
class MoveView:
    """One day of a location as a desk move sees it."""

    snapshot: CapacitySnapshot  # every live claim of the day, the booking's own included
    blocked: dict[UnitKey, CounterBlock]  # every open unit inside a block, whoever holds it
    counter_names: dict[int, str]  # the location's counters

    def names(self, counter_ids) -> str:
        """ "Counter 1, Counter 3": the counters' names in name order."""
        return ", ".join(sorted(self.counter_names.get(pk, str(pk)) for pk in set(counter_ids)))

    def engine_view(self, own_units: frozenset[UnitKey]) -> CapacitySnapshot:
        """The day as the booking pages see it (blocks as their own claims only), the booking's time free."""
        return replace(self.snapshot, taken=set(self.snapshot.taken) - own_units)

    def for_booking(self, own_units: frozenset[UnitKey]) -> CapacitySnapshot:
        """The day with the booking's own time free again, except where its counter is blocked."""
        return replace(self.snapshot, taken=(set(self.snapshot.taken) - own_units) | set(self.blocked))

    def block_at(self, *, counter_id: int, start: datetime, end: datetime) -> CounterBlock | None:
        """A block of the counter in [start, end), if there is one."""
        unit = start
        while unit < end:
            block = self.blocked.get((counter_id, unit.astimezone(UTC)))
            if block is not None:
                return block
            unit += self.snapshot.grid
        return None

    def options(
        self, *, service: Service, persons: int, own_units: frozenset[UnitKey], extra_units: int = 0
    ) -> list[MoveOption]:
        """Every start from now on (no minimum notice) where the booking (with its extra time) fits, with the
        counters free for it."""
        snapshot = self.for_booking(own_units)
        day = snapshot.start_date
        counters = snapshot.counters_for(service)
        found = []
        for begin, end in snapshot.opening_intervals(day):
            start = snapshot.first_grid_point(max(begin, snapshot.now))
            while start < end:
                allocation = snapshot.allocate(service=service, persons=persons, start=start, extra_units=extra_units)
                if allocation is not None:
                    alone = tuple(
                        counter_id
                        for counter_id in counters
                        if snapshot.allocate(
                            service=service,
                            persons=persons,
                            start=start,
                            counter_ids=[counter_id],
                            extra_units=extra_units,
                        )
                        is not None
                    )
                    found.append(MoveOption(start=start, end=allocation.end, counter_ids=alone))
                start += snapshot.grid
        return found

    def allocate(
        self,
        *,
        service: Service,
        persons: int,
        start: datetime,
        own_units: frozenset[UnitKey],
        counter_ids: list[int] | None,
        extra_units: int = 0,
    ) -> Allocation | None:
        return self.for_booking(own_units).allocate(
            service=service, persons=persons, start=start, counter_ids=counter_ids, extra_units=extra_units
        )


def load_move_view(*, location: Location, day: date, now: datetime) -> MoveView:
    """The day at `location` for a desk move: six queries."""
    snapshot = load_snapshot(location=location, start_date=day, end_date=day, now=now)
    tz = location.tz
    day_start = datetime.combine(day, time.min, tzinfo=tz)
    day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    blocks = list(
        CounterBlock.objects.filter(counter__location=location, start__lt=day_end, end__gt=day_start).order_by("start")
    )
    blocked: dict[UnitKey, CounterBlock] = {}
    for begin, end in snapshot.opening_intervals(day):
        unit = snapshot.first_grid_point(begin)
        while unit + snapshot.grid <= end:
            for block in blocks:
                # Every unit the block overlaps, as the block's own claims do (bookings/actions/desk.py).
                if unit < block.end and unit + snapshot.grid > block.start:
                    blocked.setdefault((block.counter_id, unit.astimezone(UTC)), block)
            unit += snapshot.grid
    names = dict(Counter.objects.filter(location=location).values_list("pk", "name"))
    return MoveView(snapshot=snapshot, blocked=blocked, counter_names=names)


def booking_units(*, appointment_ids: list[int]) -> dict[int, frozenset[UnitKey]]:
    """The claimed units of each booking, in one query."""
    units: dict[int, set[UnitKey]] = {pk: set() for pk in appointment_ids}
    for appointment_id, counter_id, unit in SlotClaim.objects.filter(appointment_id__in=appointment_ids).values_list(
        "appointment_id", "counter_id", "unit_start"
    ):
        units[appointment_id].add((counter_id, unit.astimezone(UTC)))
    return {pk: frozenset(found) for pk, found in units.items()}


def move_options(*, appointment: Appointment, day: date, now: datetime) -> list[MoveOption]:
    """The times one booking can be moved to on `day` (seven queries)."""
    view = load_move_view(location=appointment.location, day=day, now=now)
    own = booking_units(appointment_ids=[appointment.pk])[appointment.pk]
    return view.options(
        service=appointment.service, persons=appointment.persons, own_units=own, extra_units=appointment.extra_units
    )
