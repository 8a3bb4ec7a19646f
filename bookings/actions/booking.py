"""Holding, booking, cancelling, moving and expiring appointments: the booking invariant at work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings import fairness
from bookings.actions.common import (
    BookingError,
    BookingResult,
    PersonName,
    _allocate_and_claim,
    _check_aware,
    _check_counter,
    _check_customer_limits,
    _check_holds_per_client,
    _check_municipality,
    _check_names,
    _check_service_and_persons,
    _create_appointment,
    _hand_to_blocks,
    _issue_manage_token,
    _record,
    _save_people,
    _units_filter,
    _write_email,
)
from bookings.availability import units_per_person
from bookings.cache import availability_changed, days_around
from bookings.fairness import Share
from bookings.mailboxes import mailbox_key
from bookings.models import (
    Appointment,
    AppointmentStatus,
    Counter,
    EmailKind,
    EventKind,
    Location,
    SlotClaim,
)
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
) -> Appointment:
    """Insert a new appointment and claim counter time for it (held until `expires_at`, or for good).

    Sets `end` from the allocation but does not save it: the caller saves "end" with its own fields."""
    appointment = _create_appointment(
        location=location,
        service=service,
        start=start,
        persons=persons,
        now=now,
        status=status,
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
        enforce_notice=enforce_notice,
        counter=counter,
        expires_at=expires_at,
    )
    appointment.end = allocation.end
    return appointment


def _lock_with_service(appointment: Appointment) -> Appointment:
    """Lock the appointment row for the rest of the transaction, loading its service and location."""
    # of=("self",): lock only the appointment row. A plain FOR UPDATE over the join also locks the
    # location and service rows, which every concurrent booking's (deferred) foreign-key check needs
    # at commit: a booking that had already claimed our target unit then deadlocked with us on
    # PostgreSQL (OperationalError, a 500) — found by tests/test_concurrency.py.
    return (
        Appointment.objects.select_for_update(of=("self",)).select_related("service", "location").get(pk=appointment.pk)
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
    share: Share | None = None,
) -> Appointment:
    """Claim a slot for a few minutes while the person fills in their details.

    `client_key` (bookings/abuse.py client_key_for) caps the live holds of one client address at
    EXPATDESK_MAX_HOLDS_PER_IP and its counter time at its fair share (bookings/fairness.py); empty for
    callers that have no address (tests, commands). `share`, given by the caller, counts the hold as that
    owner's instead of the address's (an employer's HR staff: fairness.owner_share)."""
    _check_aware(start)
    _check_service_and_persons(service=service, persons=persons)
    municipality = _check_municipality(service=service, municipality=municipality, location=location)
    # In UTC: ten minutes added to a local time are wall-clock minutes, an hour off on the DST night.
    expires_at = now.astimezone(UTC) + timedelta(minutes=settings.EXPATDESK_HOLD_MINUTES)
    owner = share if share is not None else fairness.address_share(client_key)
    with transaction.atomic(durable=True):
        fairness.lock_shares([owner])
        if share is None:
            _check_holds_per_client(client_key=client_key, now=now)
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
        )
        appointment.client_key = owner.key if owner is not None else ""
        appointment.save(update_fields=["end", "client_key"])
        fairness.check_shares(appointment=appointment, shares=[owner], now=now)
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
    share: Share | None = None,
) -> BookingResult:
    """Turn a hold into a booking. A lapsed hold still succeeds if nobody took its slot meanwhile.

    The booking counts against the fair share of the address that held it (or of `share`, an owner the
    caller names: an employer) and of the mailbox it is booked for (bookings/fairness.py)."""
    with transaction.atomic(durable=True):
        locked = _lock_with_service(appointment)
        if locked.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED):
            raise BookingError(BookingError.INVALID_STATUS, _("This booking has already been completed or cancelled."))
        _check_names(names=names, persons=locked.persons)
        owner = share if share is not None else fairness.address_share(locked.client_key)
        mailbox = fairness.mailbox_share(contact_email)
        fairness.lock_shares([owner, mailbox])
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
        locked.client_key = owner.key if owner is not None else locked.client_key
        locked.mailbox_key = mailbox_key(contact_email)
        locked.save(
            update_fields=[
                "status",
                "booked_at",
                "hold_expires_at",
                "contact_email",
                "phone",
                "language",
                "end",
                "manage_token_hash",
                "client_key",
                "mailbox_key",
            ]
        )
        fairness.check_shares(appointment=locked, shares=[owner, mailbox], now=now)
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
    client_key: str = "",
    share: Share | None = None,
) -> BookingResult:
    """Book directly, without a hold: for desk staff, who may book at short notice and on a chosen counter.

    `enforce_customer_limits=False` lets staff book past the one-live-booking-per-e-mail rule, the
    cool-down and the mailbox's fair share (e.g. a walk-in, or a second appointment the desk agreed to).
    `client_key` / `share` count it against an address's or an owner's fair share, as hold_slot does."""
    persons = len(names)
    _check_aware(start)
    _check_service_and_persons(service=service, persons=persons)
    _check_names(names=names, persons=persons)
    municipality = _check_municipality(service=service, municipality=municipality, location=location)
    if counter is not None:
        _check_counter(counter=counter, location=location, service=service)
    owner = share if share is not None else fairness.address_share(client_key)
    mailbox = fairness.mailbox_share(contact_email) if enforce_customer_limits else None
    with transaction.atomic(durable=True):
        fairness.lock_shares([owner, mailbox])
        if enforce_customer_limits:
            _check_customer_limits(service=service, email=contact_email, now=now, exclude_id=None)
        appointment = _create_and_claim(
            location=location,
            service=service,
            start=start,
            persons=persons,
            now=now,
            status=AppointmentStatus.BOOKED,
            municipality=municipality,
            language=language,
            enforce_notice=enforce_notice,
            counter=counter,
            expires_at=None,
        )
        _save_people(appointment=appointment, names=names)
        token = _issue_manage_token(appointment)
        appointment.booked_at = now
        appointment.contact_email = contact_email
        appointment.phone = phone
        appointment.booked_by = booked_by
        appointment.client_key = owner.key if owner is not None else ""
        appointment.mailbox_key = mailbox_key(contact_email)
        appointment.save(
            update_fields=[
                "end",
                "booked_at",
                "contact_email",
                "phone",
                "booked_by",
                "manage_token_hash",
                "client_key",
                "mailbox_key",
            ]
        )
        fairness.check_shares(appointment=appointment, shares=[owner, mailbox], now=now)
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
    share: Share | None = None,
) -> Appointment:
    """Move a booking. The new slot is claimed before the old one is released; if the new slot is
    gone, BookingError(SLOT_TAKEN) is raised and the booking keeps its old slot untouched.

    A move by the person (no `actor`) stays within the fair share of its day (bookings/fairness.py): the
    mailbox's, and the address's or the owner's (`share`) it was booked from; staff may move past it."""
    with transaction.atomic(durable=True):
        locked = _lock_with_service(appointment)
        if locked.status != AppointmentStatus.BOOKED:
            raise BookingError(BookingError.INVALID_STATUS, _("Only a booked appointment can be moved."))
        shares: list[Share | None] = []
        if actor is None:
            owner = share if share is not None else fairness.address_share(locked.client_key)
            shares = [owner, fairness.mailbox_share(locked.contact_email)]
            fairness.lock_shares(shares)
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
