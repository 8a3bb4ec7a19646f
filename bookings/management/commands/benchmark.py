"""Measure availability on a throwaway desk (in-process, rolled back), or every request under gunicorn.

    python manage.py benchmark --appointments 5000 --repeat 20
    python manage.py benchmark --counters 32 --days 92 --appointments 20000
    python manage.py benchmark --locations 40 --history 1000000
    python manage.py benchmark --http            # gunicorn, PostgreSQL, Redis: see bench/httpbench.py

Timings belong here, not in tests (tests assert query counts). The in-process mode runs against the
database you point it at (DATABASE_URL) inside a transaction that is rolled back; the figures are
medians of --repeat runs, in milliseconds. `--http` runs bench/httpbench.py, which builds a throwaway
database of its own.

The desk: `--locations` locations (the first is measured; with more than one, the start page's next
free day of all of them is measured too) of `--counters` counters each, open Monday
to Friday 09:00-12:30 and 13:30-17:00 on a 15-minute grid, one service of 15 minutes a person (up to
6 persons, no minimum notice, `--days` days ahead), `--appointments` booked appointments per location
over the horizon (every sixth unit left free), and `--history` past appointments per location with
their claims (as if never pruned), inserted in bulk SQL.
"""

from __future__ import annotations

import statistics
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as daytime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from bookings import availability, visits
from bookings.models import (
    Appointment,
    AppointmentStatus,
    Counter,
    Location,
    LocationService,
    OpeningHours,
    SlotClaim,
)
from bookings.tokens import new_reference
from services.models import Service


class Rollback(Exception):
    """Raised at the end to undo everything the benchmark wrote."""


@dataclass
class BenchDesk:
    service: Service
    locations: list[Location]
    start_date: date
    end_date: date
    now: datetime
    booked: int
    # Two more services for the visit of several parts: the second on every other counter, the third on
    # every fourth (so the engine has to keep the counters that serve them free for them).
    parts: list[visits.PartRequest]

    @property
    def location(self) -> Location:
        return self.locations[0]


def _short_code(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "BZ" + letters[index // 26 % 26] + letters[index % 26]


def seed(
    *,
    locations: int = 1,
    counters: int = 8,
    appointments: int = 5000,
    days: int = 42,
    history: int = 0,
    now: datetime | None = None,
) -> BenchDesk:
    """Build the benchmark desk (see the module's docstring); the caller commits or rolls it back."""
    now = now or datetime.now(tz=UTC)
    service = Service.objects.create(
        code="benchmark-service",
        name_en="Benchmark",
        name_nl="Benchmark",
        description_en="-",
        description_nl="-",
        duration_minutes=15,
        max_persons=6,
        minimum_notice_minutes=0,
        booking_horizon_days=days,
    )
    more = [
        Service.objects.create(
            code=f"benchmark-part-{number}",
            name_en=f"Benchmark part {number}",
            name_nl=f"Benchmark deel {number}",
            description_en="-",
            description_nl="-",
            duration_minutes=15,
            max_persons=6,
            minimum_notice_minutes=0,
            booking_horizon_days=days,
        )
        for number in (2, 3)
    ]
    desks: list[Location] = []
    for index in range(locations):
        location = Location.objects.create(
            name=f"Benchmark desk {index + 1:02d}",
            slug=f"benchmark-{index + 1:02d}",
            short_code=_short_code(index),
            street="-",
            postcode="-",
            city="-",
            grid_minutes=15,
        )
        for offered in (service, *more):
            LocationService.objects.create(location=location, service=offered)
        for number in range(counters):
            counter = Counter.objects.create(location=location, name=f"Counter {number + 1}")
            counter.services.add(service, *more[: 2 if number % 4 == 0 else 1 if number % 2 == 0 else 0])
        OpeningHours.objects.bulk_create(
            OpeningHours(location=location, weekday=weekday, start_time=begin, end_time=end)
            for weekday in range(5)
            for begin, end in ((daytime(9), daytime(12, 30)), (daytime(13, 30), daytime(17)))
        )
        desks.append(location)
    today = now.astimezone(desks[0].tz).date()
    start_date, end_date = today, today + timedelta(days=days)
    booked = 0
    for location in desks:
        booked = fill_single_units(
            location=location, service=service, count=appointments, now=now, start_date=start_date, end_date=end_date
        )
        if history:
            _history(location=location, service=service, count=history, now=now)
    parts = [
        visits.PartRequest(service, (1, 2, 3, 4)),
        visits.PartRequest(more[0], (1, 2)),
        visits.PartRequest(more[1], (1,)),
    ]
    return BenchDesk(
        service=service,
        locations=desks,
        start_date=start_date,
        end_date=end_date,
        now=now,
        booked=booked,
        parts=parts,
    )


def fill_single_units(
    *, location: Location, service: Service, count: int, now: datetime, start_date: date, end_date: date
) -> int:
    """Book up to `count` single units in bulk, spread over the days' open units and the counters, leaving
    every sixth unit free (busy but not full); returns how many. Also the query-count tests' busy desk."""
    snapshot = availability.load_snapshot(location=location, start_date=start_date, end_date=end_date, now=now)
    counter_ids = sorted(location.counters.values_list("pk", flat=True))
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
    # One transaction: each booked appointment commits with its claim (the PostgreSQL safety net, migration
    # 0006, checks it at COMMIT), also when the caller runs in autocommit (bench/httpbench.py).
    with transaction.atomic():
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
            batch_size=2000,
        )
        SlotClaim.objects.bulk_create(
            [
                SlotClaim(appointment=a, counter_id=c, unit_start=s, unit_end=s + grid)
                for a, (c, s) in zip(created, units, strict=True)
            ],
            batch_size=2000,
        )
    return len(created)


def _history(*, location: Location, service: Service, count: int, now: datetime) -> None:
    """`count` finished appointments before today, each with its claim, spread over the counters."""
    counter_ids = sorted(location.counters.values_list("pk", flat=True))
    midnight = datetime.combine(now.astimezone(location.tz).date(), daytime.min, tzinfo=location.tz)
    prefix = f"H{location.short_code}"
    if connection.vendor != "postgresql":  # small runs only (the tests): plain bulk inserts
        grid = timedelta(minutes=location.grid_minutes)
        past = Appointment.objects.bulk_create(
            [
                Appointment(
                    reference=f"{prefix}{index}",
                    service=service,
                    location=location,
                    start=midnight - grid * (index // len(counter_ids) + 1),
                    end=midnight - grid * (index // len(counter_ids)),
                    persons=1,
                    status=AppointmentStatus.DONE,
                    created_at=midnight - timedelta(days=400),
                )
                for index in range(count)
            ]
        )
        SlotClaim.objects.bulk_create(
            SlotClaim(
                appointment=a, counter_id=counter_ids[index % len(counter_ids)], unit_start=a.start, unit_end=a.end
            )
            for index, a in enumerate(past)
        )
        return
    step = f"{location.grid_minutes} minutes"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bookings_appointment (reference, service_id, location_id, start, "end", persons,
                contact_email, phone, language, municipality, status, manage_token_hash,
                created_at, cancel_reason, sequence, client_key, mailbox_key, claimed_units)
            SELECT %s || g, %s, %s, %s - ((g / %s) + 1) * %s::interval, %s - (g / %s) * %s::interval, 1,
                '', '', 'en', '', 'done', '', %s - interval '400 days', '', 0, '', '', 0
            FROM generate_series(0, %s - 1) AS g
            """,
            [
                prefix,
                service.pk,
                location.pk,
                midnight,
                len(counter_ids),
                step,
                midnight,
                len(counter_ids),
                step,
                midnight,
                count,
            ],
        )
        cursor.execute(
            """
            INSERT INTO bookings_slotclaim (appointment_id, counter_id, unit_start, unit_end)
            SELECT id, (%s::bigint[])[1 + substr(reference, %s)::bigint %% %s], start, "end"
            FROM bookings_appointment WHERE location_id = %s AND reference LIKE %s
            """,
            [counter_ids, len(prefix) + 1, len(counter_ids), location.pk, f"{prefix}%"],
        )
        cursor.execute("ANALYZE bookings_appointment; ANALYZE bookings_slotclaim")


class Command(BaseCommand):
    help = "Time availability on a throwaway desk (rolled back); --http: every request under gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--appointments", type=int, default=5000, help="booked appointments per location")
        parser.add_argument("--counters", type=int, default=8)
        parser.add_argument("--days", type=int, default=42, help="the booking horizon, in days")
        parser.add_argument("--locations", type=int, default=1, help="locations (the first is measured)")
        parser.add_argument("--history", type=int, default=0, help="past appointments per location")
        parser.add_argument("--repeat", type=int, default=20, help="runs per measurement; the median is shown")
        parser.add_argument("--explain", action="store_true", help="print the claims queries' plans (PostgreSQL)")
        parser.add_argument("--http", action="store_true", help="run bench/httpbench.py: gunicorn, every request row")
        parser.add_argument("--duration", type=int, default=10, help="--http: seconds per row")
        parser.add_argument("--connections", type=int, default=32, help="--http: concurrent connections")

    def handle(self, *args, http: bool, **options) -> None:
        if http:
            self._http(**options)
            return
        try:
            with transaction.atomic():
                self._run(**options)
                raise Rollback
        except Rollback:
            self.stdout.write("(everything the benchmark wrote was rolled back)")

    def _http(self, **options) -> None:
        import subprocess
        import sys

        from django.conf import settings

        command = [sys.executable, str(settings.BASE_DIR / "bench" / "httpbench.py")]
        for name in ("appointments", "counters", "days", "locations", "history", "duration", "connections"):
            command += [f"--{name}", str(options[name])]
        if subprocess.run(command, check=False).returncode:  # noqa: S603 - our own script and arguments
            raise CommandError("The HTTP benchmark failed (see above).")

    def _run(
        self,
        *,
        appointments: int,
        counters: int,
        days: int,
        locations: int,
        history: int,
        repeat: int,
        explain: bool,
        **_options,
    ) -> None:
        desk = seed(locations=locations, counters=counters, appointments=appointments, days=days, history=history)
        location, service, now = desk.location, desk.service, desk.now
        start_date, end_date = desk.start_date, desk.end_date
        span = "six weeks" if days == 42 else f"{days} days"
        self.stdout.write(
            f"Desk: {counters} counters, Mon–Fri, {desk.booked} booked appointments over {span}"
            + (f", {locations} locations" if locations > 1 else "")
            + (f", {history} past appointments a location" if history else "")
            + f" ({connection.vendor}); median of {repeat} runs:"
        )
        measurements: list[tuple[str, Callable[[], object]]] = [
            (
                f"free_slots, {span}, {persons} person{'s' if persons > 1 else ''}",
                lambda persons=persons: availability.free_slots(
                    location=location,
                    service=service,
                    persons=persons,
                    start_date=start_date,
                    end_date=end_date,
                    now=now,
                ),
            )
            for persons in (1, 6)
        ]
        measurements += [
            (
                f"free_days, {span}, 1 person",
                lambda: availability.free_days(
                    location=location, service=service, persons=1, start_date=start_date, end_date=end_date, now=now
                ),
            ),
            ("first_free_day", lambda: availability.first_free_day(location=location, service=service, now=now)),
            (
                f"visit, 3 parts, 4 persons, {span}",
                lambda: visits.free_arrivals(
                    location=location, parts=desk.parts, start_date=start_date, end_date=end_date, now=now
                ),
            ),
        ]
        if locations > 1:  # the start page: the next free day of every location at once
            measurements.append(
                (
                    f"next free day, all {locations} locations",
                    lambda: availability.first_free_days_at(locations=desk.locations, services=[service], now=now),
                )
            )
        # One lasting claim of each day of the range: a booking on one of those days between two answers.
        changed_claims: dict[date, int] = {}
        if connection.vendor == "postgresql":
            lasting = SlotClaim.objects.filter(
                counter__location=location,
                expires_at__isnull=True,
                unit_start__gte=datetime.combine(start_date, daytime.min, tzinfo=location.tz),
                unit_start__lt=datetime.combine(end_date + timedelta(days=1), daytime.min, tzinfo=location.tz),
            )
            for pk, unit_start in lasting.order_by("pk").values_list("pk", "unit_start"):
                changed_claims.setdefault(unit_start.astimezone(location.tz).date(), pk)
        for label, call in measurements:
            self._measure(label=label, call=call, repeat=repeat, changed_claims=list(changed_claims.values()))
        if explain:
            self._explain(
                lambda: availability.free_slots(
                    location=location, service=service, persons=1, start_date=start_date, end_date=end_date, now=now
                )
            )
            self._explain(lambda: availability.first_free_day(location=location, service=service, now=now))

    def _measure(self, *, label: str, call: Callable[[], object], repeat: int, changed_claims: list[int]) -> None:
        """The median of `repeat` runs in a process that keeps the location's configuration and the days' lasting
        claims, the first run as in a new process (both read afresh: docs/locking.md §2), and (PostgreSQL) the
        median of `repeat` runs each after a change of one day's lasting claims (an UPDATE of one of
        `changed_claims`, not timed: that day read again, as after a booking)."""
        availability.forget_kept_configurations()
        with CaptureQueriesContext(connection) as first_queries:
            started = clock.perf_counter()
            call()
            first = (clock.perf_counter() - started) * 1000
        durations = []
        with CaptureQueriesContext(connection) as queries:
            for _ in range(repeat):
                started = clock.perf_counter()
                call()
                durations.append((clock.perf_counter() - started) * 1000)
        changed = ""
        if changed_claims:
            after_change = []
            for run in range(repeat):
                SlotClaim.objects.filter(pk=changed_claims[run % len(changed_claims)]).update(unit_end=F("unit_end"))
                with CaptureQueriesContext(connection) as change_queries:
                    started = clock.perf_counter()
                    call()
                    after_change.append((clock.perf_counter() - started) * 1000)
            changed = f", a day changed: {statistics.median(after_change):.1f} ms, {len(change_queries)} queries"
        self.stdout.write(
            f"  {label:<36} {statistics.median(durations):8.1f} ms   {len(queries) // repeat} queries a run"
            f"   (new process: {first:.1f} ms, {len(first_queries)} queries{changed})"
        )
        reset_queries()

    def _explain(self, call: Callable[[], object]) -> None:
        """The plan of the claims query (the last one of a snapshot) of `call`."""
        if connection.vendor != "postgresql":
            return
        with CaptureQueriesContext(connection) as queries:
            call()
        claims = [query["sql"] for query in queries.captured_queries if "bookings_slotclaim" in query["sql"]]
        for sql in claims[:1]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
                self.stdout.write("\n".join("    " + row[0] for row in cursor.fetchall()))
