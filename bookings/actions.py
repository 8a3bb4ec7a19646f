"""Every write with side effects on bookings.

Each public action is one `transaction.atomic(durable=True)` block; it refuses bad requests with
`BookingError`, whose `code` is stable and whose `message` is translatable. The booking invariant is
enforced by the unique constraint on SlotClaim: an insert that loses a race raises IntegrityError,
which becomes `BookingError(SLOT_TAKEN)`; the Python checks before it only make the errors clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from bookings import abuse
from bookings.availability import Allocation, CapacitySnapshot, UnitKey, load_snapshot, units_per_person
from bookings.cache import availability_changed, days_around
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Counter,
    EmailKind,
    EventKind,
    Location,
    OutboxEmail,
    OutboxStatus,
    Person,
    SlotClaim,
)
from bookings.municipalities import is_participating
from bookings.tokens import hash_token, manage_token, new_reference, new_token_salt
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


# ---- checks ---------------------------------------------------------------------------------


def _check_service_and_persons(*, service: Service, persons: int) -> None:
    # Read the flag from the database: the object may be stale, unsaved, or its row deleted.
    if (
        not service.is_active
        or service.pk is None
        or not Service.objects.filter(pk=service.pk, is_active=True).exists()
    ):
        raise BookingError(BookingError.SERVICE_INACTIVE, _("This service cannot be booked at the moment."))
    if persons < 1:
        raise BookingError(BookingError.TOO_FEW_PERSONS, _("A booking is for at least one person."))
    if persons > min(service.max_persons, MAX_PERSONS_PER_BOOKING):
        raise BookingError(
            BookingError.TOO_MANY_PERSONS,
            _("This service can be booked for at most %(max)d persons at once.") % {"max": service.max_persons},
        )


def _check_municipality(*, service: Service, municipality: str) -> None:
    if not service.requires_municipality:
        return
    if not municipality:
        raise BookingError(
            BookingError.MUNICIPALITY_REQUIRED,
            _("Please tell us the municipality you live in or are moving to."),
        )
    if not is_participating(municipality):
        raise BookingError(
            BookingError.MUNICIPALITY_NOT_PARTICIPATING,
            _(
                "Fast-track registration at this desk is only for residents of the participating municipalities. "
                "Please register at the town hall of your own municipality."
            ),
        )


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
            _("This service can be booked at most %(days)d days ahead.") % {"days": service.booking_horizon_days},
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


def _slot_taken() -> BookingError:
    return BookingError(BookingError.SLOT_TAKEN, _("Sorry, that time has just been taken. Please pick another."))


def _does_not_fit(
    *, snapshot: CapacitySnapshot, service: Service, persons: int, start: datetime, counter_ids: list[int] | None
) -> BookingError:
    """Why no allocation was found: taken by other bookings, or impossible however empty the desk is."""
    if not (counter_ids if counter_ids is not None else snapshot.counters_for(service)):
        return BookingError(BookingError.COUNTER_INACTIVE, _("This service is not offered at this desk at the moment."))
    empty_desk = replace(snapshot, taken=set())
    if empty_desk.allocate(service=service, persons=persons, start=start, counter_ids=counter_ids) is None:
        return BookingError(
            BookingError.CLOSED,
            _("There is not enough time left before the desk closes at that time; please pick an earlier time."),
        )
    return _slot_taken()


# ---- claims ---------------------------------------------------------------------------------


def _units_filter(units: Sequence[UnitKey]) -> Q:
    query = Q()
    for counter_id, unit_start in units:
        query |= Q(counter_id=counter_id, unit_start=unit_start)
    return query


def _insert_claims(
    *, appointment: Appointment, units: Sequence[UnitKey], expires_at: datetime | None, now: datetime
) -> None:
    """Insert claims in a savepoint; a unit held by anyone else raises SLOT_TAKEN and leaves no trace."""
    if not units:
        return
    try:
        with transaction.atomic():
            # Expired holds still have rows until the sweep; they must not block a real booking.
            SlotClaim.objects.filter(_units_filter(units), expires_at__lte=now).delete()
            SlotClaim.objects.bulk_create(
                [
                    SlotClaim(appointment=appointment, counter_id=c, unit_start=u, expires_at=expires_at)
                    for c, u in units
                ]
            )
    except IntegrityError as error:
        raise _slot_taken() from error


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
    """Find counters for the booking and claim them, retrying with fresh data if another booking won."""
    location = appointment.location
    day = start.astimezone(location.tz).date() if start.tzinfo else start.date()
    for attempt in range(CLAIM_ATTEMPTS):
        snapshot = load_snapshot(
            location=location,
            start_date=day,
            end_date=day,
            now=now,
            ignore_appointment_id=appointment.pk if keep_units else None,
        )
        _check_start(snapshot=snapshot, service=service, start=start, now=now, enforce_notice=enforce_notice)
        counter_ids = [counter.pk] if counter else None
        allocation = snapshot.allocate(service=service, persons=persons, start=start, counter_ids=counter_ids)
        if allocation is None:
            raise _does_not_fit(
                snapshot=snapshot, service=service, persons=persons, start=start, counter_ids=counter_ids
            )
        try:
            _insert_claims(
                appointment=appointment,
                units=[unit for unit in allocation.units if unit not in keep_units],
                expires_at=expires_at,
                now=now,
            )
        except BookingError:
            if attempt == CLAIM_ATTEMPTS - 1:
                raise
            continue
        return allocation
    raise _slot_taken()  # pragma: no cover - the loop always returns or raises


def _create_appointment(
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
) -> Appointment:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Appointment.objects.create(
                    reference=new_reference(short_code=location.short_code),
                    service=service,
                    location=location,
                    start=start,
                    end=start + service.duration,  # corrected once the allocation is known
                    persons=persons,
                    status=status,
                    municipality=municipality,
                    language=language,
                    hold_expires_at=hold_expires_at,
                    created_at=now,
                )
        except IntegrityError:
            continue  # a reference collision: draw another
    raise RuntimeError("Could not draw a unique booking reference.")


def _issue_manage_token(appointment: Appointment) -> str:
    appointment.manage_token_salt = new_token_salt()
    token = manage_token(salt=appointment.manage_token_salt)
    appointment.manage_token_hash = hash_token(token)
    return token


def _record(
    *, appointment: Appointment, kind: str, now: datetime, actor: AbstractBaseUser | None = None, detail: str = ""
) -> None:
    """Append to the audit trail. `detail` must never carry personal data.

    Every change to an appointment is recorded here, so here cached free-time answers of its location
    and day are dropped too, once the transaction commits (bookings/cache.py)."""
    AppointmentEvent.objects.create(appointment=appointment, kind=kind, at=now, actor=actor, detail=detail[:200])
    availability_changed(location_id=appointment.location_id, days=days_around(appointment.start))


def _save_people(*, appointment: Appointment, names: Sequence[PersonName]) -> None:
    Person.objects.filter(appointment=appointment).delete()
    Person.objects.bulk_create(
        [
            Person(
                appointment=appointment, position=index, first_name=n.first_name.strip(), last_name=n.last_name.strip()
            )
            for index, n in enumerate(names, start=1)
        ]
    )


def _send_after_commit(email_id: int) -> None:
    """Queue the send task once the transaction that wrote the outbox row has committed.

    Robust: if the broker is down the booking still stands; the outbox sweep sends the row later.
    """
    from bookings.tasks import send_outbox_email  # the tasks module imports this one

    transaction.on_commit(lambda: send_outbox_email.delay(email_id), robust=True)


def _write_email(*, appointment: Appointment, kind: str, now: datetime, revision: int = 0) -> OutboxEmail | None:
    """Write one outbox row inside the caller's transaction; the e-mail goes out after the commit."""
    if not appointment.contact_email:
        return None
    email = OutboxEmail.objects.create(appointment=appointment, kind=kind, revision=revision, created_at=now)
    _send_after_commit(email.pk)
    return email


def _check_customer_limits(*, service: Service, email: str, now: datetime, exclude_id: int | None) -> None:
    """One live booking per e-mail address and service, and the cool-down after repeated cancellations.
    Call inside the action's transaction: it locks the address until the transaction ends."""
    if not email:
        return
    abuse.lock_email(email)
    if abuse.has_live_booking(service=service, email=email, now=now, exclude_id=exclude_id):
        raise BookingError(
            BookingError.SIMILAR_APPOINTMENT_EXISTS,
            _(
                "There is already an appointment for this service with this e-mail address. To change its time, "
                "use the link in its confirmation e-mail, or find it with “Find my booking”."
            ),
        )
    if abuse.cooldown_until(email=email, now=now) is not None:
        raise BookingError(
            BookingError.COOLDOWN,
            _(
                "Several appointments with this e-mail address were cancelled recently, so it cannot be used for "
                "a new booking for %(hours)d hours. Please try again later, or contact the desk."
            )
            % {"hours": settings.EXPATDESK_COOLDOWN_HOURS},
        )


def _check_holds_per_client(*, client_key: str, now: datetime) -> None:
    """A bounded number of live holds per client address. Call inside the transaction (it locks the key)."""
    if not client_key:
        return
    abuse.lock_client(client_key)
    if abuse.live_holds(client_key=client_key, now=now) >= settings.EXPATDESK_MAX_HOLDS_PER_IP:
        raise BookingError(
            BookingError.TOO_MANY_HOLDS,
            _(
                "Too many times are being held from your connection at the moment. Please finish or leave one "
                "of the bookings you started, or wait %(minutes)d minutes, and try again."
            )
            % {"minutes": settings.EXPATDESK_HOLD_MINUTES},
        )


# ---- actions --------------------------------------------------------------------------------


def hold_slot(
    *,
    location: Location,
    service: Service,
    start: datetime,
    persons: int,
    now: datetime,
    municipality: str = "",
    language: str = "en",
    client_key: str = "",
) -> Appointment:
    """Claim a slot for a few minutes while the person fills in their details.

    `client_key` (bookings/abuse.py client_key_for) caps the live holds of one client address at
    EXPATDESK_MAX_HOLDS_PER_IP; empty for callers that have no address (tests, commands)."""
    _check_aware(start)
    _check_service_and_persons(service=service, persons=persons)
    _check_municipality(service=service, municipality=municipality)
    # In UTC: ten minutes added to a local time are wall-clock minutes, an hour off on the DST night.
    expires_at = now.astimezone(UTC) + timedelta(minutes=settings.EXPATDESK_HOLD_MINUTES)
    with transaction.atomic(durable=True):
        _check_holds_per_client(client_key=client_key, now=now)
        appointment = _create_appointment(
            location=location,
            service=service,
            start=start,
            persons=persons,
            now=now,
            status=AppointmentStatus.HELD,
            municipality=municipality,
            language=language,
            hold_expires_at=expires_at,
        )
        allocation = _allocate_and_claim(
            appointment=appointment,
            service=service,
            persons=persons,
            start=start,
            now=now,
            enforce_notice=True,
            counter=None,
            expires_at=expires_at,
        )
        appointment.end = allocation.end
        appointment.client_key = client_key
        appointment.save(update_fields=["end", "client_key"])
        _record(appointment=appointment, kind=EventKind.HELD, now=now)
    return appointment


def confirm_hold(
    *,
    appointment: Appointment,
    names: Sequence[PersonName],
    contact_email: str,
    phone: str = "",
    language: str = "en",
    now: datetime,
) -> BookingResult:
    """Turn a hold into a booking. A lapsed hold still succeeds if nobody took its slot meanwhile."""
    with transaction.atomic(durable=True):
        # of=("self",): lock only the appointment row. A plain FOR UPDATE over the join also locks the
        # location and service rows, which every concurrent booking's (deferred) foreign-key check needs
        # at commit: a booking that had already claimed our target unit then deadlocked with us on
        # PostgreSQL (OperationalError, a 500) — found by tests/test_concurrency.py.
        locked = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("service", "location")
            .get(pk=appointment.pk)
        )
        if locked.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED):
            raise BookingError(BookingError.INVALID_STATUS, _("This booking has already been completed or cancelled."))
        _check_names(names=names, persons=locked.persons)
        _check_customer_limits(service=locked.service, email=contact_email, now=now, exclude_id=locked.pk)
        claims = SlotClaim.objects.filter(appointment=locked)
        if locked.status == AppointmentStatus.HELD and locked.hold_expires_at and locked.hold_expires_at > now:
            claims.update(expires_at=None)
        else:
            # The hold lapsed. Its claims are still ours if nobody needed their units meanwhile (a
            # booking deletes expired claims only where it inserts its own); otherwise claim afresh.
            kept = claims.update(expires_at=None)
            if kept < locked.persons * units_per_person(location=locked.location, service=locked.service):
                claims.delete()
                allocation = _allocate_and_claim(
                    appointment=locked,
                    service=locked.service,
                    persons=locked.persons,
                    start=locked.start,
                    now=now,
                    enforce_notice=False,
                    counter=None,
                    expires_at=None,
                )
                locked.end = allocation.end
        _save_people(appointment=locked, names=names)
        token = _issue_manage_token(locked)
        locked.status = AppointmentStatus.BOOKED
        locked.booked_at = now
        locked.hold_expires_at = None
        locked.contact_email = contact_email
        locked.phone = phone
        locked.language = language
        locked.client_key = ""  # only holds count per address
        locked.save(
            update_fields=[
                "status",
                "booked_at",
                "hold_expires_at",
                "contact_email",
                "phone",
                "language",
                "end",
                "manage_token_salt",
                "manage_token_hash",
                "client_key",
            ]
        )
        _record(appointment=locked, kind=EventKind.BOOKED, now=now)
        _write_email(appointment=locked, kind=EmailKind.CONFIRMATION, now=now)
    return BookingResult(appointment=locked, manage_token=token)


def book_appointment(
    *,
    location: Location,
    service: Service,
    start: datetime,
    names: Sequence[PersonName],
    contact_email: str = "",
    phone: str = "",
    language: str = "en",
    municipality: str = "",
    now: datetime,
    counter: Counter | None = None,
    booked_by: AbstractBaseUser | None = None,
    enforce_notice: bool = False,
    enforce_customer_limits: bool = True,
) -> BookingResult:
    """Book directly, without a hold: for desk staff, who may book at short notice and on a chosen counter.

    `enforce_customer_limits=False` lets staff book past the one-live-booking-per-e-mail rule and the
    cool-down (e.g. a walk-in, or a second appointment the desk agreed to)."""
    persons = len(names)
    _check_aware(start)
    _check_service_and_persons(service=service, persons=persons)
    _check_names(names=names, persons=persons)
    _check_municipality(service=service, municipality=municipality)
    if counter is not None:
        _check_counter(counter=counter, location=location, service=service)
    with transaction.atomic(durable=True):
        if enforce_customer_limits:
            _check_customer_limits(service=service, email=contact_email, now=now, exclude_id=None)
        appointment = _create_appointment(
            location=location,
            service=service,
            start=start,
            persons=persons,
            now=now,
            status=AppointmentStatus.BOOKED,
            municipality=municipality,
            language=language,
        )
        allocation = _allocate_and_claim(
            appointment=appointment,
            service=service,
            persons=persons,
            start=start,
            now=now,
            enforce_notice=enforce_notice,
            counter=counter,
            expires_at=None,
        )
        _save_people(appointment=appointment, names=names)
        token = _issue_manage_token(appointment)
        appointment.end = allocation.end
        appointment.booked_at = now
        appointment.contact_email = contact_email
        appointment.phone = phone
        appointment.booked_by = booked_by
        appointment.save(
            update_fields=[
                "end",
                "booked_at",
                "contact_email",
                "phone",
                "booked_by",
                "manage_token_salt",
                "manage_token_hash",
            ]
        )
        _record(appointment=appointment, kind=EventKind.BOOKED, now=now, actor=booked_by)
        _write_email(appointment=appointment, kind=EmailKind.CONFIRMATION, now=now)
    return BookingResult(appointment=appointment, manage_token=token)


def cancel_appointment(
    *, appointment: Appointment, now: datetime, reason: str = "", actor: AbstractBaseUser | None = None
) -> Appointment:
    """Cancel a held or booked appointment and free its counters in the same transaction."""
    with transaction.atomic(durable=True):
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status not in (AppointmentStatus.HELD, AppointmentStatus.BOOKED):
            raise BookingError(BookingError.INVALID_STATUS, _("This appointment can no longer be cancelled."))
        was_booked = locked.status == AppointmentStatus.BOOKED
        released = list(SlotClaim.objects.filter(appointment=locked).values_list("counter_id", "unit_start"))
        SlotClaim.objects.filter(appointment=locked).delete()
        _hand_to_blocks(units=released, now=now)  # time on a blocked counter stays blocked
        locked.status = AppointmentStatus.CANCELLED
        locked.cancelled_at = now
        locked.cancel_reason = reason[:200]
        locked.hold_expires_at = None
        locked.client_key = ""
        locked.sequence += 1
        locked.save(
            update_fields=["status", "cancelled_at", "cancel_reason", "hold_expires_at", "sequence", "client_key"]
        )
        _record(appointment=locked, kind=EventKind.CANCELLED, now=now, actor=actor, detail=locked.cancel_reason)
        if was_booked:
            _write_email(appointment=locked, kind=EmailKind.CANCELLATION, now=now)
    return locked


def reschedule_appointment(
    *,
    appointment: Appointment,
    new_start: datetime,
    now: datetime,
    counter: Counter | None = None,
    enforce_notice: bool = True,
    actor: AbstractBaseUser | None = None,
) -> Appointment:
    """Move a booking. The new slot is claimed before the old one is released; if the new slot is
    gone, BookingError(SLOT_TAKEN) is raised and the booking keeps its old slot untouched."""
    with transaction.atomic(durable=True):
        # of=("self",): lock only the appointment row. A plain FOR UPDATE over the join also locks the
        # location and service rows, which every concurrent booking's (deferred) foreign-key check needs
        # at commit: a booking that had already claimed our target unit then deadlocked with us on
        # PostgreSQL (OperationalError, a 500) — found by tests/test_concurrency.py.
        locked = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("service", "location")
            .get(pk=appointment.pk)
        )
        if locked.status != AppointmentStatus.BOOKED:
            raise BookingError(BookingError.INVALID_STATUS, _("Only a booked appointment can be moved."))
        if counter is not None:
            _check_counter(counter=counter, location=locked.location, service=locked.service)
        old_units = frozenset(
            (counter_id, unit)
            for counter_id, unit in SlotClaim.objects.filter(appointment=locked).values_list("counter_id", "unit_start")
        )
        allocation = _allocate_and_claim(
            appointment=locked,
            service=locked.service,
            persons=locked.persons,
            start=new_start,
            now=now,
            enforce_notice=enforce_notice,
            counter=counter,
            expires_at=None,
            keep_units=old_units,
        )
        released = old_units - frozenset(allocation.units)
        if released:
            SlotClaim.objects.filter(_units_filter(list(released)), appointment=locked).delete()
            _hand_to_blocks(units=list(released), now=now)  # time on a blocked counter stays blocked
        old_start = locked.start
        availability_changed(location_id=locked.location_id, days=days_around(old_start))
        locked.start = allocation.start
        locked.end = allocation.end
        locked.sequence += 1
        locked.save(update_fields=["start", "end", "sequence"])
        _record(
            appointment=locked,
            kind=EventKind.RESCHEDULED,
            now=now,
            actor=actor,
            detail=f"{old_start.isoformat()} → {locked.start.isoformat()}",
        )
        _write_email(appointment=locked, kind=EmailKind.RESCHEDULE, revision=locked.sequence, now=now)
    return locked


def expire_holds(*, now: datetime) -> int:
    """Release the claims of lapsed holds and mark them expired; returns how many lapsed."""
    with transaction.atomic(durable=True):
        rows = list(
            Appointment.objects.select_for_update(skip_locked=True)
            .filter(status=AppointmentStatus.HELD, hold_expires_at__lte=now)
            .values_list("pk", "location_id", "start")
        )
        if not rows:
            return 0
        lapsed = [pk for pk, _location_id, _start in rows]
        for _pk, location_id, start in rows:
            availability_changed(location_id=location_id, days=days_around(start))
        SlotClaim.objects.filter(appointment_id__in=lapsed, expires_at__lte=now).delete()
        Appointment.objects.filter(pk__in=lapsed).update(status=AppointmentStatus.EXPIRED, client_key="")
    return len(lapsed)


# ---- e-mail outbox --------------------------------------------------------------------------

# "Find my booking" sends the manage link at most once in this interval, however often it is asked.
MANAGE_LINK_RESEND_INTERVAL = timedelta(minutes=5)


def _outbox_stale_after() -> timedelta:
    """A row claimed this long ago without an outcome belongs to a worker that died: it may be claimed
    again (EXPATDESK_OUTBOX_STALE_SECONDS)."""
    return timedelta(seconds=settings.EXPATDESK_OUTBOX_STALE_SECONDS)


def _outbox_requeue_after() -> timedelta:
    """A pending row this old whose task has not run (Redis or the worker was down) is queued again
    (EXPATDESK_OUTBOX_REQUEUE_SECONDS)."""
    return timedelta(seconds=settings.EXPATDESK_OUTBOX_REQUEUE_SECONDS)


# Hard cap over every path (retries and re-claims of stale rows): a row is never tried more often.
OUTBOX_MAX_ATTEMPTS = 10


def resend_manage_link(*, appointment: Appointment, now: datetime) -> OutboxEmail | None:
    """Send the manage link again ("find my booking"). Each resend is a new revision of the
    MANAGE_LINK kind, so the unique constraint still makes every send happen once. Returns None
    (and sends nothing) for a booking that is not live or has no e-mail, or when the link was sent
    moments ago; the caller answers the same either way."""
    with transaction.atomic(durable=True):
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN) or not locked.contact_email:
            return None
        last = OutboxEmail.objects.filter(appointment=locked, kind=EmailKind.MANAGE_LINK).order_by("-revision").first()
        if last is not None and last.created_at > now - MANAGE_LINK_RESEND_INTERVAL:
            return None
        return _write_email(
            appointment=locked,
            kind=EmailKind.MANAGE_LINK,
            revision=(last.revision + 1) if last else 1,
            now=now,
        )


def queue_due_reminders(*, now: datetime) -> int:
    """Write a REMINDER row for every booking starting within EXPATDESK_REMINDER_HOURS that has none.

    Unique per appointment (revision 0): however often the scan runs, a booking gets one reminder.
    A booking made inside the window gets none: its confirmation has just told the same. Returns the
    number of reminders queued.
    """
    window = timedelta(hours=settings.EXPATDESK_REMINDER_HOURS)
    with transaction.atomic(durable=True):
        due = list(
            Appointment.objects.filter(
                status=AppointmentStatus.BOOKED,
                start__gt=now,
                start__lte=now + window,
                booked_at__lt=F("start") - window,
            )
            .exclude(contact_email="")
            .exclude(Exists(OutboxEmail.objects.filter(appointment=OuterRef("pk"), kind=EmailKind.REMINDER)))
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        # A scan running at the same moment may have written some of them: the constraint keeps one.
        OutboxEmail.objects.bulk_create(
            [OutboxEmail(appointment_id=pk, kind=EmailKind.REMINDER, revision=0, created_at=now) for pk in due],
            ignore_conflicts=True,
        )
        queued = list(
            OutboxEmail.objects.filter(
                appointment_id__in=due, kind=EmailKind.REMINDER, created_at=now, status=OutboxStatus.PENDING
            ).values_list("pk", flat=True)
        )
        for email_id in queued:
            _send_after_commit(email_id)
    return len(queued)


def claim_outbox_email(*, email_id: int, now: datetime) -> OutboxEmail | None:
    """Claim a row for sending: pending, or 'sending' but abandoned. One UPDATE, so of two workers
    holding the same id only one gets it; the other gets None and sends nothing."""
    with transaction.atomic(durable=True):
        claimed = (
            OutboxEmail.objects.filter(pk=email_id, attempts__lt=OUTBOX_MAX_ATTEMPTS)
            .filter(
                Q(status=OutboxStatus.PENDING)
                | Q(status=OutboxStatus.SENDING, claimed_at__lt=now - _outbox_stale_after())
            )
            .update(status=OutboxStatus.SENDING, claimed_at=now, next_attempt_at=None, attempts=F("attempts") + 1)
        )
        if not claimed:
            return None
        return OutboxEmail.objects.select_related("appointment__service", "appointment__location").get(pk=email_id)


def finish_outbox_email(
    *, email: OutboxEmail, status: str, now: datetime, error: str = "", retry_at: datetime | None = None
) -> bool:
    """Record the outcome of a claimed send: SENT, SKIPPED, FAILED, or PENDING again with `retry_at`.

    Only the claimer may record it (the row must still carry its claim). `error` must never hold
    personal data: the exception's class and SMTP code, not its message. Returns whether it was recorded.
    """
    fields: dict = {"status": status, "next_attempt_at": retry_at}
    if status == OutboxStatus.SENT:
        fields["sent_at"] = now
        fields["last_error"] = ""
    elif error:
        fields["last_error"] = error[:300]
    with transaction.atomic(durable=True):
        return bool(
            OutboxEmail.objects.filter(pk=email.pk, status=OutboxStatus.SENDING, claimed_at=email.claimed_at).update(
                **fields
            )
        )


def requeue_outbox(*, now: datetime, limit: int = 500) -> int:
    """Queue the send task again for rows whose task was lost: pending for over a minute (and not
    waiting for a retry), or claimed by a worker that died. No database writes: the task claims."""
    from bookings.tasks import send_outbox_email

    lost = OutboxEmail.objects.filter(attempts__lt=OUTBOX_MAX_ATTEMPTS).filter(
        Q(
            status=OutboxStatus.PENDING,
            created_at__lte=now - _outbox_requeue_after(),
        )
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - _outbox_requeue_after()))
        | Q(status=OutboxStatus.SENDING, claimed_at__lt=now - _outbox_stale_after())
    )
    ids = list(lost.order_by("pk").values_list("pk", flat=True)[:limit])
    for email_id in ids:
        send_outbox_email.delay(email_id)
    return len(ids)


# ---- desk actions: what staff do during the day (issue 4) -----------------------------------
# Imports for this section only, so the top of the module stays as other changes left it.
from datetime import UTC as _UTC  # noqa: E402
from datetime import date  # noqa: E402

from django.utils.translation import ngettext  # noqa: E402

from bookings.models import Closure, CounterBlock  # noqa: E402

# Error codes of the desk actions (BookingError.code).
NOT_TODAY = "not_today"
TOO_EARLY = "too_early"
NO_CAPACITY = "no_capacity"
REASON_REQUIRED = "reason_required"
INVALID_PERIOD = "invalid_period"
# How many walk-in starts are tried when other bookings take the chosen one meanwhile.
WALK_IN_ATTEMPTS = 3
# The longest a counter can be blocked in one go.
MAX_BLOCK_DAYS = 62


def _lock_for_desk(appointment: Appointment) -> Appointment:
    # Lock the appointment row only, not the joined location (see confirm_hold on deadlocks).
    return Appointment.objects.select_for_update(of=("self",)).select_related("location").get(pk=appointment.pk)


def _refuse_status(appointment: Appointment) -> BookingError:
    messages = {
        AppointmentStatus.CANCELLED: _("This booking was cancelled."),
        AppointmentStatus.NO_SHOW: _("This booking was marked as a no-show."),
        AppointmentStatus.DONE: _("This appointment is already done."),
        AppointmentStatus.CHECKED_IN: _("This person is already checked in."),
        AppointmentStatus.HELD: _("This booking was never completed."),
        AppointmentStatus.EXPIRED: _("This booking was never completed."),
        AppointmentStatus.BOOKED: _("This person has not been checked in yet."),
    }
    return BookingError(BookingError.INVALID_STATUS, messages.get(appointment.status, _("Not possible now.")))


def _release_from(*, appointment: Appointment, now: datetime) -> None:
    """Free the appointment's counter time from now on, for walk-ins; the past claims stay as a record."""
    released = SlotClaim.objects.filter(appointment=appointment, unit_start__gte=now)
    units = list(released.values_list("counter_id", "unit_start"))
    released.delete()
    _hand_to_blocks(units=units, now=now)


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
            SlotClaim(block=block, counter_id=counter_id, unit_start=unit)
            for counter_id, unit in units
            if counter_id == block.counter_id and unit < block.end and unit + grid > block.start and unit + grid > now
        ]
    SlotClaim.objects.bulk_create(claims, ignore_conflicts=True)


def check_in(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """The person has arrived: only a booking for today that is still booked."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        if locked.status != AppointmentStatus.BOOKED:
            raise _refuse_status(locked)
        tz = locked.location.tz
        if locked.start.astimezone(tz).date() != now.astimezone(tz).date():
            raise BookingError(
                NOT_TODAY,
                _("This booking is for %(day)s, not today.")
                % {"day": locked.start.astimezone(tz).strftime("%d-%m-%Y")},
            )
        locked.status = AppointmentStatus.CHECKED_IN
        locked.checked_in_at = now
        locked.save(update_fields=["status", "checked_in_at"])
        _record(appointment=locked, kind=EventKind.CHECKED_IN, now=now, actor=actor)
    return locked


def start_service(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """A staff member calls the person to the counter."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        if locked.status != AppointmentStatus.CHECKED_IN:
            raise _refuse_status(locked)
        if locked.started_at is not None:
            raise BookingError(BookingError.INVALID_STATUS, _("This appointment has already started."))
        locked.started_at = now
        locked.save(update_fields=["started_at"])
        _record(appointment=locked, kind=EventKind.STARTED, now=now, actor=actor)
    return locked


def finish_service(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """Done: the counter time left over is free again for walk-ins."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        if locked.status != AppointmentStatus.CHECKED_IN:
            raise _refuse_status(locked)
        locked.status = AppointmentStatus.DONE
        locked.done_at = now
        if locked.started_at is None:
            locked.started_at = now
        locked.save(update_fields=["status", "done_at", "started_at"])
        _release_from(appointment=locked, now=now)
        _record(appointment=locked, kind=EventKind.DONE, now=now, actor=actor)
    return locked


def mark_no_show(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """The person did not come: only once the start time has passed. Frees the rest of their counter time."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        if locked.status != AppointmentStatus.BOOKED:
            raise _refuse_status(locked)
        if now < locked.start:
            raise BookingError(
                TOO_EARLY,
                _("A no-show can only be marked after the start time (%(time)s).")
                % {"time": locked.start.astimezone(locked.location.tz).strftime("%H:%M")},
            )
        locked.status = AppointmentStatus.NO_SHOW
        locked.no_show_at = now
        locked.save(update_fields=["status", "no_show_at"])
        _release_from(appointment=locked, now=now)
        _record(appointment=locked, kind=EventKind.NO_SHOW, now=now, actor=actor)
    return locked


def staff_cancel_appointment(
    *, appointment: Appointment, reason: str, now: datetime, actor: AbstractBaseUser | None
) -> Appointment:
    """Cancel on the person's behalf, with a reason; they get the cancellation e-mail as usual."""
    reason = " ".join(reason.split())
    if not reason:
        raise BookingError(REASON_REQUIRED, _("Please give a reason for the cancellation."))
    return cancel_appointment(appointment=appointment, now=now, reason=reason, actor=actor)


def move_appointment(
    *,
    appointment: Appointment,
    new_start: datetime,
    now: datetime,
    actor: AbstractBaseUser | None,
    counter: Counter | None = None,
) -> Appointment:
    """Move a booking to another time and/or counter at staff's request (no minimum notice)."""
    return reschedule_appointment(
        appointment=appointment, new_start=new_start, now=now, counter=counter, enforce_notice=False, actor=actor
    )


def walk_in(
    *,
    location: Location,
    service: Service,
    names: Sequence[PersonName],
    now: datetime,
    actor: AbstractBaseUser | None,
    contact_email: str = "",
    phone: str = "",
    municipality: str = "",
    language: str = "en",
) -> BookingResult:
    """Book someone at the desk into the first free time from now, today, and check them in."""
    _check_service_and_persons(service=service, persons=len(names))
    _check_names(names=names, persons=len(names))
    _check_municipality(service=service, municipality=municipality)
    today = now.astimezone(location.tz).date()
    for _attempt in range(WALK_IN_ATTEMPTS):
        snapshot = load_snapshot(location=location, start_date=today, end_date=today, now=now)
        start = _first_fit_from(snapshot=snapshot, service=service, persons=len(names), now=now)
        if start is None:
            raise BookingError(
                NO_CAPACITY,
                _("There is no free counter time left today for this service and number of persons."),
            )
        try:
            result = book_appointment(
                location=location,
                service=service,
                start=start,
                names=names,
                contact_email=contact_email,
                phone=phone,
                language=language,
                municipality=municipality,
                now=now,
                booked_by=actor,
                enforce_notice=False,
                enforce_customer_limits=False,  # staff decide at the desk
            )
        except BookingError as error:
            if error.code == BookingError.SLOT_TAKEN:
                continue  # someone took it meanwhile: look again
            raise
        appointment = check_in(appointment=result.appointment, now=now, actor=actor)
        return BookingResult(appointment=appointment, manage_token=result.manage_token)
    raise _slot_taken()


def _first_fit_from(*, snapshot: CapacitySnapshot, service: Service, persons: int, now: datetime) -> datetime | None:
    for begin, end in snapshot.opening_intervals(snapshot.local_today()):
        start = snapshot.first_grid_point(max(begin, now))
        while start < end:
            if snapshot.allocate(service=service, persons=persons, start=start) is not None:
                return start
            start += snapshot.grid
    return None


def _block_units(*, block: CounterBlock, snapshot: CapacitySnapshot) -> list[datetime]:
    """The grid units of the block's period in which the desk is open, as UTC datetimes."""
    units: list[datetime] = []
    for day in snapshot.days():
        for begin, end in snapshot.opening_intervals(day):
            unit = snapshot.first_grid_point(begin)
            while unit + snapshot.grid <= end:
                # Every unit that overlaps the period, including one the block starts in the middle of.
                if unit < block.end and unit + snapshot.grid > block.start:
                    units.append(unit.astimezone(_UTC))
                unit += snapshot.grid
    return units


def _claim_block_units(*, block: CounterBlock, now: datetime) -> None:
    """Claim every open unit of the block that no appointment holds; units held stay with their booking."""
    location = block.counter.location
    tz = location.tz
    first_day, last_day = block.start.astimezone(tz).date(), block.end.astimezone(tz).date()
    snapshot = load_snapshot(location=location, start_date=first_day, end_date=last_day, now=now)
    units = [unit for unit in _block_units(block=block, snapshot=snapshot) if unit + snapshot.grid > now]
    if not units:
        return
    SlotClaim.objects.filter(counter=block.counter, unit_start__in=units, expires_at__lte=now).delete()
    # A unit an appointment holds (now, or by a race a moment ago) is skipped, not taken from it: the
    # block page lists those appointments for staff to move or cancel.
    SlotClaim.objects.bulk_create(
        [SlotClaim(block=block, counter=block.counter, unit_start=unit) for unit in units], ignore_conflicts=True
    )


def block_counter(
    *, counter: Counter, start: datetime, end: datetime, reason: str, now: datetime, actor: AbstractBaseUser | None
) -> CounterBlock:
    """Take a counter out of service for a period. Appointments already on it keep their time until
    staff move or cancel them (see desk.selectors.affected_by_block); none is dropped silently."""
    reason = " ".join(reason.split())
    if not reason:
        raise BookingError(REASON_REQUIRED, _("Please give a reason for blocking the counter."))
    if start.tzinfo is None or end.tzinfo is None or not start < end:
        raise BookingError(INVALID_PERIOD, _("The block must end after it starts."))
    if end <= now:
        raise BookingError(INVALID_PERIOD, _("That period is already over."))
    if end - start > timedelta(days=MAX_BLOCK_DAYS):
        raise BookingError(
            INVALID_PERIOD, _("A counter can be blocked for at most %(days)d days at once.") % {"days": MAX_BLOCK_DAYS}
        )
    if not counter.is_active:
        raise BookingError(BookingError.COUNTER_INACTIVE, _("That counter is not in use."))
    with transaction.atomic(durable=True):
        block = CounterBlock.objects.create(
            counter=counter, start=start, end=end, reason=reason[:200], created_at=now, created_by=actor
        )
        availability_changed(location_id=counter.location_id, days=None)
        _claim_block_units(block=block, now=now)
    return block


def end_counter_block(*, block: CounterBlock) -> None:
    """Put the counter back in service: its block and the block's claims go."""
    with transaction.atomic(durable=True):
        CounterBlock.objects.filter(pk=block.pk).delete()
        availability_changed(location_id=block.counter.location_id, days=None)


APPOINTMENTS_IN_CLOSURE = "appointments_in_closure"


def add_closure(
    *,
    location: Location,
    start_date: date,
    end_date: date,
    reason: str,
    now: datetime,
    actor: AbstractBaseUser | None = None,
) -> Closure:
    """Close a location on some days. Refused while live appointments fall on them: staff move or cancel
    those first (the capacity preview lists them), so no booking is left outside opening hours."""
    reason = " ".join(reason.split())
    if not reason:
        raise BookingError(REASON_REQUIRED, _("Please give a reason for the closure."))
    if end_date < start_date:
        raise BookingError(INVALID_PERIOD, _("The last closed day cannot be before the first."))
    with transaction.atomic(durable=True):
        # One closure change per location at a time.
        Location.objects.select_for_update().filter(pk=location.pk).first()
        tz = location.tz
        live = (
            Appointment.objects.filter(
                location=location,
                start__gte=datetime.combine(start_date, datetime.min.time(), tzinfo=tz),
                start__lt=datetime.combine(end_date + timedelta(days=1), datetime.min.time(), tzinfo=tz),
            )
            .filter(
                Q(status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN])
                | Q(status=AppointmentStatus.HELD, hold_expires_at__gt=now)
            )
            .count()
        )
        if live:
            raise BookingError(
                APPOINTMENTS_IN_CLOSURE,
                ngettext(
                    "%(count)d appointment falls on these days. Move or cancel it first.",
                    "%(count)d appointments fall on these days. Move or cancel them first.",
                    live,
                )
                % {"count": live},
            )
        availability_changed(location_id=location.pk, days=None)
        return Closure.objects.create(location=location, start_date=start_date, end_date=end_date, reason=reason[:200])


# ---- privacy: anonymise after the appointment, export or erase on request (issue 5) -----------
# Imports for this section only, so the top of the module stays as other changes left it.
from django.contrib.sessions.models import Session  # noqa: E402

# Error codes of the privacy actions (BookingError.code).
EMAIL_REQUIRED = "email_required"
# The most appointments one anonymisation run takes in one transaction; the task runs until done.
ANONYMISE_BATCH = 500
# AppointmentEvent.detail of the erasure's own cancellations (no personal data).
ERASURE_DETAIL = "erasure on request"


def _erase(*, appointment_ids: Sequence[int], now: datetime, actor: AbstractBaseUser | None, detail: str) -> None:
    """Erase the personal data of these (locked) appointments; keep what statistics need.

    Erased: the people's names (Person rows deleted), e-mail, phone, the manage link (salt and hash:
    the link stops working), a hold's client-address key, the cancellation reason and event details
    (free text staff may have typed), and the outbox's error texts; e-mails not yet sent are skipped.
    Kept: reference, service, location, times, number of persons, language, municipality (one of the 17
    participating municipalities, the figure the municipalities fund the desk by; on its own it
    identifies nobody), status and timestamps.
    """
    Person.objects.filter(appointment_id__in=appointment_ids).delete()
    Appointment.objects.filter(pk__in=appointment_ids).update(
        contact_email="", phone="", manage_token_salt="", manage_token_hash="", cancel_reason="", client_key=""
    )
    AppointmentEvent.objects.filter(appointment_id__in=appointment_ids).exclude(detail="").update(detail="")
    OutboxEmail.objects.filter(appointment_id__in=appointment_ids).exclude(last_error="").update(last_error="")
    OutboxEmail.objects.filter(
        appointment_id__in=appointment_ids, status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]
    ).update(status=OutboxStatus.SKIPPED, next_attempt_at=None)
    AppointmentEvent.objects.bulk_create(
        [
            AppointmentEvent(appointment_id=pk, kind=EventKind.ANONYMISED, at=now, actor=actor, detail=detail)
            for pk in appointment_ids
        ]
    )


def _not_anonymised() -> Q:
    return ~Q(Exists(AppointmentEvent.objects.filter(appointment=OuterRef("pk"), kind=EventKind.ANONYMISED)))


def anonymise_past_appointments(*, now: datetime, limit: int = ANONYMISE_BATCH) -> int:
    """Erase the personal data of appointments that ended more than EXPATDESK_ANONYMISE_AFTER_DAYS ago
    (whatever their status), at most `limit` in one go; returns how many. Also deletes expired sessions
    (a session can hold a half-typed booking form). Rows another transaction holds are left to the next run.
    """
    cutoff = now - timedelta(days=settings.EXPATDESK_ANONYMISE_AFTER_DAYS)
    with transaction.atomic(durable=True):
        ids = list(
            Appointment.objects.select_for_update(skip_locked=True)
            .filter(end__lt=cutoff)
            .filter(_not_anonymised())
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            _erase(appointment_ids=ids, now=now, actor=None, detail="")
        _delete_sessions(now=now)
    return len(ids)


def _delete_sessions(*, now: datetime, email: str = "") -> None:
    """Delete expired sessions and, given an address, the live ones that hold it (a half-typed booking
    form). Only for sessions in the database; other session stores expire by themselves."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    Session.objects.filter(expire_date__lt=now).delete()
    if not email:
        return
    from django.contrib.sessions.backends.db import SessionStore

    needle = email.casefold()
    store = SessionStore()
    holding = [
        session.session_key
        for session in Session.objects.all().iterator()
        if needle in str(store.decode(session.session_data)).casefold()
    ]
    Session.objects.filter(session_key__in=holding).delete()


def erase_personal_data(*, email: str, now: datetime, actor: AbstractBaseUser | None) -> int:
    """Erase one person's data on request: every appointment booked with this e-mail address.

    Sessions holding the address (a half-typed booking form) are deleted too.
    Their live bookings still to come (held or booked) are cancelled first, in the same transaction,
    and their counter time is free again: a booking without a name cannot be served at the desk. No
    cancellation e-mail is sent (the person asked for this, and the address is erased). Returns how many
    appointments were erased.
    """
    email = email.strip()
    if not email:
        raise BookingError(EMAIL_REQUIRED, _("Please give the e-mail address of the person."))
    with transaction.atomic(durable=True):
        locked = list(Appointment.objects.filter(contact_email__iexact=email).select_for_update().order_by("pk"))
        for appointment in locked:
            if appointment.status in (AppointmentStatus.HELD, AppointmentStatus.BOOKED) and appointment.end > now:
                claims = SlotClaim.objects.filter(appointment=appointment)
                released = list(claims.values_list("counter_id", "unit_start"))
                claims.delete()
                _hand_to_blocks(units=released, now=now)
                appointment.status = AppointmentStatus.CANCELLED
                appointment.cancelled_at = now
                appointment.hold_expires_at = None
                appointment.sequence += 1
                appointment.save(update_fields=["status", "cancelled_at", "hold_expires_at", "sequence"])
                _record(appointment=appointment, kind=EventKind.CANCELLED, now=now, actor=actor)
        ids = [appointment.pk for appointment in locked]
        if ids:
            _erase(appointment_ids=ids, now=now, actor=actor, detail=ERASURE_DETAIL)
        _delete_sessions(now=now, email=email)
    return len(ids)


# ---- opening-hours changes (issue 4, point 5) ---------------------------------------------------
# Imports for this section only, so the top of the module stays as other changes left it.
from datetime import time  # noqa: E402

from bookings import opening_hours as hours_rules  # noqa: E402
from bookings.models import OpeningHours  # noqa: E402

# Error codes of change_opening_hours (BookingError.code).
INVALID_HOURS = "invalid_hours"
APPOINTMENTS_OUTSIDE_HOURS = "appointments_outside_hours"


class AppointmentsOutsideHours(BookingError):
    """A refused opening-hours change, with the appointments it would leave outside (for staff to act on)."""

    def __init__(self, appointments: list[Appointment]) -> None:
        super().__init__(
            APPOINTMENTS_OUTSIDE_HOURS,
            ngettext(
                "%(count)d appointment would fall outside the new opening hours. Move or cancel it first.",
                "%(count)d appointments would fall outside the new opening hours. Move or cancel them first.",
                len(appointments),
            )
            % {"count": len(appointments)},
        )
        self.appointments = appointments


def _check_hours_change(*, change: hours_rules.HoursChange, now: datetime, location: Location) -> None:
    if change.weekday not in range(7):
        raise BookingError(INVALID_HOURS, _("Pick a weekday."))
    if len(change.intervals) > hours_rules.MAX_INTERVALS:
        raise BookingError(
            INVALID_HOURS,
            _("A day can have at most %(count)d opening intervals.") % {"count": hours_rules.MAX_INTERVALS},
        )
    previous_end: time | None = None
    for start, end in sorted(change.intervals):
        if not start < end:
            raise BookingError(INVALID_HOURS, _("Each interval must close after it opens."))
        if previous_end is not None and start < previous_end:
            raise BookingError(INVALID_HOURS, _("The opening intervals of a day must not overlap."))
        previous_end = end
    if change.valid_from and change.valid_until and change.valid_until < change.valid_from:
        raise BookingError(INVALID_PERIOD, _("The last valid day cannot be before the first."))
    if change.valid_until is not None and change.valid_until < now.astimezone(location.tz).date():
        raise BookingError(INVALID_PERIOD, _("That period is already over."))


def change_opening_hours(
    *,
    location: Location,
    change: hours_rules.HoursChange,
    now: datetime,
    actor: AbstractBaseUser | None = None,
) -> list[OpeningHours]:
    """Give a weekday new opening intervals for a period (none: closed that weekday in the period); rows
    reaching outside the period keep those parts. Refused with AppointmentsOutsideHours (a BookingError
    listing them) while live appointments would fall outside the new hours: staff move or cancel them first.
    Returns the location's opening hours after the change."""
    change = replace(change, intervals=tuple(sorted(change.intervals)))
    _check_hours_change(change=change, now=now, location=location)
    with transaction.atomic(durable=True):
        # One opening-hours or closure change per location at a time; bookings are checked against the rows.
        location = Location.objects.select_for_update().get(pk=location.pk)
        current = list(OpeningHours.objects.filter(location=location).order_by("weekday", "start_time", "pk"))
        plan = hours_rules.plan_change(location=location, current=current, change=change)
        outside = hours_rules.appointments_outside(location=location, current=current, proposed=plan.result, now=now)
        if outside:
            raise AppointmentsOutsideHours(outside)
        OpeningHours.objects.filter(pk__in=[row.pk for row in plan.delete]).delete()
        OpeningHours.objects.bulk_create(plan.create)
        return list(OpeningHours.objects.filter(location=location).order_by("weekday", "start_time", "pk"))


# ---- employers' bookings (issue 4, point 7) -----------------------------------------------------
# Imports for this section only, so the top of the module stays as other changes left it.
from employers.models import EmployerBooking, EmployerMembership  # noqa: E402

NOT_AN_EMPLOYER = "not_an_employer"


def record_employer_booking(*, appointment: Appointment, user: AbstractBaseUser, now: datetime) -> EmployerBooking:
    """Record that HR staff of an approved employer made this booking (through the public flow) for an
    employee: the employer sees it in its list, and the appointment says who booked it. Running it again
    for the same booking changes nothing."""
    with transaction.atomic(durable=True):
        membership = (
            EmployerMembership.objects.select_related("employer")
            .filter(user_id=user.pk, user__is_active=True, employer__is_approved=True)
            .first()
        )
        if membership is None:
            raise BookingError(NOT_AN_EMPLOYER, _("Only the staff of an approved employer can book for employees."))
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN):
            raise BookingError(BookingError.INVALID_STATUS, _("This booking has already been completed or cancelled."))
        if locked.booked_by_id is None:
            locked.booked_by_id = user.pk
            locked.save(update_fields=["booked_by"])
        link, _created = EmployerBooking.objects.get_or_create(
            appointment=locked,
            defaults={"employer": membership.employer, "booked_by_id": user.pk, "created_at": now},
        )
    return link
