"""Read queries for the booking pages. No writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Case, Prefetch, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from bookings import availability_sql
from bookings.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentPart,
    AppointmentStatus,
    Counter,
    EmailKind,
    Location,
    LocationService,
    OpeningHours,
    OutboxEmail,
    Person,
)
from bookings.tokens import hash_token
from services.models import Service

# A manage token is 64 hex digits (256 random bits, bookings/tokens.py); anything else cannot match.
TOKEN_LENGTH = 64
_HEX = frozenset("0123456789abcdef")


def default_location() -> Location | None:
    """Where the addresses without a location lead: EXPATDESK_DEFAULT_LOCATION (an address name) when that
    location is active, else the oldest active location — the one an installation had when its addresses
    carried no location, so an e-mailed link from then still leads there when a location is added (a new
    "Aaa Heerlen desk" must not take them over). One query."""
    active = Location.objects.filter(is_active=True)
    wanted = settings.EXPATDESK_DEFAULT_LOCATION
    if wanted:  # the named one first, else the oldest: one query either way
        active = active.annotate(_named=Case(When(slug=wanted, then=Value(0)), default=Value(1)))
        return active.order_by("_named", "pk").first()
    return active.order_by("pk").first()


def desk_location() -> Location | None:
    """The location pages without one of their own name (privacy, accessibility): the default location."""
    return default_location()


def public_locations() -> list[Location]:
    """The active locations, by name: the start page's choice."""
    return list(Location.objects.filter(is_active=True).order_by("name", "pk"))


def location_by_slug(*, slug: str) -> Location | None:
    """The location with this address name, active or not (the view says when it is inactive)."""
    return Location.objects.filter(slug=slug).first()


def offered_service(*, location: Location, code: str) -> LocationService | None:
    """The location's offer of the service with this code (with the service), or None: one plain query."""
    return availability_sql.offer_of(location_id=location.pk, code=code)


def other_locations_offering(*, location: Location, service: Service) -> list[Location]:
    """The other active locations that offer `service`: where to go instead (the "outside" page)."""
    return list(
        Location.objects.filter(is_active=True, offers__service=service).exclude(pk=location.pk).order_by("name")
    )


def opening_hours_from(*, location: Location, today: date) -> list[OpeningHours]:
    """The opening-hours rows that apply today or later (every validity period), by weekday and start."""
    return list(
        OpeningHours.objects.filter(location=location)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .order_by("weekday", "start_time", "valid_from")
    )


def _with_details(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return queryset.select_related("service", "location").prefetch_related(
        Prefetch("people", queryset=Person.objects.order_by("position"))
    )


def _appointment_for_token(*, token: str, statuses) -> Appointment | None:
    if len(token) != TOKEN_LENGTH or not set(token) <= _HEX:
        return None
    digest = hash_token(token)
    # The booking's own token (the page, the API answer), else the token of one of its e-mails' links.
    found = _with_details(Appointment.objects.filter(manage_token_hash=digest, status__in=statuses)).first()
    if found is not None:
        return found
    return _with_details(
        Appointment.objects.filter(
            # A feedback request's token opens the feedback pages only (insights), never the booking.
            pk__in=OutboxEmail.objects.filter(manage_token_hash=digest)
            .exclude(kind=EmailKind.FEEDBACK)
            .values("appointment_id")[:1],
            status__in=statuses,
        )
    ).first()


def appointment_for_token(*, token: str) -> Appointment | None:
    """The live appointment a manage token opens, or None: wrong, altered or cancelled tokens open nothing."""
    return _appointment_for_token(token=token, statuses=LIVE_STATUSES)


def manage_appointment_for_token(*, token: str) -> Appointment | None:
    """What a manage link opens: its live appointment, or its cancelled one (the page says so); None for
    wrong or altered tokens, finished appointments and erased data."""
    return _appointment_for_token(token=token, statuses=(*LIVE_STATUSES, AppointmentStatus.CANCELLED))


def live_bookings_for_email(*, email: str, now: datetime) -> list[Appointment]:
    """The booked (or checked-in) appointments with this e-mail address that have not ended, earliest first."""
    if not email:
        return []
    return list(
        Appointment.objects.select_related("service", "location")
        .filter(
            contact_email__iexact=email.strip(),
            status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
            end__gt=now,
        )
        .order_by("start", "pk")
    )


def appointment_with_details(*, appointment_id: int) -> Appointment | None:
    return _with_details(Appointment.objects.filter(pk=appointment_id)).first()


def held_appointment(*, appointment_id: int) -> Appointment | None:
    """A hold that may still be confirmed (a lapsed hold may still be free)."""
    return (
        Appointment.objects.select_related("service", "location")
        .filter(pk=appointment_id, status__in=(AppointmentStatus.HELD, AppointmentStatus.EXPIRED))
        .first()
    )


def hold_to_confirm(*, appointment_id: int) -> Appointment | None:
    """held_appointment with only what confirm_hold needs to find and lock it (its location and start): for a
    caller that shows nothing of it (/api/v1/); the action reads the row again under its locks. One plain query
    (availability_sql.first_of: building the queryset cost more than the query)."""
    found = availability_sql.first_of(Appointment, id=appointment_id)
    if found is None or found.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED):
        return None
    return found


def bookable_service(*, code: str) -> Service | None:
    """The service with this code, active or not (the view tells the person when it is inactive): one plain
    query (a hold over the API looks it up on every try)."""
    return availability_sql.first_of(Service, code=code)


def horizon_days_at(*, location: Location, service: Service) -> int:
    """How many days ahead `service` can be booked at `location` (its own horizon, else the service's)."""
    own = (
        LocationService.objects.filter(location=location, service=service)
        .values_list("booking_horizon_days", flat=True)
        .first()
    )
    return service.booking_horizon_days if own is None else own


def offers_of(*, locations: list[Location]) -> dict[int, list[LocationService]]:
    """The active services each location offers (location id → its offers with their services, in the
    catalogue's order): one query for all of them."""
    found: dict[int, list[LocationService]] = {location.pk: [] for location in locations}
    for offer in (
        LocationService.objects.select_related("service")
        .filter(location__in=[location.pk for location in locations], service__is_active=True)
        .order_by("service__display_order", "service__code")
    ):
        found[offer.location_id].append(offer)
    return found


@dataclass(frozen=True)
class VisitPartView:
    """A part of a visit as pages, e-mails and the API show it; a booking of one service is one part."""

    position: int
    service: Service
    persons: tuple[int, ...]
    start: datetime
    end: datetime
    # (person, counter id, start, end) per person served in this part; empty for a booking of one service
    seats: tuple[tuple[int, int, datetime, datetime], ...] = ()
    # The desk's progress through a visit's part (None for a booking of one service: the appointment's own)
    started_at: datetime | None = None
    done_at: datetime | None = None
    no_show_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Neither done nor a no-show yet."""
        return self.done_at is None and self.no_show_at is None


def _one_part(appointment: Appointment) -> VisitPartView:
    persons = tuple(range(1, appointment.persons + 1))
    return VisitPartView(1, appointment.service, persons, appointment.start, appointment.end)


def _part_view(part: AppointmentPart) -> VisitPartView:
    return VisitPartView(
        position=part.position,
        service=part.service,
        persons=tuple(part.persons),
        start=part.start,
        end=part.end,
        seats=tuple(
            (person, counter_id, datetime.fromisoformat(begin), datetime.fromisoformat(end))
            for person, counter_id, begin, end in part.seats
        ),
        started_at=part.started_at,
        done_at=part.done_at,
        no_show_at=part.no_show_at,
    )


def visit_parts(appointment: Appointment) -> list[VisitPartView]:
    """The appointment's parts in order (one query for a visit of several, none for a booking of one)."""
    if appointment.part_count == 1:
        return [_one_part(appointment)]
    return [
        _part_view(part)
        for part in AppointmentPart.objects.filter(appointment_id=appointment.pk).select_related("service")
    ]


def what_to_bring(services: list[Service]) -> list[str]:
    """What to bring to a visit of these services: the union of their lists (each service's text split into
    its items at line breaks and semicolons), each item once, in the services' order. Pure."""
    items: list[str] = []
    seen: set[str] = set()
    for service in services:
        for line in service.what_to_bring.replace(";", "\n").splitlines():
            item = line.strip().rstrip(".").strip()
            if item and item.casefold() not in seen:
                seen.add(item.casefold())
                items.append(item[0].upper() + item[1:])
    return items


@dataclass(frozen=True)
class PartLine:
    """A part as a page or an e-mail lists it: its service, who, when, and the counters (the desk's area)."""

    position: int
    service: Service
    persons: tuple[int, ...]
    who: tuple[str, ...]  # the persons' names once known, else "Person 2"
    start: datetime
    end: datetime
    counters: tuple[str, ...]


def visit_part_lines(appointment: Appointment, *, people: list[Person] | None = None) -> list[PartLine]:
    """The parts of a visit of several for display (visit_parts, and one query for the counters' names); an
    empty list for a booking of one service, which shows as it always has."""
    if appointment.part_count <= 1:
        return []
    parts = visit_parts(appointment)
    counter_ids = {seat[1] for part in parts for seat in part.seats}
    names_of = dict(Counter.objects.filter(pk__in=counter_ids).values_list("pk", "name"))
    by_position = {person.position: f"{person.first_name} {person.last_name}" for person in people or []}
    lines = []
    for part in parts:
        counters = tuple(sorted({names_of[seat[1]] for seat in part.seats if seat[1] in names_of}))
        lines.append(
            PartLine(
                position=part.position,
                service=part.service,
                persons=part.persons,
                who=tuple(by_position.get(n) or _("Person %(number)d") % {"number": n} for n in part.persons),
                start=part.start,
                end=part.end,
                counters=counters,
            )
        )
    return lines


def visit_parts_of(appointments: list[Appointment]) -> dict[int, list[VisitPartView]]:
    """visit_parts for many appointments at once (the desk's agenda): one query when any is a visit of
    several parts, none otherwise."""
    found: dict[int, list[VisitPartView]] = {a.pk: [] for a in appointments if a.part_count > 1}
    if found:
        for part in (
            AppointmentPart.objects.filter(appointment_id__in=list(found))
            .select_related("service")
            .order_by("appointment_id", "position")
        ):
            found[part.appointment_id].append(_part_view(part))
    return {a.pk: found[a.pk] if a.part_count > 1 else [_one_part(a)] for a in appointments}
