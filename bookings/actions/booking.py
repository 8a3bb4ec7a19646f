"""Holding, booking, cancelling, moving and expiring appointments: the booking invariant at work."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings import availability_sql, fairness, hooks, refusals
from bookings.actions import together
from bookings.actions.common import (
    REFERENCE_ATTEMPTS,
    BookingError,
    BookingResult,
    PersonName,
    ReferenceDrawnTwice,
    _allocate_and_claim,
    _allocation_or_refusal,
    _booking_allocation,
    _check_aware,
    _check_counter,
    _check_customer_limits,
    _check_extra_units,
    _check_holds_per_client,
    _check_municipality,
    _check_names,
    _check_owner_before_hold,
    _check_service_and_persons,
    _check_start,
    _create_appointment_claiming,
    _delete_lapsed,
    _finish_booking,
    _hand_to_blocks,
    _insert_claims,
    _issue_manage_token,
    _record,
    _service_inactive,
    _slot_taken,
    _special_needs_columns,
    _units_filter,
    _units_fit_rules,
    _write_email,
    booked_columns,
    booking_transaction,
    complete_direct_booking,
    hold_expiry,
    make_claims_permanent,
)
from bookings.actions.visits import (
    INVALID_VISIT,
    is_visit,
    move_locked_visit,
    reclaim_locked_visit,
    visit_claims_fit,
)
from bookings.availability import (
    Allocation,
    load_rules,
    load_snapshot,
)
from bookings.cache import days_around, time_may_be_freed
from bookings.fairness import Share
from bookings.locking import capacity_changes
from bookings.mailboxes import mailbox_key
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Counter,
    EmailKind,
    EventKind,
    Location,
    SlotClaim,
)
from bookings.selectors import visit_parts
from bookings.tokens import new_manage_token
from services.models import Service

# ---- helpers --------------------------------------------------------------------------------


def _create_and_claim(
    *,
    location: Location,
    service: Service,
    start: datetime,
    persons: int,
    now: datetime,
    status: str,
    municipality: str,
    language: str,
    enforce_notice: bool,
    counter: Counter | None,
    expires_at: datetime | None,
    extra_units: int = 0,
    lock_shares: Callable[[Allocation], None] | None = None,
    in_savepoint: bool = True,
    event_kind: str = "",
    **columns: object,
) -> Appointment:
    """Insert a new appointment (with `columns`, more of its fields) and claim counter time for it (held
    until `expires_at`, or for good), `extra_units` grid units more per person (extra time).

    The allocation comes first, from one snapshot, so that the row is inserted complete (its end and claimed
    units known); only when another booking took a unit meanwhile does the retry read afresh and update it.
    `lock_shares`: takes the fair-share locks and makes the checks that need them once the time is found
    (given the allocation), before anything is written (hold_slot: the locks are held for as short a time as
    may be, docs/locking.md);
    `in_savepoint`, `event_kind` (its audit row): see _create_appointment_claiming. On PostgreSQL one unit (one
    person, no extra time) is claimed in the appointment's own statement (its `claim`)."""
    extra_units = _check_extra_units(extra_units)
    snapshot, allocation = _booking_allocation(
        location=location,
        service=service,
        persons=persons,
        start=start,
        now=now,
        enforce_notice=enforce_notice,
        counter=counter,
        extra_units=extra_units,
    )
    if lock_shares is not None:
        lock_shares(allocation)
    claim = allocation.units[0] if len(allocation.units) == 1 and together.available() else None
    if claim is not None and claim in snapshot.lapsed:
        _delete_lapsed(units=[claim], now=now)
    appointment, claimed = _create_appointment_claiming(
        location=location,
        service=service,
        start=start,
        persons=persons,
        now=now,
        status=status,
        municipality=municipality,
        language=language,
        hold_expires_at=expires_at,
        end=allocation.end,
        claimed_units=len(allocation.units),
        extra_units=extra_units,
        in_savepoint=in_savepoint,
        event_kind=event_kind,
        claim=claim,
        **columns,
    )
    try:
        if claim is None:
            _insert_claims(
                appointment=appointment, units=allocation.units, expires_at=expires_at, now=now, lapsed=snapshot.lapsed
            )
        elif not claimed:
            raise _slot_taken()
    except BookingError:  # a unit went to another booking since the snapshot: allocate again, afresh
        allocation = _allocate_and_claim(
            appointment=appointment,
            service=service,
            persons=persons,
            start=start,
            now=now,
            enforce_notice=enforce_notice,
            counter=counter,
            expires_at=expires_at,
        )
        appointment.end = allocation.end
        appointment.claimed_units = len(allocation.units)
        appointment.save(update_fields=["end", "claimed_units"])
    return appointment


def hold_key(*, location: Location, service: Service, start: datetime, persons: int, extra_units: int) -> Hashable:
    """What a hold's refusal as taken is remembered under (bookings/refusals.py)."""
    return (location.pk, service.pk, start, persons, extra_units)


def refuse_unless_free(
    *, location: Location, service: Service, start: datetime, persons: int, now: datetime, extra_units: int = 0
) -> None:
    """Before a hold's transaction: refuse a time this process refused as taken a moment ago, without reading
    (bookings/refusals.py); and at a location where it refused a hold as taken lately (refusals.contended: a
    release of slots), refuse a time that is not free now, with the error its transaction would give, from one
    read without any lock (the configuration's version and the day's claims, one statement).

    Only a refusal is decided here. A read that finds the time taken or refused by the rules is true of the
    moment it was read, just as the transaction's own read would be a moment later; a time found free is
    held only by the transaction, under its locks, which reads everything again (docs/locking.md, "The read
    before a hold"). So when many people try for the same few times, the many who are too late are told so
    without a transaction or a lock, and without waiting for the few who are not. Where no hold was refused as
    taken lately, nearly every hold goes through, and the read would cost each one a statement for nothing: the
    transaction refuses what is not free with the same errors.
    A service the caller's row says is inactive, and one that no counter here serves (it may be inactive or gone
    since the caller read it), are left to the transaction, which reads the service's flag first and so
    tells which. (A service made inactive in the moment since the caller read its row may be refused here as
    taken rather than as inactive: a refusal either way.)"""
    if not service.is_active:
        return
    extra_units = _check_extra_units(extra_units)
    key = hold_key(location=location, service=service, start=start, persons=persons, extra_units=extra_units)
    remembered = refused_a_moment_ago(key, now=now)
    if remembered is not None:
        raise remembered
    if not refusals.contended(location.pk, now=now):
        return
    day = start.astimezone(location.tz).date()
    try:
        _allocation_or_refusal(
            snapshot=load_snapshot(location=location, start_date=day, end_date=day, now=now),
            service=service,
            persons=persons,
            start=start,
            now=now,
            enforce_notice=True,
            counter_ids=None,
            extra_units=extra_units,
        )
    except BookingError as refused:
        remember_if_taken(key, now=now, location_id=location.pk, refused=refused)
        if refused.code != BookingError.COUNTER_INACTIVE:
            raise


def refused_a_moment_ago(key: Hashable, *, now: datetime) -> BookingError | None:
    """The refusal "taken" this process gave the hold `key` a moment before `now`, to give again without reading
    (bookings/refusals.py), or None."""
    remembered = refusals.recent(key, now=now)
    return None if remembered is None else BookingError(*remembered)


def remember_if_taken(key: Hashable, *, now: datetime, location_id: int, refused: BookingError) -> None:
    """Remember `refused`, given to the hold `key` at `now`, for a moment, if it says "taken" (and so mark the
    location contended: refusals.contended)."""
    if refused.code == BookingError.SLOT_TAKEN:
        refusals.remember(key, now=now, location_id=location_id, code=refused.code, message=refused.message)


def _lock_with_service(appointment: Appointment) -> Appointment:
    """Lock the appointment row for the rest of the transaction, loading its service and location
    (after the location lock: docs/locking.md, "Order")."""
    # of=("self",): lock only the appointment row. A plain FOR UPDATE over the join also locks the
    # location and service rows, which every concurrent booking's (deferred) foreign-key check needs
    # at commit: a booking that had already claimed our target unit then deadlocked with us on
    # PostgreSQL (OperationalError, a 500) — found by tests/test_concurrency.py.
    # The location's configuration version comes in the same statement (`configuration_version`, for
    # load_rules): its snapshot is taken after the location lock was granted (the statement before), and no
    # configuration change commits while that lock is held, so it is the version as of the lock.
    locked = availability_sql.appointment_for_update(appointment.pk)
    if locked is None:
        raise Appointment.DoesNotExist("The appointment is gone.")
    return locked


def _let_claims_go(locked: Appointment) -> None:
    """Delete the claims of a hold being booked, to claim afresh: time may be freed, so what this process remembered
    as taken there is forgotten (the booking's lock was taken as one that only takes time)."""
    time_may_be_freed(locked.location_id)
    SlotClaim.objects.filter(appointment=locked).delete()


def lock_appointment_at_location(
    appointment: Appointment, *, more_days: tuple = (), takes_only: bool = False
) -> Appointment:
    """Take the location's shared lock (docs/locking.md: the location first, then the row), then lock the
    appointment's row; the cached answers of its day (and `more_days`) are bumped after the commit.
    `takes_only`: the caller means only to take time (capacity_changes), and calls cache.time_may_be_freed
    where it lets any go.

    The caller's object may be stale: if the appointment was moved meanwhile, its new day is bumped too."""
    days = [*days_around(appointment.start), *more_days]
    capacity_changes(location_id=appointment.location_id, days=days, takes_only=takes_only)
    locked = _lock_with_service(appointment)
    if locked.start != appointment.start:
        capacity_changes(location_id=locked.location_id, days=days_around(locked.start), takes_only=takes_only)
    return locked


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
    share: Share | None = None,
    extra_units: int = 0,
) -> Appointment:
    """Claim a slot for a few minutes while the person fills in their details (`extra_units`: extra time, grid
    units more per person; the booking keeps it).

    `client_key` (bookings/abuse.py client_key_for) caps the live holds of one client address at
    EXPATDESK_MAX_HOLDS_PER_IP and its counter time at its fair share (bookings/fairness.py); empty for
    callers that have no address (tests, commands). `share`, given by the caller, counts the hold as that
    owner's instead of the address's (an employer's HR staff: fairness.owner_share).

    A time this process refused as taken a moment ago is refused again before the transaction, and at a
    location where it refused one lately, a time that is not free, from one read without a lock
    (refuse_unless_free); what the transaction refuses as taken is remembered the same way. Then the locks in
    the protocol's order (docs/locking.md): the location's shared lock (the service's active flag read in the
    same statement), the snapshot and the allocation, then the fair-share lock of the address (or of `share`)
    and the cap on the address's live holds, then the writes.
    The appointment goes in without a savepoint: a reference drawn twice rolls the whole transaction back,
    and it runs again."""
    _check_aware(start)
    _check_service_and_persons(service=service, persons=persons, read_flag=False)
    municipality = _check_municipality(service=service, municipality=municipality, location=location)
    expires_at = hold_expiry(now)
    owner = share if share is not None else fairness.address_share(client_key)
    refuse_unless_free(
        location=location, service=service, start=start, persons=persons, now=now, extra_units=extra_units
    )

    def lock_owner(allocation: Allocation) -> None:  # after the allocation, before the writes
        fairness.lock_shares([owner])
        if owner is None:  # no address (or an owner's key without its share): the cap on holds only
            _check_holds_per_client(client_key=client_key, now=now, locked=False)
            return
        _check_owner_before_hold(
            owner=owner,
            holds_of=client_key if share is None else "",
            location=location,
            start=start,
            minutes=len(allocation.units) * location.grid_minutes,
            now=now,
        )

    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic(durable=True):
                if not capacity_changes(
                    location_id=location.pk, days=days_around(start), service_id=service.pk, takes_only=True
                ):
                    raise _service_inactive()
                return hold_in_transaction(
                    location=location,
                    service=service,
                    start=start,
                    persons=persons,
                    now=now,
                    municipality=municipality,
                    language=language,
                    expires_at=expires_at,
                    owner=owner,
                    extra_units=extra_units,
                    lock_owner=lock_owner,
                )
        except ReferenceDrawnTwice:
            continue  # rolled back: run the hold again, with a reference drawn afresh
        except BookingError as refused:  # what the transaction read as taken, as the read before would have
            key = hold_key(location=location, service=service, start=start, persons=persons, extra_units=extra_units)
            remember_if_taken(key, now=now, location_id=location.pk, refused=refused)
            raise
    raise RuntimeError("Could not draw a unique booking reference.")


def hold_in_transaction(
    *,
    location: Location,
    service: Service,
    start: datetime,
    persons: int,
    now: datetime,
    municipality: str,
    language: str,
    expires_at: datetime,
    owner: Share | None,
    mailbox: Share | None = None,
    extra_units: int = 0,
    lock_owner: Callable[[Allocation], None] | None = None,
) -> Appointment:
    """The body of a hold: its appointment, claims, fair shares and audit row, for hold_slot and for actions
    that hold as one step of their own transaction (the waitlist holds freed time for the person it offers it
    to). The caller has checked the input (the municipality in the location's spelling) and holds the
    location's lock. With `mailbox`, the hold counts against that mailbox's fair share as well (it is held for
    that person).

    Without `lock_owner` the caller holds the fair-share locks of `owner` and `mailbox` too, and the appointment
    goes in inside a savepoint. With it (hold_slot), `lock_owner` takes those locks after the allocation and
    checks the owner's share then, before the writes; the appointment goes in without a savepoint
    (ReferenceDrawnTwice: the caller runs its transaction again)."""
    appointment = _create_and_claim(
        location=location,
        service=service,
        start=start,
        persons=persons,
        now=now,
        status=AppointmentStatus.HELD,
        municipality=municipality,
        language=language,
        enforce_notice=True,
        counter=None,
        expires_at=expires_at,
        client_key=owner.key if owner is not None else "",
        mailbox_key=mailbox.key if mailbox is not None else "",
        extra_units=extra_units,
        lock_shares=lock_owner,
        in_savepoint=lock_owner is None,
        event_kind=EventKind.HELD,
    )
    if lock_owner is None:  # else counted before the writes
        fairness.check_shares(appointment=appointment, shares=[owner, mailbox], now=now)
    return appointment


def confirm_hold(
    *,
    appointment: Appointment,
    names: Sequence[PersonName],
    contact_email: str,
    phone: str = "",
    language: str = "en",
    now: datetime,
    share: Share | None = None,
    needs_wheelchair: bool = False,
    interpreter_language: str = "",
) -> BookingResult:
    """Turn a hold into a booking, under the booking rules as they are now, with the special needs given
    besides the extra time the hold was made with (wheelchair access, an interpreter language from the list).

    Who owns the counter time is decided by the rows, never by the clock: the hold's claims are made
    permanent with one UPDATE, and the number of rows it touched says whether they are all still ours.
    A lapsed hold's claims may have been taken by another booking (which deletes lapsed claims where it
    needs them) at any moment up to that UPDATE, however current the hold looked when `now` was read;
    if any is gone, the hold's remaining claims are dropped and the booking claims afresh (another
    counter may be free), or it is refused with SLOT_TAKEN. A lapsed hold whose time is still free is
    booked. Either way the booking rules are checked again (docs/locking.md, "Holds"): a closure, an
    opening-hours change or a shorter horizon since the hold was made refuses it.

    The booking counts against the fair share of the address that held it (or of `share`, an owner the
    caller names: an employer) and of the mailbox it is booked for (bookings/fairness.py)."""
    with transaction.atomic(durable=True):
        # Booked as held, nothing is let go; where the hold's claims are let go, confirm_locked_hold says so.
        locked = lock_appointment_at_location(appointment, takes_only=True)
        return confirm_locked_hold(
            locked=locked,
            names=names,
            contact_email=contact_email,
            phone=phone,
            language=language,
            now=now,
            share=share,
            needs_wheelchair=needs_wheelchair,
            interpreter_language=interpreter_language,
        )


def confirm_locked_hold(
    *,
    locked: Appointment,
    names: Sequence[PersonName],
    contact_email: str,
    phone: str = "",
    language: str = "en",
    now: datetime,
    share: Share | None = None,
    needs_wheelchair: bool = False,
    interpreter_language: str = "",
) -> BookingResult:
    """The body of confirm_hold, for actions that confirm a hold as one step of their own transaction (the
    waitlist's accepted offer). The caller holds the location's lock and `locked`'s row lock
    (lock_appointment_at_location)."""
    if locked.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED):
        raise BookingError(BookingError.INVALID_STATUS, _("This booking has already been completed or cancelled."))
    _check_names(names=names, persons=locked.persons)
    needs = _special_needs_columns(needs_wheelchair=needs_wheelchair, interpreter_language=interpreter_language)
    owner = share if share is not None else fairness.address_share(locked.client_key)
    mailbox = fairness.mailbox_share(contact_email)
    # The rules are read before the fair-share locks (the location lock keeps them as they are), so that those
    # locks, which serialise every booking of one address or mailbox, are held for as short a time as may be.
    day = locked.start.astimezone(locked.location.tz).date()
    rules = load_rules(
        location=locked.location, start_date=day, end_date=day, now=now, version=locked.configuration_version
    )
    fairness.lock_shares([owner, mailbox])
    parts = visit_parts(locked)  # one part (no query) for a booking of one service
    _check_customer_limits(
        services=[part.service for part in parts],
        email=contact_email,
        now=now,
        exclude_id=locked.pk,
        locked=mailbox is not None,
    )
    _check_start(snapshot=rules, service=locked.service, start=locked.start, now=now, enforce_notice=False)
    # Keep the claims only while the UPDATE finds all of them still ours and every one of them still fits the
    # rules (a counter made inactive or no longer serving the service, shorter hours).
    units = make_claims_permanent(appointment_id=locked.pk)
    if is_visit(locked):  # every part's claims must still be its own and fit its service's rules
        if len(units) != locked.claimed_units or not visit_claims_fit(parts=parts, rules=rules, units=units):
            _let_claims_go(locked)
            reclaim_locked_visit(locked=locked, parts=parts, now=now)
        kept = locked.claimed_units
    else:
        kept = len(units) if _units_fit_rules(snapshot=rules, service=locked.service, units=units) else 0
    if not kept or kept != locked.claimed_units:
        _let_claims_go(locked)
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
        locked.claimed_units = len(allocation.units)
    token = _issue_manage_token(locked)
    locked.status = AppointmentStatus.BOOKED
    locked.booked_at = now
    locked.hold_expires_at = None
    locked.contact_email = contact_email
    locked.phone = phone
    locked.language = language
    locked.client_key = owner.key if owner is not None else locked.client_key
    locked.mailbox_key = mailbox_key(contact_email)
    for name, value in needs.items():
        setattr(locked, name, value)
    _finish_booking(  # one UPDATE, the special needs in it
        appointment=locked,
        names=names,
        shares=[owner, mailbox],
        now=now,
        update_fields=[
            *needs,
            "status",
            "booked_at",
            "hold_expires_at",
            "contact_email",
            "phone",
            "language",
            "end",
            "claimed_units",
            "manage_token_hash",
            "client_key",
            "mailbox_key",
        ],
    )
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
    client_key: str = "",
    share: Share | None = None,
    extra_units: int = 0,
    needs_wheelchair: bool = False,
    interpreter_language: str = "",
) -> BookingResult:
    """Book directly, without a hold: for desk staff, who may book at short notice and on a chosen counter.

    `enforce_customer_limits=False` lets staff book past the one-live-booking-per-e-mail rule, the
    cool-down and the mailbox's fair share (e.g. a walk-in, or a second appointment the desk agreed to).
    `client_key` / `share` count it against an address's or an owner's fair share, as hold_slot does."""
    municipality = _check_booking_input(
        location=location, service=service, start=start, names=names, municipality=municipality
    )
    if counter is not None:
        _check_counter(counter=counter, location=location, service=service)
    with booking_transaction(
        location=location,
        start=start,
        client_key=client_key,
        share=share,
        contact_email=contact_email,
        enforce_customer_limits=enforce_customer_limits,
    ) as (owner, mailbox):
        return book_in_transaction(
            location=location,
            service=service,
            start=start,
            names=names,
            contact_email=contact_email,
            phone=phone,
            language=language,
            municipality=municipality,
            now=now,
            counter=counter,
            booked_by=booked_by,
            enforce_notice=enforce_notice,
            enforce_customer_limits=enforce_customer_limits,
            owner=owner,
            mailbox=mailbox,
            extra_units=extra_units,
            needs_wheelchair=needs_wheelchair,
            interpreter_language=interpreter_language,
        )


def _check_booking_input(
    *, location: Location, service: Service, start: datetime, names: Sequence[PersonName], municipality: str
) -> str:
    """The checks of a direct booking's input; returns the municipality in the location's own spelling."""
    _check_aware(start)
    _check_service_and_persons(service=service, persons=len(names))
    _check_names(names=names, persons=len(names))
    return _check_municipality(service=service, municipality=municipality, location=location)


def book_in_transaction(
    *,
    location: Location,
    service: Service,
    start: datetime,
    names: Sequence[PersonName],
    contact_email: str,
    phone: str,
    language: str,
    municipality: str,
    now: datetime,
    counter: Counter | None,
    booked_by: AbstractBaseUser | None,
    enforce_notice: bool,
    enforce_customer_limits: bool,
    owner: Share | None = None,
    mailbox: Share | None = None,
    status: str = AppointmentStatus.BOOKED,
    extra_units: int = 0,
    needs_wheelchair: bool = False,
    interpreter_language: str = "",
) -> BookingResult:
    """The body of a direct booking, for actions that book as one step of their own transaction (a walk-in
    books and checks in at once). The caller has checked the input and holds the location's lock and the
    fair-share locks of `owner` and `mailbox` (fairness.lock_shares). The special needs go into the one INSERT
    of the appointment."""
    needs = _special_needs_columns(needs_wheelchair=needs_wheelchair, interpreter_language=interpreter_language)
    if enforce_customer_limits:
        _check_customer_limits(
            services=[service], email=contact_email, now=now, exclude_id=None, locked=mailbox is not None
        )
    token = new_manage_token()
    appointment = _create_and_claim(
        location=location,
        service=service,
        start=start,
        persons=len(names),
        now=now,
        status=status,
        municipality=municipality,
        language=language,
        enforce_notice=enforce_notice,
        counter=counter,
        expires_at=None,
        checked_in_at=now if status == AppointmentStatus.CHECKED_IN else None,
        extra_units=extra_units,
        **booked_columns(
            now=now, contact_email=contact_email, phone=phone, booked_by=booked_by, owner=owner, token=token
        ),
        **needs,
    )
    return complete_direct_booking(
        appointment=appointment, names=names, shares=[owner, mailbox], now=now, booked_by=booked_by, token=token
    )


def cancel_appointment(
    *, appointment: Appointment, now: datetime, reason: str = "", actor: AbstractBaseUser | None = None
) -> Appointment:
    """Cancel a held or booked appointment and free its counters in the same transaction."""
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment)
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
        if released:
            hooks.capacity_freed(location_id=locked.location_id, days=days_around(locked.start), now=now)
        if was_booked:
            _write_email(appointment=locked, kind=EmailKind.CANCELLATION, now=now)
    return locked


def release_locked_hold(*, locked: Appointment, now: datetime, reason: str) -> None:
    """Let go of a hold inside the caller's transaction, which reuses its time at once (the waitlist moves a
    booking into the time it held for the person): its claims go, it is cancelled, and — unlike
    cancel_appointment — no capacity-freed hook is called, since the time is not free for anyone else. The
    caller holds the location's lock and `locked`'s row lock (lock_appointment_at_location)."""
    if locked.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED):
        raise BookingError(BookingError.INVALID_STATUS, _("This booking has already been completed or cancelled."))
    SlotClaim.objects.filter(appointment=locked).delete()
    locked.status = AppointmentStatus.CANCELLED
    locked.cancelled_at = now
    locked.cancel_reason = reason[:200]
    locked.hold_expires_at = None
    locked.client_key = ""
    locked.mailbox_key = ""
    locked.save(
        update_fields=["status", "cancelled_at", "cancel_reason", "hold_expires_at", "client_key", "mailbox_key"]
    )
    _record(appointment=locked, kind=EventKind.CANCELLED, now=now, detail=locked.cancel_reason)


def reschedule_appointment(
    *,
    appointment: Appointment,
    new_start: datetime,
    now: datetime,
    counter: Counter | None = None,
    enforce_notice: bool = True,
    actor: AbstractBaseUser | None = None,
    share: Share | None = None,
) -> Appointment:
    """Move a booking. The new slot is claimed before the old one is released; if the new slot is
    gone, BookingError(SLOT_TAKEN) is raised and the booking keeps its old slot untouched.

    A move by the person (no `actor`) stays within the fair share of its day (bookings/fairness.py): the
    mailbox's, and the address's or the owner's (`share`) it was booked from; staff may move past it."""
    _check_aware(new_start)
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment, more_days=tuple(days_around(new_start)))
        return move_locked_booking(
            locked=locked,
            new_start=new_start,
            now=now,
            counter=counter,
            enforce_notice=enforce_notice,
            actor=actor,
            share=share,
        )


def move_locked_booking(
    *,
    locked: Appointment,
    new_start: datetime,
    now: datetime,
    counter: Counter | None = None,
    enforce_notice: bool = True,
    actor: AbstractBaseUser | None = None,
    share: Share | None = None,
) -> Appointment:
    """The body of reschedule_appointment, for actions that move a booking as one step of their own
    transaction (the waitlist moves a booking to the earlier time it was offered). The caller holds the
    location's lock (of the old and the new day) and `locked`'s row lock (lock_appointment_at_location)."""
    if locked.status != AppointmentStatus.BOOKED:
        raise BookingError(BookingError.INVALID_STATUS, _("Only a booked appointment can be moved."))
    shares: list[Share | None] = []
    if actor is None:
        owner = share if share is not None else fairness.address_share(locked.client_key)
        shares = [owner, fairness.mailbox_share(locked.contact_email)]
        fairness.lock_shares(shares)
    if is_visit(locked):
        if counter is not None:
            raise BookingError(
                INVALID_VISIT, _("A visit moves as a whole; its counters are chosen for it at the new time.")
            )
        moved = move_locked_visit(
            locked=locked, new_start=new_start, now=now, enforce_notice=enforce_notice, actor=actor
        )
        fairness.check_shares(appointment=moved, shares=shares, now=now)
        return moved
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
        hooks.capacity_freed(location_id=locked.location_id, days=days_around(locked.start), now=now)
    old_start = locked.start
    locked.start = allocation.start
    locked.end = allocation.end
    locked.claimed_units = len(allocation.units)
    locked.sequence += 1
    locked.save(update_fields=["start", "end", "claimed_units", "sequence"])
    fairness.check_shares(appointment=locked, shares=shares, now=now)
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
    """Release the claims of lapsed holds and mark them expired; returns how many lapsed.

    A hold being confirmed at this moment holds its row lock and is skipped: its confirmation decides."""
    with transaction.atomic(durable=True):
        # The locations first, then the rows (docs/locking.md); holds that lapse at a location not read
        # here (a moment later) are left to the next sweep.
        days_by_location: dict[int, set] = {}
        for location_id, start in Appointment.objects.lapsed(now=now).values_list("location_id", "start"):
            days_by_location.setdefault(location_id, set()).update(days_around(start))
        if not days_by_location:
            return 0
        for location_id in sorted(days_by_location):
            capacity_changes(location_id=location_id, days=days_by_location[location_id])
        lapsed = list(
            Appointment.objects.select_for_update(skip_locked=True)
            .lapsed(now=now)
            .filter(location_id__in=list(days_by_location))
            .values_list("pk", flat=True)
        )
        if not lapsed:
            return 0
        SlotClaim.objects.filter(appointment_id__in=lapsed, expires_at__lte=now).delete()
        Appointment.objects.filter(pk__in=lapsed).update(status=AppointmentStatus.EXPIRED, client_key="")
        # The audit trail: the system let them lapse (no actor).
        AppointmentEvent.objects.bulk_create(
            [AppointmentEvent(appointment_id=pk, kind=EventKind.EXPIRED, at=now) for pk in lapsed]
        )
        for location_id in sorted(days_by_location):
            hooks.capacity_freed(location_id=location_id, days=days_by_location[location_id], now=now)
    return len(lapsed)
