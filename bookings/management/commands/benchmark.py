"""Measure availability and booking on a throwaway desk; every row it writes is rolled back.

    python manage.py benchmark --appointments 5000 --repeat 20

Timings belong here, not in tests (tests assert query counts). Run it against the database you want
to measure (DATABASE_URL); the figures are medians of --repeat runs, in milliseconds.
"""

from __future__ import annotations

import statistics
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as daytime

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, reset_queries, transaction
from django.test.utils import CaptureQueriesContext

from bookings import availability
from bookings.models import Appointment, AppointmentStatus, Counter, Location, OpeningHours, SlotClaim
from bookings.tokens import new_reference
from services.models import Service


class Rollback(Exception):
    """Raised at the end to undo everything the benchmark wrote."""


class Command(BaseCommand):
    help = "Time six weeks of availability, first free days and a booking on a throwaway desk (rolled back)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--appointments", type=int, default=5000, help="booked appointments on the desk")
        parser.add_argument("--counters", type=int, default=8)
        parser.add_argument("--repeat", type=int, default=20, help="runs per measurement; the median is shown")

    def handle(self, *args, appointments: int, counters: int, repeat: int, **options) -> None:
        try:
            with transaction.atomic():
                self._run(appointments=appointments, counters=counters, repeat=repeat)
                raise Rollback
        except Rollback:
            self.stdout.write("(everything the benchmark wrote was rolled back)")

    def _run(self, *, appointments: int, counters: int, repeat: int) -> None:
        service = Service.objects.create(
            code="benchmark-service",
            name_en="Benchmark",
            name_nl="Benchmark",
            description_en="-",
            description_nl="-",
            duration_minutes=15,
            max_persons=6,
            minimum_notice_minutes=0,
            booking_horizon_days=42,
        )
        location = Location.objects.create(
            name="Benchmark desk", short_code="BENCH", street="-", postcode="-", city="-", grid_minutes=15
        )
        for index in range(counters):
            Counter.objects.create(location=location, name=f"Counter {index + 1}").services.add(service)
        for weekday in range(5):
            OpeningHours.objects.create(
                location=location, weekday=weekday, start_time=daytime(9), end_time=daytime(12, 30)
            )
            OpeningHours.objects.create(
                location=location, weekday=weekday, start_time=daytime(13, 30), end_time=daytime(17)
            )
        now = datetime.now(tz=UTC)
        today = now.astimezone(location.tz).date()
        start_date, end_date = today, today + timedelta(days=42)
        booked = self._fill(
            location=location, service=service, count=appointments, now=now, start_date=start_date, end_date=end_date
        )
        self.stdout.write(
            f"Desk: {counters} counters, Mon–Fri, {booked} booked appointments over six weeks "
            f"({connection.vendor}); median of {repeat} runs:"
        )
        measurements: list[tuple[str, Callable[[], object]]] = [
            (
                "free_slots, six weeks, 1 person",
                lambda: availability.free_slots(
                    location=location, service=service, persons=1, start_date=start_date, end_date=end_date, now=now
                ),
            ),
            (
                "free_slots, six weeks, 6 persons",
                lambda: availability.free_slots(
                    location=location, service=service, persons=6, start_date=start_date, end_date=end_date, now=now
                ),
            ),
            ("first_free_day", lambda: availability.first_free_day(location=location, service=service, now=now)),
        ]
        for label, call in measurements:
            self._measure(label=label, call=call, repeat=repeat)

    def _measure(self, *, label: str, call: Callable[[], object], repeat: int) -> None:
        durations = []
        with CaptureQueriesContext(connection) as queries:
            for _ in range(repeat):
                started = clock.perf_counter()
                call()
                durations.append((clock.perf_counter() - started) * 1000)
        self.stdout.write(
            f"  {label:<36} {statistics.median(durations):8.1f} ms   {len(queries) // repeat} queries a run"
        )
        reset_queries()

    def _fill(self, *, location: Location, service: Service, count: int, now: datetime, start_date, end_date) -> int:
        """Book up to `count` single units in bulk, leaving every sixth unit free."""
        snapshot = availability.load_snapshot(location=location, start_date=start_date, end_date=end_date, now=now)
        counter_ids = list(location.counters.values_list("pk", flat=True))
        units = [
            (counter_id, slot.start)
            for day in snapshot.days()
            for slot in snapshot.free_slots_on(service=service, persons=1, day=day)
            for counter_id in counter_ids
        ]
        units = [unit for index, unit in enumerate(units) if index % 6 != 5][:count]
        grid = timedelta(minutes=location.grid_minutes)
        references: set[str] = set()
        while len(references) < len(units):
            references.add(new_reference(short_code=location.short_code))
        created = Appointment.objects.bulk_create(
            [
                Appointment(
                    reference=reference,
                    service=service,
                    location=location,
                    start=start,
                    end=start + grid,
                    persons=1,
                    status=AppointmentStatus.BOOKED,
                    claimed_units=1,
                    created_at=now,
                    booked_at=now,
                )
                for reference, (_counter, start) in zip(sorted(references), units, strict=True)
            ],
            batch_size=500,
        )
        SlotClaim.objects.bulk_create(
            [
                SlotClaim(appointment=a, counter_id=c, unit_start=s, unit_end=s + grid)
                for a, (c, s) in zip(created, units, strict=True)
            ],
            batch_size=500,
        )
        return len(created)
