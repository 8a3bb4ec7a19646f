"""A desk for visits of several parts: three counters, the first also serving biometrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from bookings.actions import PersonName
from bookings.models import Counter, Location
from bookings.visits import PartRequest, Task
from services.models import Service
from tests.support.factories import CounterFactory, ServiceFactory, make_desk


@dataclass
class FamilyDesk:
    location: Location
    registration: Service
    biometrics: Service
    both: Counter  # serves registration and biometrics
    others: list[Counter]  # registration only

    def family(self, persons: int = 4, adults: int = 2) -> list[PartRequest]:
        """Registration for everyone, biometrics for the adults."""
        return [
            PartRequest(self.registration, tuple(range(1, persons + 1))),
            PartRequest(self.biometrics, tuple(range(1, adults + 1))),
        ]


def family_desk(**location_kwargs) -> FamilyDesk:
    registration = ServiceFactory(duration_minutes=15)
    biometrics = ServiceFactory(duration_minutes=15)
    location = make_desk(services=[registration], counters=0, **location_kwargs)
    both = CounterFactory(location=location, name="Counter 1", services=[registration, biometrics])
    others = [CounterFactory(location=location, name=f"Counter {n}", services=[registration]) for n in (2, 3)]
    return FamilyDesk(location, registration, biometrics, both, others)


def family_names(count: int = 4) -> list[PersonName]:
    return [
        PersonName(first_name=f"Child {n}" if n > 2 else f"Adult {n}", last_name="Jansen") for n in range(1, count + 1)
    ]


def wait_of(allocation) -> timedelta:
    """The longest wait of any person between two of their parts (zero for a one-part visit)."""
    longest = timedelta(0)
    by_person: dict[int, list[Task]] = {}
    for task in allocation.tasks:
        by_person.setdefault(task.person, []).append(task)
    for tasks in by_person.values():
        tasks.sort(key=lambda task: task.start)
        for before, after in pairwise(tasks):
            longest = max(longest, after.start - before.end)
    return longest
