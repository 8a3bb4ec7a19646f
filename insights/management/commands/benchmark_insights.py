"""Time the insights dashboard on a throwaway desk with years of history (in-process, rolled back).

    python manage.py benchmark_insights                     # 2 years, 100 appointments an open day
    python manage.py benchmark_insights --years 2 --per-day 200 --repeat 10

The desk is bookings' benchmark desk (8 counters, Monday to Friday 09:00-12:30 and 13:30-17:00). Its
history: `--per-day` appointments every open day of the past `--years` years (done 70 %, no-show 8 %,
cancelled 12 % online and 4 % by the desk, walk-ins 6 %; one in ten booked by an employer; a municipality
on each; a feedback e-mail sent for every one served and a score for two in three of those), and the daily
days-to-first-free-slot record of every day. The figures are medians of --repeat runs, in milliseconds,
with the queries of one run: the dashboard aggregates in SQL, so the query count does not grow with the
history (tests/test_insights_dashboard.py asserts it)."""

from __future__ import annotations

import statistics
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, reset_queries, transaction
from django.test.utils import CaptureQueriesContext

from bookings.management.commands.benchmark import Rollback, seed
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EmailKind,
    EventKind,
    OutboxEmail,
    OutboxStatus,
)
from bookings.municipalities import PARTICIPATING_MUNICIPALITIES
from employers.models import Employer, EmployerBooking
from insights import kpis, tables
from insights.kpis import Period
from insights.models import Feedback, FirstFreeDayRecord

BATCH = 5000
# Out of every 50 appointments of a day: what became of them (see the module's docstring).
OUTCOMES = (
    [AppointmentStatus.DONE] * 35
    + [AppointmentStatus.NO_SHOW] * 4
    + [AppointmentStatus.CANCELLED] * 8
    + ["walk_in"] * 3
)


def build_history(*, location, service, years: int, per_day: int, now: datetime, staff=None) -> int:
    """Bulk-insert the history (see the module's docstring); returns how many appointments."""
    tz = location.tz
    today = now.astimezone(tz).date()
    first = today - timedelta(days=365 * years)
    employer = Employer.objects.create(name="Benchmark employer", contact_name="-", is_approved=True, created_at=now)
    rows: list[Appointment] = []
    day = first
    serial = 0
    while day < today:
        if day.weekday() < 5:
            for n in range(per_day):
                start = datetime.combine(day, time(9), tzinfo=tz) + timedelta(minutes=2 * n)
                outcome = OUTCOMES[n % len(OUTCOMES)]
                walk_in = outcome == "walk_in"
                status = AppointmentStatus.DONE if walk_in else outcome
                booked_at = start if walk_in else start - timedelta(days=1 + n % 9)
                served = status == AppointmentStatus.DONE
                rows.append(
                    Appointment(
                        reference=f"HB{serial:09d}",
                        service=service,
                        location=location,
                        start=start,
                        end=start + timedelta(minutes=15),
                        persons=1 + n % 3 // 2,
                        status=status,
                        municipality=PARTICIPATING_MUNICIPALITIES[n % len(PARTICIPATING_MUNICIPALITIES)],
                        created_at=booked_at,
                        booked_at=booked_at,
                        checked_in_at=(start if walk_in else start - timedelta(minutes=3)) if served else None,
                        started_at=start + timedelta(minutes=4) if served else None,
                        done_at=start + timedelta(minutes=14) if served else None,
                        cancelled_at=start - timedelta(hours=5) if status == AppointmentStatus.CANCELLED else None,
                    )
                )
                serial += 1
        day += timedelta(days=1)
    created = Appointment.objects.bulk_create(rows, batch_size=BATCH)
    events, emails, scores, employer_rows = [], [], [], []
    for index, appointment in enumerate(created):
        if appointment.status == AppointmentStatus.CANCELLED:
            by_desk = index % 3 == 0
            events.append(
                AppointmentEvent(
                    appointment=appointment,
                    kind=EventKind.CANCELLED,
                    at=appointment.cancelled_at,
                    actor=staff if by_desk else None,
                )
            )
        if appointment.status == AppointmentStatus.DONE:
            emails.append(
                OutboxEmail(
                    appointment=appointment,
                    kind=EmailKind.FEEDBACK,
                    status=OutboxStatus.SENT,
                    created_at=appointment.done_at,
                    sent_at=appointment.done_at,
                )
            )
            if index % 3:
                scores.append(
                    Feedback(
                        appointment=appointment,
                        score=6 + index % 5,
                        created_at=appointment.done_at,
                        updated_at=appointment.done_at,
                    )
                )
        if index % 10 == 0 and appointment.checked_in_at != appointment.booked_at:
            employer_rows.append(EmployerBooking(appointment=appointment, employer=employer, created_at=now))
    AppointmentEvent.objects.bulk_create(events, batch_size=BATCH)
    OutboxEmail.objects.bulk_create(emails, batch_size=BATCH)
    Feedback.objects.bulk_create(scores, batch_size=BATCH)
    EmployerBooking.objects.bulk_create(employer_rows, batch_size=BATCH)
    FirstFreeDayRecord.objects.bulk_create(
        [
            FirstFreeDayRecord(
                location=location,
                service=service,
                day=first + timedelta(days=n),
                first_free_day=first + timedelta(days=n + 1 + n % 5),
                days_to_first_free=1 + n % 5,
                recorded_at=now,
            )
            for n in range((today - first).days)
        ],
        batch_size=BATCH,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE bookings_appointment; ANALYZE bookings_outboxemail; ANALYZE insights_feedback")
    return len(created)


class Command(BaseCommand):
    help = "Time the insights dashboard on a throwaway desk with years of history (rolled back)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--years", type=int, default=2, help="years of history")
        parser.add_argument("--per-day", type=int, default=100, help="appointments an open day")
        parser.add_argument("--repeat", type=int, default=10, help="runs per measurement; the median is shown")

    def handle(self, *args, years: int, per_day: int, repeat: int, **options) -> None:
        try:
            with transaction.atomic():
                self._run(years=years, per_day=per_day, repeat=repeat)
                raise Rollback
        except Rollback:
            self.stdout.write("Everything the benchmark wrote was rolled back.")

    def _run(self, *, years: int, per_day: int, repeat: int) -> None:
        now = datetime.now(tz=UTC)
        desk = seed(locations=1, counters=8, appointments=0, days=42, now=now)
        location, service = desk.location, desk.service
        count = build_history(location=location, service=service, years=years, per_day=per_day, now=now)
        today = now.astimezone(location.tz).date()
        month_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        month = Period(kind="month", first=month_start, last=today.replace(day=1) - timedelta(days=1))
        year = Period(kind="custom", first=today - timedelta(days=365), last=today - timedelta(days=1))
        self.stdout.write(
            f"Desk: 8 counters, {count} past appointments over {years} years ({per_day} an open day) "
            f"({connection.vendor}); median of {repeat} runs:"
        )
        for label, period in (("dashboard, last month", month), ("dashboard, last 365 days", year)):
            self._measure(
                label=label,
                call=lambda period=period: tables.dashboard_tables(
                    kpis.load_dashboard(location=location, service=None, period=period, services=[service], now=now)
                ),
                repeat=repeat,
            )

    def _measure(self, *, label: str, call: Callable[[], object], repeat: int) -> None:
        durations = []
        with CaptureQueriesContext(connection) as queries:
            for _ in range(repeat):
                started = clock.perf_counter()
                call()
                durations.append((clock.perf_counter() - started) * 1000)
        self.stdout.write(
            f"  {label:<30} {statistics.median(durations):8.1f} ms   {len(queries) // repeat} queries a run"
        )
        reset_queries()
