"""Shared by every action: the domain error, input checks, claims, the audit trail and outbox writes."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings import abuse, fairness, hooks, outbox_kick
from bookings.actions import together
from bookings.availability import Allocation, CapacitySnapshot, UnitKey, load_snapshot
from bookings.cache import days_around
from bookings.fairness import Share
from bookings.locking import capacity_changes
from bookings.mailboxes import mailbox_key
from bookings.models import (
    INTERPRETER_LANGUAGES,
    MAX_EXTRA_UNITS,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Counter,
    CounterBlock,
    EmailKind,
    EventKind,
    Location,
    OutboxEmail,
    Person,
    SlotClaim,
)
from bookings.municipalities import canonical_municipality
from bookings.text import has_control_characters
from bookings.tokens import hash_token, new_manage_token, new_reference
from services.models import MAX_PERSONS_PER_BOOKING, Service

# How often a claim is retried with fresh data when a concurrent booking took the counter we chose
# but another counter may still be free at the same time.
CLAIM_ATTEMPTS = 3


class BookingError(Exception):
    """The one domain error: a stable `code` for programs and a translatable `message` for people."""

    SLOT_TAKEN = "slot_taken"
    CLOSED = "closed"
    TOO_MANY_PERSONS = "too_many_persons"
    TOO_FEW_PERSONS = "too_few_persons"
    OUTSIDE_HORIZON = "outside_horizon"
    TOO_SOON = "too_soon"
    IN_PAST = "in_past"
    OFF_GRID = "off_grid"
    COUNTER_INACTIVE = "counter_inactive"
    SERVICE_INACTIVE = "service_inactive"
    WRONG_LOCATION = "wrong_location"
    MUNICIPALITY_REQUIRED = "municipality_required"
    MUNICIPALITY_NOT_PARTICIPATING = "municipality_not_participating"
    NAMES_MISMATCH = "names_mismatch"
    INVALID_STATUS = "invalid_status"
    # Abuse rules (bookings/abuse.py); the IND API maps SIMILAR_APPOINTMENT_EXISTS to SIMILAR_APT_EXISTS.
    SIMILAR_APPOINTMENT_EXISTS = "similar_appointment_exists"
    COOLDOWN = "cooldown"
    TOO_MANY_HOLDS = "too_many_holds"
    # Counter time held and booked per address, mailbox or employer (bookings/fairness.py).
    FAIR_SHARE_EXCEEDED = "fair_share_exceeded"
    # A special need outside its fixed choices (extra time, an interpreter language).
    INVALID_SPECIAL_NEEDS = "invalid_special_needs"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PersonName:
    first_name: str
    last_name: str


@dataclass(frozen=True)
class BookingResult:
    appointment: Appointment
    manage_token: str
    # A booking checked in at once (a walk-in): the lines of the apps above `bookings` for the staff member
    # (the queue's "Ticket W003"), from the check-in hook (bookings/hooks.py checked_in).
    notes: tuple[str, ...] = ()


# ---- checks ---------------------------------------------------------------------------------


def _check_service_and_persons(*, service: Service, persons: int, read_flag: bool = True) -> None:
    """The service is active and takes this many persons. The flag is read from the database (the object may
    be stale, unsaved, or its row deleted) unless `read_flag` is False: a hold reads it with its location lock
    (hold_slot)."""
    if (
        not service.is_active
        or service.pk is None
        or (read_flag and not Service.objects.filter(pk=service.pk, is_active=True).exists())
    ):
        raise _service_inactive()
    if persons < 1:
        raise BookingError(BookingError.TOO_FEW_PERSONS, _("A booking is for at least one person."))
    if persons > min(service.max_persons, MAX_PERSONS_PER_BOOKING):
        raise BookingError(
            BookingError.TOO_MANY_PERSONS,
            _("This service can be booked for at most %(max)d persons at once.") % {"max": service.max_persons},
        )


def _service_inactive() -> BookingError:
    return BookingError(BookingError.SERVICE_INACTIVE, _("This service cannot be booked at the moment."))


def _check_municipality(*, service: Service, municipality: str, location: Location) -> str:
    """The municipality to store: a value of the location's fixed list in its own spelling (typed in any
    case), and only for a service that needs it; empty otherwise, whatever was given."""
    if not service.requires_municipality:
        return ""
    if not municipality.strip():
        raise BookingError(
            BookingError.MUNICIPALITY_REQUIRED,
            _("Please tell us the municipality you live in or are moving to."),
        )
    canonical = canonical_municipality(location=location, value=municipality)
    if canonical is None:
        raise BookingError(
            BookingError.MUNICIPALITY_NOT_PARTICIPATING,
            _(
                "Fast-track registration at this desk is only for residents of the participating municipalities. "
                "Please register at the town hall of your own municipality."
            ),
        )
    return canonical


def _check_start(
    *, snapshot: CapacitySnapshot, service: Service, start: datetime, now: datetime, enforce_notice: bool
) -> None:
    if start.tzinfo is None:
        raise BookingError(BookingError.OFF_GRID, _("That time is not valid."))
    if start < now:
        raise BookingError(BookingError.IN_PAST, _("That time has already passed."))
    if not snapshot.is_on_grid(start):
        raise BookingError(BookingError.OFF_GRID, _("Appointments start at fixed times; please pick one of them."))
    if enforce_notice and start < snapshot.earliest_start(service):
        raise BookingError(BookingError.TOO_SOON, _("That time is too soon to book; please pick a later time."))
    day = start.astimezone(snapshot.location.tz).date()
    if day > snapshot.latest_bookable_day(service):
        raise BookingError(
            BookingError.OUTSIDE_HORIZON,
            _("This service can be booked at most %(days)d days ahead.") % {"days": snapshot.horizon_days(service)},
        )
    intervals = snapshot.opening_intervals(day)
    if not intervals:
        raise BookingError(BookingError.CLOSED, _("The desk is closed on that day."))
    if not any(begin <= start < end for begin, end in intervals):
        raise BookingError(BookingError.CLOSED, _("The desk is not open at that time."))


def _check_aware(start: datetime) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise BookingError(BookingError.OFF_GRID, _("That time is not valid."))


def _check_counter(*, counter: Counter, location: Location, service: Service) -> None:
    if counter.location_id != location.pk:
        raise BookingError(BookingError.WRONG_LOCATION, _("That counter is at another location."))
    if not counter.is_active:
        raise BookingError(BookingError.COUNTER_INACTIVE, _("That counter is not in use."))
    if not counter.services.filter(pk=service.pk).exists():
        raise BookingError(BookingError.COUNTER_INACTIVE, _("That counter does not offer this service."))


def _check_names(*, names: Sequence[PersonName], persons: int) -> None:
    if len(names) != persons or any(not n.first_name.strip() or not n.last_name.strip() for n in names):
        raise BookingError(BookingError.NAMES_MISMATCH, _("Please give the names of every person, as on their ID."))
    # Line breaks, tabs, bidi controls and other control or format characters would change how a name
    # reads in the agenda and the official e-mail (bookings/text.py).
    if any(has_control_characters(n.first_name) or has_control_characters(n.last_name) for n in names):
        raise BookingError(
            BookingError.NAMES_MISMATCH,
            _("A name cannot contain line breaks, tabs or other invisible control characters."),
        )


def _slot_taken() -> BookingError:
    return BookingError(BookingError.SLOT_TAKEN, _("Sorry, that time has just been taken. Please pick another."))


def _check_extra_units(extra_units: object) -> int:
    """Extra time is one of the fixed choices (0 to MAX_EXTRA_UNITS grid units more per person)."""
    if type(extra_units) is not int or not 0 <= extra_units <= MAX_EXTRA_UNITS:
        raise BookingError(BookingError.INVALID_SPECIAL_NEEDS, _("Please choose the extra time from the list."))
    return extra_units


def _special_needs_columns(*, needs_wheelchair: bool, interpreter_language: str) -> dict[str, object]:
    """The appointment's columns of the special needs besides extra time; the interpreter from the fixed list."""
    if interpreter_language and interpreter_language not in dict(INTERPRETER_LANGUAGES):
        raise BookingError(
            BookingError.INVALID_SPECIAL_NEEDS, _("Please choose an interpreter language from the list.")
        )
    return {"needs_wheelchair": bool(needs_wheelchair), "interpreter_language": interpreter_language or ""}


def _does_not_fit(
    *,
    snapshot: CapacitySnapshot,
    service: Service,
    persons: int,
    start: datetime,
    counter_ids: list[int] | None,
    extra_units: int = 0,
) -> BookingError:
    """Why no allocation was found: taken by other bookings, or impossible however empty the desk is."""
    if not (counter_ids if counter_ids is not None else snapshot.counters_for(service)):
        return BookingError(BookingError.COUNTER_INACTIVE, _("This service is not offered at this desk at the moment."))
    empty_desk = replace(snapshot, taken=set())
    fits_empty = empty_desk.allocate(
        service=service, persons=persons, start=start, counter_ids=counter_ids, extra_units=extra_units
    )
    if fits_empty is None:
        return BookingError(
            BookingError.CLOSED,
            _("There is not enough time left before the desk closes at that time; please pick an earlier time."),
        )
    return _slot_taken()


def _units_fit_rules(*, snapshot: CapacitySnapshot, service: Service, units: Sequence[UnitKey]) -> bool:
    """Whether every unit lies on a counter that serves the service now, inside an opening interval."""
    if not units:
        return False
    serving = set(snapshot.counters_for(service))
    grid = timedelta(minutes=snapshot.location.grid_minutes)
    tz = snapshot.location.tz
    return all(
        counter_id in serving
        and snapshot.is_on_grid(unit)
        and any(
            begin <= unit and unit + grid <= end
            for begin, end in snapshot.opening_intervals(unit.astimezone(tz).date())
        )
        for counter_id, unit in units
    )


# ---- claims ---------------------------------------------------------------------------------


def _units_filter(units: Sequence[UnitKey]) -> Q:
    query = Q()
    for counter_id, unit_start in units:
        query |= Q(counter_id=counter_id, unit_start=unit_start)
    return query


def _insert_claims(
    *,
    appointment: Appointment,
    units: Sequence[UnitKey],
    expires_at: datetime | None,
    now: datetime,
    lapsed: Collection[UnitKey] | None = None,
) -> None:
    """Claim `units`; a unit held by anyone else raises SLOT_TAKEN and leaves no claim of this call behind.

    Lapsed holds still have rows until the sweep; they must not block a real booking, so their rows at these
    units go first. A hold being confirmed at this moment has cleared its rows' expiry under a row lock
    first: the delete waits for it and then leaves them (docs/locking.md, "Holds").

    `lapsed`: the lapsed claims the snapshot the units were chosen from saw (CapacitySnapshot.lapsed); when
    none of them is at one of the units, the delete is left out (docs/locking.md, "Claims": a lapsed claim
    that the snapshot did not see makes the insert short, and the retry's fresh snapshot sees it)."""
    if not units:
        return
    delete_lapsed = lapsed is None or any(unit in lapsed for unit in units)
    # In one order for every booking (counter, then time): two bookings that want some of the same units wait
    # for each other at the first of them, never each holding a unit the other wants (a deadlock; a visit's
    # units come part by part, person by person, in no such order).
    units = sorted(units)
    grid = timedelta(minutes=appointment.location.grid_minutes)
    if connection.vendor == "postgresql":
        _insert_claims_or_none(
            appointment=appointment,
            units=units,
            grid=grid,
            expires_at=expires_at,
            now=now,
            delete_lapsed=delete_lapsed,
        )
        return
    try:
        with transaction.atomic():
            if delete_lapsed:
                SlotClaim.objects.filter(_units_filter(units), expires_at__lte=now).delete()
            SlotClaim.objects.bulk_create(
                [
                    SlotClaim(
                        appointment=appointment, counter_id=c, unit_start=u, unit_end=u + grid, expires_at=expires_at
                    )
                    for c, u in units
                ]
            )
    except IntegrityError as error:
        raise _slot_taken() from error


def _insert_claims_or_none(
    *,
    appointment: Appointment,
    units: Sequence[UnitKey],
    grid: timedelta,
    expires_at: datetime | None,
    now: datetime,
    delete_lapsed: bool = True,
) -> None:
    """PostgreSQL: the claims in one INSERT … ON CONFLICT DO NOTHING. A unit that the unique constraint or the
    exclusion constraint on real time (migration 0006) finds taken is skipped, not an error; the row count
    says whether every unit is ours, and if one is not SLOT_TAKEN is raised: all or nothing.

    One unit needs no savepoint (two round trips fewer): a short insert of one unit inserted nothing. Several
    units go in inside a savepoint, rolled back when the insert comes up short. A short insert's rows are
    then gone at once and release whoever waits for them; deleted instead, they would stay locked by this
    transaction until it ends, and its next attempt at other counters (CLAIM_ATTEMPTS) could wait for a
    booking that waits for those rows: a deadlock (two visits met it in tests/test_visit_races.py)."""
    if delete_lapsed:
        _delete_lapsed(units=units, now=now)
    rows = ", ".join(["(%s, NULL, %s, %s, %s, %s)"] * len(units))  # placeholders only: values are parameters
    params: list[object] = []
    for counter_id, unit_start in units:
        params += [appointment.pk, counter_id, unit_start, unit_start + grid, expires_at]
    columns = '"appointment_id", "block_id", "counter_id", "unit_start", "unit_end", "expires_at"'
    sql = f'INSERT INTO "bookings_slotclaim" ({columns}) VALUES {rows} ON CONFLICT DO NOTHING RETURNING "id"'  # noqa: S608

    def insert() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if len(cursor.fetchall()) != len(units):
                raise _slot_taken()

    if len(units) == 1:
        insert()
        return
    with transaction.atomic():  # the savepoint: rolled back by SLOT_TAKEN
        insert()


def _delete_lapsed(*, units: Sequence[UnitKey], now: datetime) -> None:
    """The lapsed claims at `units` (_insert_claims)."""
    SlotClaim.objects.filter(_units_filter(units), expires_at__lte=now).delete()


def make_claims_permanent(*, appointment_id: int) -> list[UnitKey]:
    """Clear the expiry of the appointment's claims in one UPDATE … RETURNING: the units that are still its
    own (a lapsed hold's claims may have gone to another booking: docs/locking.md, "Holds")."""
    with connection.cursor() as cursor:
        cursor.execute(
            'UPDATE "bookings_slotclaim" SET "expires_at" = NULL WHERE "appointment_id" = %s '
            'RETURNING "counter_id", "unit_start"',
            [appointment_id],
        )
        rows = cursor.fetchall()
    column = SlotClaim._meta.get_field("unit_start").cached_col  # the converters take an expression, as in the ORM
    converters = column.get_db_converters(connection) + connection.ops.get_db_converters(column)  # SQLite: text
    units = []
    for counter_id, unit_start in rows:
        for converter in converters:
            unit_start = converter(unit_start, column, connection)
        units.append((counter_id, unit_start))
    return units


def _allocation_or_refusal(
    *,
    snapshot: CapacitySnapshot,
    service: Service,
    persons: int,
    start: datetime,
    now: datetime,
    enforce_notice: bool,
    counter_ids: list[int] | None,
    extra_units: int,
) -> Allocation:
    """The snapshot's allocation of the time, or the BookingError that says why there is none (a time the rules
    refuse, taken by other bookings, too little time before closing, not offered)."""
    _check_start(snapshot=snapshot, service=service, start=start, now=now, enforce_notice=enforce_notice)
    allocation = snapshot.allocate(
        service=service, persons=persons, start=start, counter_ids=counter_ids, extra_units=extra_units
    )
    if allocation is None:
        raise _does_not_fit(
            snapshot=snapshot,
            service=service,
            persons=persons,
            start=start,
            counter_ids=counter_ids,
            extra_units=extra_units,
        )
    return allocation


def _booking_allocation(
    *,
    location: Location,
    service: Service,
    persons: int,
    start: datetime,
    now: datetime,
    enforce_notice: bool,
    counter: Counter | None,
    extra_units: int,
    ignore_appointment_id: int | None = None,
) -> tuple[CapacitySnapshot, Allocation]:
    """A booking's snapshot of the start's day (the lapsed claims with the live ones) and its allocation, or
    the BookingError that says why there is none (`_allocation_or_refusal`)."""
    day = start.astimezone(location.tz).date() if start.tzinfo else start.date()
    snapshot = load_snapshot(
        location=location,
        start_date=day,
        end_date=day,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
        with_lapsed=True,
    )
    allocation = _allocation_or_refusal(
        snapshot=snapshot,
        service=service,
        persons=persons,
        start=start,
        now=now,
        enforce_notice=enforce_notice,
        counter_ids=[counter.pk] if counter else None,
        extra_units=extra_units,
    )
    return snapshot, allocation


def _allocate_and_claim(
    *,
    appointment: Appointment,
    service: Service,
    persons: int,
    start: datetime,
    now: datetime,
    enforce_notice: bool,
    counter: Counter | None,
    expires_at: datetime | None,
    keep_units: frozenset[UnitKey] = frozenset(),
) -> Allocation:
    """Find counters for the booking (with its extra time) and claim them, retrying with fresh data if another
    booking won."""
    location = appointment.location
    extra_units = appointment.extra_units
    for attempt in range(CLAIM_ATTEMPTS):
        snapshot, allocation = _booking_allocation(
            location=location,
            service=service,
            persons=persons,
            start=start,
            now=now,
            enforce_notice=enforce_notice,
            counter=counter,
            extra_units=extra_units,
            ignore_appointment_id=appointment.pk if keep_units else None,
        )
        try:
            _insert_claims(
                appointment=appointment,
                units=[unit for unit in allocation.units if unit not in keep_units],
                expires_at=expires_at,
                now=now,
                lapsed=snapshot.lapsed,
            )
        except BookingError:
            if attempt == CLAIM_ATTEMPTS - 1:
                raise
            continue
        return allocation
    raise _slot_taken()  # pragma: no cover - the loop always returns or raises


class ReferenceDrawnTwice(Exception):
    """The appointment's INSERT drew a reference another appointment has (the unique constraint said so), in a
    transaction that took no savepoint for it: the caller rolls the whole transaction back and runs it again."""


# How often a booking reference is drawn again after a collision (or a whole hold run again, hold_slot).
REFERENCE_ATTEMPTS = 5


def _create_appointment(**fields: object) -> Appointment:
    """Insert the appointment (see _create_appointment_claiming, without its claim)."""
    return _create_appointment_claiming(claim=None, **fields)[0]


def _create_appointment_claiming(
    *,
    location: Location,
    service: Service,
    start: datetime,
    persons: int,
    now: datetime,
    status: str,
    municipality: str,
    language: str,
    hold_expires_at: datetime | None = None,
    end: datetime | None = None,
    in_savepoint: bool = True,
    event_kind: str = "",
    claim: UnitKey | None,
    **columns: object,
) -> tuple[Appointment, bool]:
    """Insert the appointment (`end`: from its allocation, else the service's length for now; `columns`:
    more of its fields, so that no UPDATE has to follow), with `event_kind` its audit row.

    A reference drawn twice is caught by the unique constraint. `in_savepoint`: the INSERT goes in inside a
    savepoint, and a collision draws again; without (two round trips fewer), a collision raises
    ReferenceDrawnTwice and the caller runs its transaction again (hold_slot, whose transaction is its own).

    On PostgreSQL the appointment and its audit row are one statement (actions/together.py). `claim` (PostgreSQL
    only, `together.available()`): one unit claimed in that statement too, held until `hold_expires_at`, with ON
    CONFLICT DO NOTHING as _insert_claims_or_none claims one unit. Gives back the appointment and whether the
    claim is its own (True without `claim`): when the unit is taken, the appointment and its audit row are in,
    for the caller's retry, as when the claim is inserted on its own. The caller deletes a lapsed claim at the
    unit first (_delete_lapsed)."""
    fields = {
        "service": service,
        "location": location,
        "start": start,
        "end": end or start + service.duration,
        "persons": persons,
        "status": status,
        "municipality": municipality,
        "language": language,
        "hold_expires_at": hold_expires_at,
        "created_at": now,
        **columns,
    }

    def insert() -> tuple[Appointment, bool]:
        appointment = Appointment(reference=new_reference(short_code=location.short_code), **fields)
        if together.available() and (claim is not None or event_kind):
            return appointment, _insert_together(appointment=appointment, claim=claim, event_kind=event_kind, now=now)
        appointment.save(force_insert=True)
        if event_kind:
            _record(appointment=appointment, kind=event_kind, now=now)
        return appointment, True

    if not in_savepoint:
        try:
            return insert()
        except IntegrityError as error:  # the transaction is spoilt: only the caller's new run can go on
            if "reference" not in str(error):  # another constraint: not a matter of drawing again
                raise
            raise ReferenceDrawnTwice from error
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                return insert()
        except IntegrityError:
            continue  # a reference collision: draw another
    raise RuntimeError("Could not draw a unique booking reference.")


def _insert_together(*, appointment: Appointment, claim: UnitKey | None, event_kind: str, now: datetime) -> bool:
    """_create_appointment_claiming's INSERT with its claim (if any) and its audit row (if any) in one statement
    (PostgreSQL): they take the appointment's id from its RETURNING. Whether the claim went in (the unit was
    not taken; True without one)."""
    opts = Appointment._meta
    writes = {"held": together.insert([appointment], returning=[f.name for f in opts.db_returning_fields])}
    claimed = "1"
    if claim is not None:
        counter_id, unit_start = claim
        unit = SlotClaim(
            appointment_id=together.from_part("held"),
            counter_id=counter_id,
            unit_start=unit_start,
            unit_end=unit_start + timedelta(minutes=appointment.location.grid_minutes),
            expires_at=appointment.hold_expires_at,
        )
        writes["claim"] = together.insert([unit], returning=["id"], on_conflict_ignore=True)
        claimed = "(SELECT count(*) FROM claim)"
    if event_kind:
        event = AppointmentEvent(appointment_id=together.from_part("held"), kind=event_kind, at=now)
        writes["audit"] = together.insert([event])
    row = together.run(writes, select=f"SELECT held.*, {claimed} FROM held")  # noqa: S608 - no values in the text
    together.returned(writes["held"], row[:-1], appointment)
    return row[-1] == 1


def _issue_manage_token(appointment: Appointment) -> str:
    """A new random manage token for the booking; only its hash is kept (the caller saves it)."""
    token = new_manage_token()
    appointment.manage_token_hash = hash_token(token)
    return token


def _record(
    *, appointment: Appointment, kind: str, now: datetime, actor: AbstractBaseUser | None = None, detail: str = ""
) -> None:
    """Append to the audit trail. `detail` must never carry personal data."""
    AppointmentEvent.objects.create(appointment=appointment, kind=kind, at=now, actor=actor, detail=detail[:200])


def _save_people(*, appointment: Appointment, names: Sequence[PersonName], replace_existing: bool = True) -> None:
    """Store the persons names (`replace_existing`: instead of any the appointment has; False for a hold, which has
    none yet)."""
    if replace_existing:
        Person.objects.filter(appointment=appointment).delete()
    Person.objects.bulk_create(_people(appointment=appointment, names=names))


def _people(*, appointment: Appointment, names: Sequence[PersonName]) -> list[Person]:
    return [
        Person(appointment=appointment, position=index, first_name=n.first_name.strip(), last_name=n.last_name.strip())
        for index, n in enumerate(names, start=1)
    ]


def _finish_booking(
    *,
    appointment: Appointment,
    names: Sequence[PersonName],
    update_fields: Sequence[str],
    shares: Sequence[Share | None],
    now: datetime,
) -> None:
    """The last writes of a hold being booked, once its claims are its own for good: the names (a hold has none
    yet), the appointment's `update_fields`, the fair shares of `shares` checked with the booking counted, the
    audit row and the confirmation e-mail (sent after the commit).

    On PostgreSQL these are one statement (actions/together.py), the shares counted in it: it cannot see its
    own UPDATE, so the appointment's claims are left out of the count and its minutes added (the same sum: it
    is counted once, by its own claims, bookings/fairness.py). A refusal rolls the whole action back, as
    before. Elsewhere the ORM writes them one by one and the shares are counted after the UPDATE."""
    counted = [share for share in shares if share is not None]
    if not together.available():
        _save_people(appointment=appointment, names=names, replace_existing=False)
        appointment.save(update_fields=list(update_fields))
        fairness.check_shares(appointment=appointment, shares=counted, now=now)
        _record(appointment=appointment, kind=EventKind.BOOKED, now=now)
        _write_email(appointment=appointment, kind=EmailKind.CONFIRMATION, now=now)
        return
    writes = {
        "people": together.insert(_people(appointment=appointment, names=names)),
        "booked": together.update(appointment, update_fields),
        "audit": together.insert([AppointmentEvent(appointment=appointment, kind=EventKind.BOOKED, at=now)]),
    }
    email = None
    if appointment.contact_email:
        email = OutboxEmail(appointment=appointment, kind=EmailKind.CONFIRMATION, revision=0, created_at=now)
        writes["outbox"] = together.insert([email], returning=["id"])
    outbox = "(SELECT id FROM outbox)" if email is not None else "NULL"
    if counted:
        day_start, day_end = fairness.day_bounds(location=appointment.location, start=appointment.start)
        usage, params = fairness.usage_sql(
            shares=counted, day_start=day_start, day_end=day_end, now=now, besides_id=appointment.pk
        )
        row = together.run(writes, select=f"SELECT {outbox}, usage.* FROM ({usage}) AS usage", params=params)  # noqa: S608
    else:
        row = together.run(writes, select=f"SELECT {outbox}")
    if email is not None:
        together.returned(writes["outbox"], row[:1], email)
        _send_after_commit(email.pk)
    usages = fairness.usages_of(shares=counted, totals=fairness.usage_from_row(shares=counted, row=row[1:]))
    own = appointment.claimed_units * appointment.location.grid_minutes
    for share, usage in zip(counted, usages, strict=True):
        fairness.refuse_past_share(share=share, usage=usage, adding=own)


def _send_after_commit(email_id: int) -> None:
    """Queue the send task once the transaction that wrote the outbox row has committed.

    Robust: if the broker is down the booking still stands; the outbox sweep sends the row later. In a burst
    of commits one delayed task queues the rows of a short window (bookings/outbox_kick.py).
    """
    transaction.on_commit(lambda: outbox_kick.queue_send(email_id), robust=True)


def _write_email(*, appointment: Appointment, kind: str, now: datetime, revision: int = 0) -> OutboxEmail | None:
    """Write one outbox row inside the caller's transaction; the e-mail goes out after the commit."""
    if not appointment.contact_email:
        return None
    email = OutboxEmail.objects.create(appointment=appointment, kind=kind, revision=revision, created_at=now)
    _send_after_commit(email.pk)
    return email


def _check_customer_limits(
    *, services: Sequence[Service], email: str, now: datetime, exclude_id: int | None, locked: bool = False
) -> None:
    """One live booking per e-mail address and service (each of `services`, a visit's), and the cool-down after
    repeated cancellations, in one query (abuse.mailbox_standing). Call inside the action's transaction: it
    locks the address until the transaction ends (`locked`: the caller holds that lock already, as the
    mailbox's fair-share lock, fairness.lock_shares)."""
    if not email:
        return
    if not locked:
        abuse.lock_email(email)
    standing = abuse.mailbox_standing(services=services, email=email, now=now, exclude_id=exclude_id)
    if standing.has_live_booking:
        raise BookingError(
            BookingError.SIMILAR_APPOINTMENT_EXISTS,
            _(
                "There is already an appointment for this service with this e-mail address. To change its time, "
                "use the link in its confirmation e-mail, or find it with “Find my booking”."
            ),
        )
    if standing.cooldown_until is not None:
        raise BookingError(
            BookingError.COOLDOWN,
            _(
                "Several appointments with this e-mail address were cancelled recently, so it cannot be used for "
                "a new booking for %(hours)d hours. Please try again later, or contact the desk."
            )
            % {"hours": settings.EXPATDESK_COOLDOWN_HOURS},
        )


def _check_holds_per_client(*, client_key: str, now: datetime, locked: bool = False) -> None:
    """A bounded number of live holds per client address. Call inside the transaction (it locks the key;
    `locked`: the caller holds that lock already, as the address's fair-share lock)."""
    if not client_key:
        return
    if not locked:
        abuse.lock_client(client_key)
    _refuse_past_holds(abuse.live_holds(client_key=client_key, now=now))


def _check_owner_before_hold(
    *, owner: Share, holds_of: str, location: Location, start: datetime, minutes: int, now: datetime
) -> None:
    """Before a hold of `minutes` of counter time is written, under `owner`'s fair-share lock, in one query: the
    live holds of the address `holds_of` (empty: not counted, an owner the caller names) below the cap, and the
    owner's counter time with the hold's within its share (fairness.check_shares, counted before the write)."""
    usages, holds = fairness.owner_usage(shares=[owner], location=location, start=start, now=now, holds_of=holds_of)
    if holds_of:
        _refuse_past_holds(holds)
    fairness.refuse_past_share(share=owner, usage=usages[0], adding=minutes)


def _refuse_past_holds(holds: int) -> None:
    if holds >= settings.EXPATDESK_MAX_HOLDS_PER_IP:
        raise BookingError(
            BookingError.TOO_MANY_HOLDS,
            _(
                "Too many times are being held from your connection at the moment. Please finish or leave one "
                "of the bookings you started, or wait %(minutes)d minutes, and try again."
            )
            % {"minutes": settings.EXPATDESK_HOLD_MINUTES},
        )


def _hand_to_blocks(*, units: Sequence[UnitKey], now: datetime) -> None:
    """Units an appointment gives up on a counter that is blocked then go to the block, in the same
    transaction: a blocked counter never becomes bookable because a booking on it left."""
    if not units:
        return
    first, last = min(unit for _c, unit in units), max(unit for _c, unit in units)
    blocks = list(
        CounterBlock.objects.select_related("counter__location").filter(
            counter_id__in={counter_id for counter_id, _u in units},
            start__lt=last + timedelta(hours=1),
            end__gt=first,
        )
    )
    claims = []
    for block in blocks:
        grid = timedelta(minutes=block.counter.location.grid_minutes)
        claims += [
            SlotClaim(block=block, counter_id=counter_id, unit_start=unit, unit_end=unit + grid)
            for counter_id, unit in units
            if counter_id == block.counter_id and unit < block.end and unit + grid > block.start and unit + grid > now
        ]
    SlotClaim.objects.bulk_create(claims, ignore_conflicts=True)


# ---- the frame of a hold and of a direct booking ------------------------------------------------


def hold_expiry(now: datetime) -> datetime:
    # In UTC: ten minutes added to a local time are wall-clock minutes, an hour off on the DST night.
    return now.astimezone(UTC) + timedelta(minutes=settings.EXPATDESK_HOLD_MINUTES)


@contextmanager
def hold_transaction(
    *, location: Location, start: datetime, now: datetime, client_key: str, share: Share | None
) -> Iterator[Share | None]:
    """The durable transaction of a hold, its locks in the protocol's order (docs/locking.md): the location's
    shared lock, then the fair-share lock of the address (or of `share`, an owner the caller names), and the
    cap on the address's live holds. Yields the share the hold counts against."""
    owner = share if share is not None else fairness.address_share(client_key)
    with transaction.atomic(durable=True):
        capacity_changes(location_id=location.pk, days=days_around(start))
        fairness.lock_shares([owner])
        if share is None:
            _check_holds_per_client(client_key=client_key, now=now, locked=owner is not None)
        yield owner


@contextmanager
def booking_transaction(
    *,
    location: Location,
    start: datetime,
    client_key: str,
    share: Share | None,
    contact_email: str,
    enforce_customer_limits: bool,
) -> Iterator[tuple[Share | None, Share | None]]:
    """The durable transaction of a direct booking: the location's shared lock, then the fair-share locks of
    the owner (address or `share`) and, unless staff book past the customer limits, of the mailbox. Yields
    (owner, mailbox)."""
    owner = share if share is not None else fairness.address_share(client_key)
    mailbox = fairness.mailbox_share(contact_email) if enforce_customer_limits else None
    with transaction.atomic(durable=True):
        capacity_changes(location_id=location.pk, days=days_around(start))
        fairness.lock_shares([owner, mailbox])
        yield owner, mailbox


def booked_columns(
    *, now: datetime, contact_email: str, phone: str, booked_by, owner: Share | None, token: str
) -> dict[str, object]:
    """The columns a direct booking inserts with its appointment (its new manage token's hash among them)."""
    return {
        "booked_at": now,
        "contact_email": contact_email,
        "phone": phone,
        "booked_by": booked_by,
        "client_key": owner.key if owner is not None else "",
        "mailbox_key": mailbox_key(contact_email),
        "manage_token_hash": hash_token(token),
    }


def complete_direct_booking(
    *,
    appointment: Appointment,
    names: Sequence[PersonName],
    shares: Sequence[Share | None],
    now: datetime,
    booked_by,
    token: str,
) -> BookingResult:
    """What follows a direct booking's INSERT and claims: the names, the fair shares checked, the audit, the
    check-in hook when it is checked in at once (a walk-in), the confirmation e-mail."""
    _save_people(appointment=appointment, names=names, replace_existing=False)  # a new appointment
    fairness.check_shares(appointment=appointment, shares=list(shares), now=now)
    _record(appointment=appointment, kind=EventKind.BOOKED, now=now, actor=booked_by)
    notes: list[str] = []
    if appointment.status == AppointmentStatus.CHECKED_IN:
        _record(appointment=appointment, kind=EventKind.CHECKED_IN, now=now, actor=booked_by)
        # Checked in at once (a walk-in): the apps above hear of it in this transaction (the queue's ticket).
        notes = hooks.checked_in(appointment=appointment, now=now, actor=booked_by)
    _write_email(appointment=appointment, kind=EmailKind.CONFIRMATION, now=now)
    return BookingResult(appointment=appointment, manage_token=token, notes=tuple(notes))
