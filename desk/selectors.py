"""Read queries for the desk pages. No writes. Every function costs a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q

from bookings import moves
from bookings.availability import CapacitySnapshot, load_snapshot, public_holiday_name
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Closure,
    Counter,
    CounterBlock,
    EventKind,
    Location,
    OpeningHours,
    Person,
    SlotClaim,
)
from bookings.opening_hours import HoursChange, appointments_outside, plan_change
from bookings.selectors import VisitPartView, visit_parts, visit_parts_of
from bookings.tokens import normalise_reference
from bookings.visits import PartRequest, load_planner
from services.models import Service

# Holds that were never completed are not the desk's business.
NOT_ON_AGENDA = (AppointmentStatus.HELD, AppointmentStatus.EXPIRED)
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class DeskPart:
    """A part of a visit as the desk shows it: its service, time and progress, its persons' names and the
    names of the counters it is served at."""

    part: VisitPartView
    names: list[str]
    counters: list[str]

    @property
    def counter_label(self) -> str:
        return ", ".join(self.counters)

    @property
    def state(self) -> str:
        """ "done", "no_show", "started" or "waiting"."""
        if self.part.done_at is not None:
            return "done"
        if self.part.no_show_at is not None:
            return "no_show"
        return "started" if self.part.started_at is not None else "waiting"


@dataclass
class AgendaRow:
    appointment: Appointment
    names: list[str] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)
    # A visit of several parts: its parts in order (empty for a booking of one service).
    parts: list[DeskPart] = field(default_factory=list)

    @property
    def counter_label(self) -> str:
        return ", ".join(self.counters)


@dataclass(frozen=True)
class DayTotals:
    booked: int
    waiting: int
    arrived: int
    done: int
    no_shows: int
    cancelled: int
    free_minutes: int


@dataclass
class Agenda:
    location: Location
    day: date
    rows: list[AgendaRow]
    blocks: list[CounterBlock]
    totals: DayTotals
    closed_reason: str | None
    opening: list[tuple[datetime, datetime]]
    previous_open_day: date | None = None
    next_open_day: date | None = None
    counter: Counter | None = None  # the rows and blocks of this counter only


def location_counters(*, location: Location) -> list[Counter]:
    return list(Counter.objects.filter(location=location, is_active=True).order_by("name"))


def desk_counters(*, locations: list[Location]) -> list[Counter]:
    """The active counters of these locations, for the agenda's counter filter: one query."""
    return list(
        Counter.objects.filter(location__in=locations, is_active=True)
        .select_related("location")
        .order_by("location__name", "location_id", "name")
    )


# How far the agenda's "previous / next open day" links look.
OPEN_DAY_SEARCH_DAYS = 92


def adjacent_open_days(*, location: Location, day: date) -> tuple[date | None, date | None]:
    """The nearest day before and after `day` on which the location opens (opening hours, not closed, not
    a public holiday), within OPEN_DAY_SEARCH_DAYS: two queries."""
    first, last = day - timedelta(days=OPEN_DAY_SEARCH_DAYS), day + timedelta(days=OPEN_DAY_SEARCH_DAYS)
    hours = list(
        OpeningHours.objects.filter(location=location)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=last))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=first))
    )
    closures = list(
        Closure.objects.filter(Q(location=location) | Q(location__isnull=True)).filter(
            start_date__lte=last, end_date__gte=first
        )
    )

    def is_open(candidate: date) -> bool:
        return (
            location.is_active
            and any(row.applies_on(candidate) for row in hours)
            and not any(closure.start_date <= candidate <= closure.end_date for closure in closures)
            and public_holiday_name(candidate) is None
        )

    steps = range(1, OPEN_DAY_SEARCH_DAYS + 1)
    previous = next((day - timedelta(days=n) for n in steps if is_open(day - timedelta(days=n))), None)
    following = next((day + timedelta(days=n) for n in steps if is_open(day + timedelta(days=n))), None)
    return previous, following


def _day_range(location: Location, day: date) -> tuple[datetime, datetime]:
    tz = location.tz
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def _counters_of_finished(appointments: list[Appointment], counters: dict[int, list[str]]) -> None:
    """A booking served before the end of its time has no claims left: its counter is on its DONE event
    (bookings/actions/desk.py finish_service). One query, only when the rows have such a booking."""
    missing = [a.pk for a in appointments if a.status == AppointmentStatus.DONE and not counters[a.pk]]
    if not missing:
        return
    for appointment_id, detail in AppointmentEvent.objects.filter(
        appointment_id__in=missing, kind=EventKind.DONE
    ).values_list("appointment_id", "detail"):
        counters[appointment_id] = [name for name in detail.split(", ") if name]


def _names_and_counters(appointments: Q, ids: set[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """People's names and counter names per appointment, in two queries whatever the number of rows."""
    names: dict[int, list[str]] = defaultdict(list)
    for appointment_id, first, last in (
        Person.objects.filter(appointments)
        .order_by("appointment_id", "position")
        .values_list("appointment_id", "first_name", "last_name")
    ):
        if appointment_id in ids:
            names[appointment_id].append(f"{first} {last}".strip())
    counters: dict[int, list[str]] = defaultdict(list)
    for appointment_id, counter_name in (
        SlotClaim.objects.filter(appointments, appointment__isnull=False)
        .order_by("appointment_id", "counter__name")
        .values_list("appointment_id", "counter__name")
        .distinct()
    ):
        if appointment_id in ids and counter_name not in counters[appointment_id]:
            counters[appointment_id].append(counter_name)
    return names, counters


def desk_parts(appointments: list[Appointment], names: dict[int, list[str]]) -> dict[int, list[DeskPart]]:
    """The parts of the visits among `appointments` (booking id → its parts; none for a booking of one
    service), with their persons' names and counters' names: two queries when any is a visit, none otherwise."""
    visits = [a for a in appointments if a.part_count > 1]
    parts = visit_parts_of(visits)
    counter_ids = {seat[1] for views in parts.values() for view in views for seat in view.seats}
    counter_names = dict(Counter.objects.filter(pk__in=counter_ids).values_list("pk", "name")) if counter_ids else {}
    found: dict[int, list[DeskPart]] = {}
    for appointment_id, views in parts.items():
        people = names.get(appointment_id, [])
        found[appointment_id] = [
            DeskPart(
                part=view,
                names=[people[person - 1] for person in view.persons if 0 < person <= len(people)],
                counters=sorted({counter_names.get(seat[1], "") for seat in view.seats} - {""}),
            )
            for view in views
        ]
    return found


def free_minutes_left(*, snapshot: CapacitySnapshot, day: date) -> int:
    """Counter time still free on `day` from `now` on, in minutes, over every active counter."""
    counters = list(snapshot.counter_services)
    free_units = 0
    for begin, end in snapshot.opening_intervals(day):
        unit = snapshot.first_grid_point(max(begin, snapshot.now))
        while unit + snapshot.grid <= end:
            utc = unit.astimezone(UTC)
            free_units += sum(1 for counter_id in counters if (counter_id, utc) not in snapshot.taken)
            unit += snapshot.grid
    return free_units * snapshot.location.grid_minutes


def day_agenda(*, location: Location, day: date, now: datetime, counter: Counter | None = None) -> Agenda:
    """Everything on the desk's day at `location` (of one counter, if given): 1 + 2 + 4 (snapshot) + 1 (blocks)
    + 2 (open days around) queries, one more when a booking was served before the end of its time, and two
    more when the day has visits of several parts (their parts, their counters' names)."""
    start, end = _day_range(location, day)
    appointments = list(
        Appointment.objects.filter(location=location, start__gte=start, start__lt=end)
        .exclude(status__in=NOT_ON_AGENDA)
        .select_related("service")
        .order_by("start", "reference")
    )
    ids = {a.pk for a in appointments}
    names, counters = _names_and_counters(
        Q(appointment__location=location, appointment__start__gte=start, appointment__start__lt=end), ids
    )
    _counters_of_finished(appointments, counters)
    parts = desk_parts(appointments, names)
    rows = [
        AgendaRow(appointment=a, names=names[a.pk], counters=counters[a.pk], parts=parts.get(a.pk, []))
        for a in appointments
    ]
    snapshot = load_snapshot(location=location, start_date=day, end_date=day, now=now)
    blocks = list(
        CounterBlock.objects.filter(counter__location=location, start__lt=end, end__gt=start)
        .select_related("counter")
        .order_by("start")
    )
    statuses = [a.status for a in appointments]
    totals = DayTotals(
        booked=sum(1 for s in statuses if s != AppointmentStatus.CANCELLED),
        waiting=statuses.count(AppointmentStatus.BOOKED),
        arrived=statuses.count(AppointmentStatus.CHECKED_IN) + statuses.count(AppointmentStatus.DONE),
        done=statuses.count(AppointmentStatus.DONE),
        no_shows=statuses.count(AppointmentStatus.NO_SHOW),
        cancelled=statuses.count(AppointmentStatus.CANCELLED),
        free_minutes=free_minutes_left(snapshot=snapshot, day=day),
    )
    if counter is not None:
        # One counter's list: its bookings (a family at several counters shows on each) and its blocks.
        rows = [row for row in rows if counter.name in row.counters]
        blocks = [block for block in blocks if block.counter_id == counter.pk]
    previous_day, next_day = adjacent_open_days(location=location, day=day)
    return Agenda(
        location=location,
        day=day,
        rows=rows,
        blocks=blocks,
        totals=totals,
        closed_reason=snapshot.closure_reason(day),
        opening=snapshot.opening_intervals(day),
        previous_open_day=previous_day,
        next_open_day=next_day,
        counter=counter,
    )


def search_appointments(*, query: str, location: Location | None = None) -> list[AgendaRow]:
    """Appointments whose reference matches, or whose people's names contain every word typed."""
    query = query.strip()
    if not query:
        return []
    reference = normalise_reference(query)
    matches = Q(reference=reference) | Q(reference__icontains=query)
    words = query.split()[:4]
    name_match = Q()
    for word in words:
        name_match &= Q(people__first_name__icontains=word) | Q(people__last_name__icontains=word)
    queryset = Appointment.objects.filter(matches | name_match).exclude(status__in=NOT_ON_AGENDA)
    if location is not None:
        queryset = queryset.filter(location=location)
    ids = list(queryset.order_by("-start").values_list("pk", flat=True).distinct()[:SEARCH_LIMIT])
    appointments = list(Appointment.objects.filter(pk__in=ids).select_related("service", "location").order_by("start"))
    names, counters = _names_and_counters(Q(appointment_id__in=ids), set(ids))
    _counters_of_finished(appointments, counters)
    return [AgendaRow(appointment=a, names=names[a.pk], counters=counters[a.pk]) for a in appointments]


def appointment_by_reference(*, reference: str, location_ids: frozenset[int] | None) -> Appointment | None:
    """The booking with this reference at one of `location_ids` (None: at any location)."""
    queryset = Appointment.objects.select_related("service", "location").filter(
        reference=normalise_reference(reference)
    )
    if location_ids is not None:
        queryset = queryset.filter(location_id__in=location_ids)
    return queryset.exclude(status__in=NOT_ON_AGENDA).first()


def appointment_detail(*, appointment: Appointment) -> dict:
    """People, counters and the audit trail of one appointment, for its desk page."""
    names, counters = _names_and_counters(Q(appointment_id=appointment.pk), {appointment.pk})
    _counters_of_finished([appointment], counters)
    events = list(AppointmentEvent.objects.filter(appointment=appointment).select_related("actor").order_by("at", "pk"))
    parts = desk_parts([appointment], names)
    return {
        "names": names[appointment.pk],
        "counters": counters[appointment.pk],
        "events": events,
        "parts": parts.get(appointment.pk, []),
    }


@dataclass(frozen=True)
class MoveChoices:
    """What a desk move of one booking can go to on one day."""

    day: date
    options: list[moves.MoveOption]
    counter_names: dict[int, str]
    closed_reason: str | None
    # A visit of several parts moves whole: its arrival times, no counter to choose (the planner places it).
    is_visit: bool = False


def move_choices(*, appointment: Appointment, day: date, now: datetime) -> MoveChoices:
    """The free times (with the counters free for each) one booking can move to on `day`: seven queries."""
    return move_choices_for_many(appointments=[appointment], day=day, now=now)[appointment.pk]


def move_choices_for_many(*, appointments: list[Appointment], day: date, now: datetime) -> dict[int, MoveChoices]:
    """The same for several bookings of one location on one day (a block's page): seven queries in all."""
    if not appointments:
        return {}
    location = appointments[0].location
    view = moves.load_move_view(location=location, day=day, now=now)
    units = moves.booking_units(appointment_ids=[a.pk for a in appointments])
    reason = view.snapshot.closure_reason(day)
    found = {
        a.pk: MoveChoices(
            day=day,
            options=view.options(
                service=a.service, persons=a.persons, own_units=units[a.pk], extra_units=a.extra_units
            ),
            counter_names=view.counter_names,
            closed_reason=reason,
        )
        for a in appointments
        if a.part_count == 1
    }
    for a in appointments:
        if a.part_count > 1:
            found[a.pk] = _visit_move_choices(appointment=a, day=day, now=now, reason=reason)
    return found


def _visit_move_choices(*, appointment: Appointment, day: date, now: datetime, reason: str | None) -> MoveChoices:
    """The arrival times a visit of several parts can move to on `day`, from the visit planner as if its own
    claims were free (as the move itself plans it, bookings/actions/visits.py): five queries per visit."""
    parts = [PartRequest(view.service, view.persons) for view in visit_parts(appointment)]
    planner = load_planner(
        location=appointment.location,
        parts=parts,
        start_date=day,
        end_date=day,
        now=now,
        ignore_appointment_id=appointment.pk,
        enforce_notice=False,
    )
    tz = appointment.location.tz
    options = [
        moves.MoveOption(start=slot.start.astimezone(tz), end=slot.end.astimezone(tz), counter_ids=())
        for slot in planner.free_arrivals_on(day)
    ]
    return MoveChoices(day=day, options=options, counter_names={}, closed_reason=reason, is_visit=True)


# Walk-ins for the same names as one added this many minutes ago ask "already added?" first.
WALK_IN_DUPLICATE_MINUTES = 15


def recent_same_names(*, location: Location, names: list[tuple[str, str]], now: datetime) -> list[Appointment]:
    """Live appointments at `location` created in the last WALK_IN_DUPLICATE_MINUTES whose people have the
    same names (whatever their capitals and spaces), newest first: two queries."""
    wanted = sorted((" ".join(f.split()).casefold(), " ".join(last.split()).casefold()) for f, last in names)
    since = now - timedelta(minutes=WALK_IN_DUPLICATE_MINUTES)
    recent = list(
        Appointment.objects.filter(
            location=location,
            created_at__gte=since,
            status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.DONE],
        )
        .select_related("service", "location")
        .order_by("-created_at", "-pk")[:SEARCH_LIMIT]
    )
    people: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for appointment_id, first, last in Person.objects.filter(appointment__in=recent).values_list(
        "appointment_id", "first_name", "last_name"
    ):
        people[appointment_id].append((" ".join(first.split()).casefold(), " ".join(last.split()).casefold()))
    return [a for a in recent if sorted(people[a.pk]) == wanted]


def affected_by_block(*, block: CounterBlock) -> list[AgendaRow]:
    """Live appointments holding time on the blocked counter in the blocked period: staff must move or cancel them."""
    appointment_ids = set(
        SlotClaim.objects.filter(
            counter=block.counter,
            unit_start__lt=block.end,
            unit_start__gt=block.start - timedelta(minutes=block.counter.location.grid_minutes),
            appointment__isnull=False,
            appointment__status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.HELD],
        ).values_list("appointment_id", flat=True)
    )
    appointments = list(
        Appointment.objects.filter(pk__in=appointment_ids).select_related("service", "location").order_by("start")
    )
    names, counters = _names_and_counters(Q(appointment_id__in=appointment_ids), appointment_ids)
    return [AgendaRow(appointment=a, names=names[a.pk], counters=counters[a.pk]) for a in appointments]


def counter_block(*, block_id: int, location_ids: frozenset[int] | None) -> CounterBlock | None:
    """The block with this id on a counter of one of `location_ids` (None: at any location)."""
    queryset = CounterBlock.objects.select_related("counter__location").filter(pk=block_id)
    if location_ids is not None:
        queryset = queryset.filter(counter__location_id__in=location_ids)
    return queryset.first()


# ---- capacity preview for admins ------------------------------------------------------------

PREVIEW_DAYS = 42


@dataclass(frozen=True)
class CapacityCell:
    free: int  # free start times for one person, as the booking pages offer them
    free_after: int  # the same with the proposed closure
    booked: int


@dataclass
class CapacityDay:
    day: date
    closed_reason: str | None
    closed_after: bool
    cells: list[CapacityCell]

    @property
    def changes(self) -> bool:
        return any(cell.free != cell.free_after for cell in self.cells)


@dataclass
class CapacityPreview:
    location: Location
    services: list
    days: list[CapacityDay]
    affected: list[AgendaRow]


def capacity_preview(
    *,
    location: Location,
    now: datetime,
    closure: tuple[date, date] | None = None,
    hours_change: HoursChange | None = None,
    days: int = PREVIEW_DAYS,
) -> CapacityPreview:
    """Free start times and bookings per day and service for the next `days` days, before and after a
    proposed closure or opening-hours change, and the live appointments that change would leave outside
    opening hours. Eight queries (ten with an opening-hours change), whatever the number of days,
    services or appointments."""
    services = list(Service.objects.active().filter(counters__location=location, counters__is_active=True).distinct())
    first = now.astimezone(location.tz).date()
    last = first + timedelta(days=days - 1)
    snapshot = load_snapshot(location=location, start_date=first, end_date=last, now=now)
    after = snapshot
    if closure is not None:
        proposed = Closure(location=location, start_date=closure[0], end_date=closure[1], reason="")
        after = replace(snapshot, closures=[*snapshot.closures, proposed])
    if hours_change is not None:
        plan = plan_change(location=location, current=snapshot.opening_hours, change=hours_change)
        after = replace(snapshot, opening_hours=plan.result)
    start, _ = _day_range(location, first)
    _, end = _day_range(location, last)
    booked: dict[tuple[date, int], int] = defaultdict(int)
    for moment, service_id in Appointment.objects.filter(
        location=location,
        start__gte=start,
        start__lt=end,
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.DONE],
    ).values_list("start", "service_id"):
        booked[(moment.astimezone(location.tz).date(), service_id)] += 1
    rows = []
    for day in snapshot.days():
        cells = []
        for service in services:
            free = len(snapshot.free_slots_on(service=service, persons=1, day=day))
            free_after = free if after is snapshot else len(after.free_slots_on(service=service, persons=1, day=day))
            cells.append(CapacityCell(free=free, free_after=free_after, booked=booked[(day, service.pk)]))
        rows.append(
            CapacityDay(
                day=day,
                closed_reason=snapshot.closure_reason(day),
                closed_after=(closure is not None and closure[0] <= day <= closure[1])
                or (
                    after is not snapshot and bool(snapshot.opening_intervals(day)) and not after.opening_intervals(day)
                ),
                cells=cells,
            )
        )
    affected: list[AgendaRow] = []
    if closure is not None:
        closed_from, _ = _day_range(location, closure[0])
        _, closed_until = _day_range(location, closure[1])
        affected = _live_rows(location=location, start=closed_from, end=closed_until, now=now)
    if hours_change is not None:
        affected = _rows_outside_hours(location=location, change=hours_change, now=now)
    return CapacityPreview(location=location, services=services, days=rows, affected=affected)


def _live_rows(*, location: Location, start: datetime, end: datetime, now: datetime) -> list[AgendaRow]:
    appointments = list(
        Appointment.objects.filter(location=location, start__gte=start, start__lt=end)
        .filter(
            Q(status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN])
            | Q(status=AppointmentStatus.HELD, hold_expires_at__gt=now)
        )
        .select_related("service", "location")
        .order_by("start")
    )
    ids = {a.pk for a in appointments}
    names, counters = _names_and_counters(
        Q(appointment__location=location, appointment__start__gte=start, appointment__start__lt=end), ids
    )
    return [AgendaRow(appointment=a, names=names[a.pk], counters=counters[a.pk]) for a in appointments]


def _rows_outside_hours(*, location: Location, change: HoursChange, now: datetime) -> list[AgendaRow]:
    """The live appointments (any time ahead, not only six weeks) the change would leave outside opening hours."""
    current = list(OpeningHours.objects.filter(location=location))
    proposed = plan_change(location=location, current=current, change=change).result
    appointments = appointments_outside(location=location, current=current, proposed=proposed, now=now)
    ids = {a.pk for a in appointments}
    names, counters = _names_and_counters(Q(appointment_id__in=ids), ids)
    return [AgendaRow(appointment=a, names=names[a.pk], counters=counters[a.pk]) for a in appointments]


def opening_hours_of(*, location: Location) -> list[OpeningHours]:
    """The location's opening-hours rows, by weekday and time."""
    return list(OpeningHours.objects.filter(location=location).order_by("weekday", "start_time", "valid_from", "pk"))
