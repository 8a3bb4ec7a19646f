"""The dashboard's figures for one location, one period and optionally one service.

Every figure is aggregated in SQL over the period's rows (counts, averages, GROUP BY), so the dashboard
costs the same number of queries whatever the history holds (tests/test_insights_dashboard.py counts
them with little and with much history). Definitions, one place each:

- the period's appointments: those whose start falls in [first day 00:00, last day + 1 00:00) local time;
- walk-in: booked and checked in in one step at the desk (checked_in_at equals booked_at);
- booked: the period's appointments booked in advance (not walk-ins), whatever became of them;
- cancelled online / by the desk: booked ones cancelled, by the person (no actor on the cancellation
  event) or by staff (an actor);
- no-show rate: no-shows ÷ (booked - cancelled), the appointments the desk expected;
- served: done (walk-ins included); waiting time: check-in → start; service time: start → done (only
  where staff recorded the start: a "done" without a "called" has no start of its own);
- lead time: booked_at → start of the booked ones;
- counter-time utilisation: the counter time of the period's appointments that kept their time (booked,
  checked in, done, no-show) ÷ the counter time open in the period (opening hours x active counters, from
  the availability engine's configuration);
- rating: the scores given for the period's appointments; response rate: scores ÷ feedback e-mails sent;
- employer share: booked ones an employer's HR staff made ÷ booked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth

from bookings.availability import load_snapshot, units_per_person
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EmailKind,
    EventKind,
    Location,
    OutboxStatus,
)
from employers.models import EmployerBooking
from insights.models import SCORE_MAX, SCORE_MIN, FirstFreeDayRecord
from services.models import Service

WALK_IN = Q(checked_in_at__isnull=False, checked_in_at=F("booked_at"))
BOOKED = Q(booked_at__isnull=False) & ~WALK_IN
KEPT_TIME = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.DONE, AppointmentStatus.NO_SHOW)


@dataclass(frozen=True)
class Period:
    kind: str  # "week", "month" or "custom"
    first: date
    last: date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


@dataclass
class Counts:
    served: int = 0
    booked: int = 0
    cancelled_online: int = 0
    cancelled_by_desk: int = 0
    no_shows: int = 0
    walk_ins: int = 0
    by_employers: int = 0
    feedback_sent: int = 0
    lead_time: timedelta | None = None
    waiting_time: timedelta | None = None
    service_time: timedelta | None = None

    @property
    def expected(self) -> int:
        return self.booked - self.cancelled_online - self.cancelled_by_desk

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.expected if self.expected > 0 else None

    @property
    def employer_share(self) -> float | None:
        return self.by_employers / self.booked if self.booked else None


@dataclass
class Rating:
    distribution: dict[int, int]
    sent: int

    @property
    def responses(self) -> int:
        return sum(self.distribution.values())

    @property
    def average(self) -> float | None:
        if not self.responses:
            return None
        return sum(score * n for score, n in self.distribution.items()) / self.responses

    @property
    def response_rate(self) -> float | None:
        return self.responses / self.sent if self.sent else None


@dataclass
class FirstFreeSeries:
    service: Service
    # (day, days to the first free slot or None when none was free in the horizon); days without a record
    # are left out.
    points: list[tuple[date, int | None]] = field(default_factory=list)

    @property
    def latest(self) -> int | None:
        return self.points[-1][1] if self.points else None


@dataclass
class Utilisation:
    booked_minutes: int
    open_minutes: int

    @property
    def rate(self) -> float | None:
        return self.booked_minutes / self.open_minutes if self.open_minutes else None


@dataclass
class MunicipalityTable:
    months: list[date]
    # municipality → counts per month (same order as months), sorted by name
    rows: list[tuple[str, list[int]]]

    @property
    def totals(self) -> list[int]:
        return [sum(row[1][index] for row in self.rows) for index in range(len(self.months))]


@dataclass
class Dashboard:
    location: Location
    service: Service | None
    period: Period
    counts: Counts
    rating: Rating
    first_free: list[FirstFreeSeries]
    utilisation: Utilisation
    municipalities: MunicipalityTable
    # The waitlist's place on the dashboard (issue 14 part 3, the `waitlist` app): (service, entries
    # waiting) rows, or None while no waitlist is installed. See waitlist_lengths below.
    waitlist: list[tuple[Service, int]] | None = None


def _bounds(*, location: Location, period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first, time.min, tzinfo=location.tz)
    end = datetime.combine(period.last + timedelta(days=1), time.min, tzinfo=location.tz)
    return start, end


def period_appointments(*, location: Location, service: Service | None, period: Period):
    start, end = _bounds(location=location, period=period)
    rows = Appointment.objects.filter(location=location, start__gte=start, start__lt=end)
    return rows.filter(service=service) if service is not None else rows


def _duration(expression) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=DurationField())


def load_counts(*, location: Location, service: Service | None, period: Period) -> Counts:
    """Four queries: the counts and averages of the period's rows, then three joins (the cancellations by
    staff, the employers' bookings, the feedback e-mails sent), each counted in SQL. Joins, not EXISTS in a
    FILTER: PostgreSQL would run those once a row (seconds for a year of history; hash joins take ms)."""
    rows = period_appointments(location=location, service=service, period=period)
    started = Q(status=AppointmentStatus.DONE, started_at__isnull=False, done_at__gt=F("started_at"))
    cancelled = Q(status=AppointmentStatus.CANCELLED) & BOOKED
    figures = rows.aggregate(
        served=Count("pk", filter=Q(status=AppointmentStatus.DONE)),
        booked=Count("pk", filter=BOOKED),
        cancelled=Count("pk", filter=cancelled),
        no_shows=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW) & BOOKED),
        walk_ins=Count("pk", filter=WALK_IN),
        lead_time=Avg(_duration(F("start") - F("booked_at")), filter=BOOKED, output_field=DurationField()),
        waiting_time=Avg(
            _duration(F("started_at") - F("checked_in_at")),
            filter=started & Q(checked_in_at__isnull=False),
            output_field=DurationField(),
        ),
        service_time=Avg(_duration(F("done_at") - F("started_at")), filter=started, output_field=DurationField()),
    )
    cancelled_by_desk = (
        AppointmentEvent.objects.filter(
            kind=EventKind.CANCELLED, actor__isnull=False, appointment__in=rows.filter(cancelled)
        )
        .values("appointment_id")
        .distinct()
        .count()
    )
    by_employers = EmployerBooking.objects.filter(appointment__in=rows.filter(BOOKED)).count()
    # From the period's appointments to their e-mails (an index look-up each), not the other way round.
    feedback_sent = rows.filter(emails__kind=EmailKind.FEEDBACK, emails__status=OutboxStatus.SENT).count()
    total_cancelled = figures.pop("cancelled")
    return Counts(
        **figures,
        cancelled_online=total_cancelled - cancelled_by_desk,
        cancelled_by_desk=cancelled_by_desk,
        by_employers=by_employers,
        feedback_sent=feedback_sent,
    )


def load_rating(*, location: Location, service: Service | None, period: Period, sent: int) -> Rating:
    """One query: how many gave each score for the period's appointments."""
    rows = (
        period_appointments(location=location, service=service, period=period)
        .filter(feedback__isnull=False)
        .values_list("feedback__score")
        .annotate(n=Count("pk"))
        .order_by("feedback__score")
    )
    distribution = {score: 0 for score in range(SCORE_MIN, SCORE_MAX + 1)}
    for score, n in rows:
        distribution[score] = n
    return Rating(distribution=distribution, sent=sent)


def load_first_free(
    *, location: Location, services: list[Service], service: Service | None, period: Period
) -> list[FirstFreeSeries]:
    """One query: the daily records of the period (at most days x services rows, whatever the history)."""
    wanted = [service] if service is not None else services
    series = {item.pk: FirstFreeSeries(service=item) for item in wanted}
    rows = FirstFreeDayRecord.objects.filter(
        location=location, day__gte=period.first, day__lte=period.last, service_id__in=list(series)
    ).order_by("service_id", "day")
    for service_id, day, days in rows.values_list("service_id", "day", "days_to_first_free"):
        series[service_id].points.append((day, days))
    return list(series.values())


def load_utilisation(
    *, location: Location, services: list[Service], service: Service | None, period: Period, now: datetime
) -> Utilisation:
    """Two queries for the booked counter time (per service, then x its grid units), and the engine's
    configuration (counters, opening hours, closures: three queries) for the open counter time."""
    by_service = {item.pk: item for item in services}
    booked_minutes = 0
    per_service = (
        period_appointments(location=location, service=service, period=period)
        .filter(status__in=KEPT_TIME)
        .values_list("service_id")
        .annotate(persons=Sum("persons"))
        .order_by("service_id")
    )
    missing = [service_id for service_id, _persons in per_service if service_id not in by_service]
    if missing:
        by_service.update({item.pk: item for item in Service.objects.filter(pk__in=missing)})
    for service_id, persons in per_service:
        units = units_per_person(location=location, service=by_service[service_id])
        booked_minutes += persons * units * location.grid_minutes
    # No claims are read (services=[]): only the configuration.
    snapshot = load_snapshot(location=location, start_date=period.first, end_date=period.last, now=now, services=[])
    if service is not None:
        counters = len(snapshot.counters_for(service))
    else:
        counters = sum(1 for served in snapshot.counter_services.values() if served)
    open_minutes = 0
    for day in period.dates():
        for begin, end in snapshot.opening_intervals(day):
            open_minutes += int((end - begin).total_seconds() // 60) * counters
    return Utilisation(booked_minutes=booked_minutes, open_minutes=open_minutes)


def load_municipalities(*, location: Location, service: Service | None, period: Period) -> MunicipalityTable:
    """One query: served per municipality per month (the municipality is kept after anonymisation)."""
    months: list[date] = []
    cursor = period.first.replace(day=1)
    while cursor <= period.last:
        months.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    rows = (
        period_appointments(location=location, service=service, period=period)
        .filter(status=AppointmentStatus.DONE)
        .exclude(municipality="")
        .annotate(month=TruncMonth("start", tzinfo=location.tz))
        .values_list("municipality", "month")
        .annotate(n=Count("pk"))
        .order_by("municipality", "month")
    )
    table: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
    index = {month: position for position, month in enumerate(months)}
    for municipality, month, n in rows:
        month_day = month.astimezone(location.tz).date() if isinstance(month, datetime) else month
        table[municipality][index[month_day.replace(day=1)]] += n
    return MunicipalityTable(months=months, rows=sorted(table.items()))


def waitlist_lengths(*, location: Location, service: Service | None, now: datetime) -> list[tuple[Service, int]] | None:
    """The waitlist's place on the dashboard: (service, entries waiting now) per service, from the `waitlist`
    app (waitlist.selectors.waiting_per_service, two queries), or None when that app is not installed. The
    template's "Waitlist" section (insights/_waitlist.html) shows it, with its table and CSV export."""
    if not apps.is_installed("waitlist"):
        return None
    from waitlist.selectors import waiting_per_service  # an app beside this one, not below: only if installed

    rows = waiting_per_service(location, now)
    return [(row.service, row.waiting) for row in rows if service is None or row.service.pk == service.pk]


def load_dashboard(
    *, location: Location, service: Service | None, period: Period, services: list[Service], now: datetime
) -> Dashboard:
    counts = load_counts(location=location, service=service, period=period)
    return Dashboard(
        location=location,
        service=service,
        period=period,
        counts=counts,
        rating=load_rating(location=location, service=service, period=period, sent=counts.feedback_sent),
        first_free=load_first_free(location=location, services=services, service=service, period=period),
        utilisation=load_utilisation(location=location, services=services, service=service, period=period, now=now),
        municipalities=load_municipalities(location=location, service=service, period=period),
        waitlist=waitlist_lengths(location=location, service=service, now=now),
    )
