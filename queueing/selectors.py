"""Read queries of the queue: a counter's queue in order, the display's recent calls, the day's measures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Avg, Case, Count, IntegerField, Q, QuerySet, Value, When

from bookings.models import AppointmentStatus, Counter, Location
from queueing.models import Ticket, TicketStatus

# How many calls the waiting-room display shows.
DISPLAY_CALLS = 6


def queue_for_counter(*, counter: Counter, day: date) -> QuerySet[Ticket]:
    """Who this counter calls next, in order: tickets transferred to it first (by transfer), then the
    location's waiting tickets for the services it serves, by place in the queue (`Ticket.queue_at`,
    `queue_rank`), then by ticket (first come)."""
    return (
        Ticket.objects.filter(
            location_id=counter.location_id,
            day=day,
            status=TicketStatus.WAITING,
            appointment__status=AppointmentStatus.CHECKED_IN,
        )
        .filter(Q(counter=counter) | Q(counter__isnull=True, service__in=counter.services.values("pk")))
        .annotate(
            transferred_here=Case(When(counter=counter, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("transferred_here", "transferred_at", "queue_at", "queue_rank", "pk")
    )


def waiting_at(*, location: Location, day: date) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(location=location, day=day, status=TicketStatus.WAITING)
        .select_related("service", "counter")
        .order_by("queue_at", "queue_rank", "pk")
    )


def called_at_counter(*, counter: Counter, day: date) -> list[Ticket]:
    return list(
        Ticket.objects.filter(counter=counter, day=day, status=TicketStatus.CALLED)
        .select_related("service", "appointment")
        .order_by("-last_called_at")
    )


@dataclass(frozen=True)
class DisplayCall:
    code: str
    counter: str
    called_at: datetime


def recent_calls(*, location: Location, day: date, limit: int = DISPLAY_CALLS) -> list[DisplayCall]:
    """The tickets called last, with their counter: ticket numbers and counter names only, no names."""
    rows = (
        Ticket.objects.filter(
            location=location,
            day=day,
            last_called_at__isnull=False,
            status__in=[TicketStatus.CALLED, TicketStatus.DONE],
            counter__isnull=False,
        )
        .order_by("-last_called_at", "-pk")
        .values_list("letter", "number", "counter__name", "last_called_at")[:limit]
    )
    return [DisplayCall(code=f"{letter}{number:03d}", counter=name, called_at=at) for letter, number, name, at in rows]


@dataclass(frozen=True)
class Times:
    served: int
    average_wait_seconds: float | None
    average_service_seconds: float | None


def _times(queryset: QuerySet[Ticket]) -> Times:
    totals = queryset.aggregate(
        served=Count("pk", filter=Q(status=TicketStatus.DONE)),
        wait=Avg("wait_seconds"),
        service=Avg("service_seconds", filter=Q(status=TicketStatus.DONE)),
    )
    return Times(
        served=totals["served"], average_wait_seconds=totals["wait"], average_service_seconds=totals["service"]
    )


def day_totals(*, location: Location, day: date) -> Times:
    """The day's served count, average waiting time (check-in → first call) and service time (call → done)."""
    return _times(Ticket.objects.filter(location=location, day=day))


def times_per_service(location: Location, start: date, end: date) -> dict[int, Times]:
    """For a dashboard: per service id, over the local days start..end (both included), one query."""
    rows = (
        Ticket.objects.filter(location=location, day__gte=start, day__lte=end)
        .values("service_id")
        .annotate(
            served=Count("pk", filter=Q(status=TicketStatus.DONE)),
            wait=Avg("wait_seconds"),
            service=Avg("service_seconds", filter=Q(status=TicketStatus.DONE)),
        )
        .order_by("service_id")
    )
    return {
        row["service_id"]: Times(
            served=row["served"], average_wait_seconds=row["wait"], average_service_seconds=row["service"]
        )
        for row in rows
    }


def times_per_counter(location: Location, start: date, end: date) -> dict[int, Times]:
    """The same per counter that served (the counter of the ticket when it was done)."""
    rows = (
        Ticket.objects.filter(location=location, day__gte=start, day__lte=end, counter__isnull=False)
        .values("counter_id")
        .annotate(
            served=Count("pk", filter=Q(status=TicketStatus.DONE)),
            wait=Avg("wait_seconds"),
            service=Avg("service_seconds", filter=Q(status=TicketStatus.DONE)),
        )
        .order_by("counter_id")
    )
    return {
        row["counter_id"]: Times(
            served=row["served"], average_wait_seconds=row["wait"], average_service_seconds=row["service"]
        )
        for row in rows
    }
