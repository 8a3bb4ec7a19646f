"""Holding, booking and moving a visit of several parts (issue 13): every part claimed, or none.

A visit is one appointment (one reference, one manage link, one hold, one set of claims) with a row per part
(AppointmentPart); bookings/visits.py places the parts. Because all of a visit's counter time is claims of its
one appointment, everything that already works on an appointment works on the whole visit at once: the claims
go in with one INSERT that is all or nothing (docs/locking.md, "Claims"), cancelling deletes them all, the
expiry sweep releases a lapsed hold whole. What differs is how the time is found: here, by the visit planner.
booking.py hands a visit's confirmation (when its hold lost a claim) and its moves to this module.

Locks as for any booking (docs/locking.md, "Order"): the location's shared lock first, then the fair-share
locks, then the appointment's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from bookings import fairness, hooks
from bookings.actions.common import (
    CLAIM_ATTEMPTS,
    BookingError,
    BookingResult,
    PersonName,
    _check_aware,
    _check_customer_limits,
    _check_municipality,
    _check_names,
    _check_service_and_persons,
    _check_start,
    _create_appointment,
    _hand_to_blocks,
    _insert_claims,
    _record,
    _slot_taken,
    _units_filter,
    _units_fit_rules,
    _write_email,
    booked_columns,
    booking_transaction,
    complete_direct_booking,
    hold_expiry,
    hold_transaction,
)
from bookings.cache import days_around
from bookings.fairness import Share
from bookings.models import (
    Appointment,
    AppointmentPart,
    AppointmentStatus,
    CounterBlock,
    EmailKind,
    EventKind,
    Location,
    SlotClaim,
)
from bookings.selectors import VisitPartView
from bookings.tokens import new_manage_token
from bookings.visits import (
    PartRequest,
    VisitAllocation,
    VisitError,
    check_parts,
    in_desk_order,
    load_planner,
    persons_of,
)
from services.models import MAX_PERSONS_PER_BOOKING

INVALID_VISIT = "invalid_visit"


def is_visit(appointment: Appointment) -> bool:
    """Whether the appointment is a visit of several parts (a one-service booking has no part rows)."""
    return appointment.part_count > 1


def visit_claims_fit(*, parts: Sequence[VisitPartView], rules, units) -> bool:
    """Whether `units` are exactly the visit's seats, each part's on counters that serve its service now,
    inside the opening hours (a hold being confirmed: docs/locking.md, "Holds")."""
    grid = rules.grid
    planned = set()
    for part in parts:
        own = []
        for _person, counter_id, begin, end in part.seats:
            while begin < end:
                own.append((counter_id, begin.astimezone(UTC)))
                begin += grid
        if not _units_fit_rules(snapshot=rules, service=part.service, units=own):
            return False
        planned.update(own)
    return planned == {(counter_id, unit.astimezone(UTC)) for counter_id, unit in units}


def parts_of(appointment: Appointment) -> list[PartRequest]:
    """The visit's parts as the planner asks for them, in their order."""
    return [
        PartRequest(part.service, tuple(part.persons))
        for part in AppointmentPart.objects.filter(appointment=appointment).select_related("service")
    ]


def check_visit_input(*, parts: Sequence[PartRequest]) -> list[PartRequest]:
    """The parts in the desk's order (services.selectors.visit_order), each service bookable for its persons."""
    try:
        check_parts(parts)
    except VisitError as error:
        raise BookingError(INVALID_VISIT, str(error)) from error
    if len(persons_of(parts)) > MAX_PERSONS_PER_BOOKING:
        raise BookingError(
            BookingError.TOO_MANY_PERSONS,
            _("A visit is for at most %(max)d persons.") % {"max": MAX_PERSONS_PER_BOOKING},
        )
    for part in parts:
        _check_service_and_persons(service=part.service, persons=len(part.persons))
    return in_desk_order(parts)


def _plan(
    *,
    location: Location,
    parts: Sequence[PartRequest],
    start: datetime,
    now: datetime,
    enforce_notice: bool,
    ignore_appointment_id: int | None = None,
) -> VisitAllocation:
    """The visit's placement from a fresh snapshot, or the reason it has none."""
    day = start.astimezone(location.tz).date()
    planner = load_planner(
        location=location,
        parts=parts,
        start_date=day,
        end_date=day,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
        enforce_notice=enforce_notice,
    )
    for part in parts:
        _check_start(
            snapshot=planner.snapshot, service=part.service, start=start, now=now, enforce_notice=enforce_notice
        )
    if ignore_appointment_id is not None:
        # The visit's own time is free for its move, but not where a counter is blocked (the block page moves
        # visits off a blocked counter): those units count as taken.
        planner = planner.on(replace(planner.snapshot, taken={*planner.snapshot.taken, *_blocked_units(planner, day)}))
    allocation = planner.allocate(start)
    if allocation is not None:
        return allocation
    if any(not planner.snapshot.counters_for(part.service) for part in parts):
        raise BookingError(
            BookingError.COUNTER_INACTIVE, _("One of the services of this visit is not offered at this desk.")
        )
    empty = planner.on(replace(planner.snapshot, taken=set()))
    if empty.allocate(start) is None:
        raise BookingError(
            BookingError.CLOSED,
            _(
                "This visit does not fit at that time, even at an empty desk: there is not enough time before the "
                "desk closes, or its parts would have to wait too long for each other. Please pick another time."
            ),
        )
    raise _slot_taken()


def _blocked_units(planner, day) -> set:
    """The grid units of `day` on the location's counters that a counter block covers (in part or whole)."""
    snapshot = planner.snapshot
    grid = snapshot.grid
    tz = snapshot.location.tz
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    units = set()
    for counter_id, begin, end in CounterBlock.objects.filter(
        counter__location=snapshot.location, start__lt=day_end, end__gt=day_start
    ).values_list("counter_id", "start", "end"):
        unit = snapshot.first_grid_point(max(begin, day_start) - grid + timedelta(microseconds=1))
        while unit < min(end, day_end):
            units.add((counter_id, unit.astimezone(UTC)))
            unit += grid
    return units


def _parts_rows(*, appointment: Appointment, parts: Sequence[PartRequest], allocation: VisitAllocation) -> list:
    rows = []
    for index, part in enumerate(parts):
        first, last = allocation.part_span(index)
        seats = [
            [task.person, task.counter_id, task.start.astimezone(UTC).isoformat(), task.end.astimezone(UTC).isoformat()]
            for task in allocation.tasks
            if task.part == index
        ]
        rows.append(
            AppointmentPart(
                appointment=appointment,
                position=index + 1,
                service=part.service,
                start=first,
                end=last,
                persons=list(part.persons),
                seats=sorted(seats),
            )
        )
    return rows


def _claim(
    *,
    appointment: Appointment,
    parts: Sequence[PartRequest],
    allocation: VisitAllocation,
    enforce_notice: bool,
    expires_at: datetime | None,
    now: datetime,
    keep_units: frozenset = frozenset(),
) -> VisitAllocation:
    """Claim the visit's units (all or nothing), placing it afresh if another booking took one meanwhile."""
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            _insert_claims(
                appointment=appointment,
                units=[unit for unit in allocation.units if unit not in keep_units],
                expires_at=expires_at,
                now=now,
            )
            return allocation
        except BookingError:
            if attempt == CLAIM_ATTEMPTS - 1:
                raise
            allocation = _plan(
                location=appointment.location,
                parts=parts,
                start=allocation.start,
                now=now,
                enforce_notice=enforce_notice,
                ignore_appointment_id=appointment.pk if keep_units else None,
            )
    raise _slot_taken()  # pragma: no cover - the loop always returns or raises


def _create_visit(
    *,
    location: Location,
    parts: Sequence[PartRequest],
    start: datetime,
    now: datetime,
    status: str,
    municipality: str,
    language: str,
    enforce_notice: bool,
    expires_at: datetime | None,
    **columns: object,
) -> Appointment:
    """Insert the visit's appointment complete, claim its counter time and write its parts."""
    allocation = _plan(location=location, parts=parts, start=start, now=now, enforce_notice=enforce_notice)
    appointment = _create_appointment(
        location=location,
        service=parts[0].service,
        start=start,
        persons=len(persons_of(parts)),
        now=now,
        status=status,
        municipality=municipality,
        language=language,
        hold_expires_at=expires_at,
        end=allocation.end,
        claimed_units=len(allocation.units),
        part_count=len(parts),
        **columns,
    )
    claimed = _claim(
        appointment=appointment,
        parts=parts,
        allocation=allocation,
        enforce_notice=enforce_notice,
        expires_at=expires_at,
        now=now,
    )
    if claimed != allocation:
        appointment.end = claimed.end
        appointment.claimed_units = len(claimed.units)
        appointment.save(update_fields=["end", "claimed_units"])
    AppointmentPart.objects.bulk_create(_parts_rows(appointment=appointment, parts=parts, allocation=claimed))
    return appointment


# ---- actions --------------------------------------------------------------------------------


def hold_visit(
    *,
    location: Location,
    parts: Sequence[PartRequest],
    start: datetime,
    now: datetime,
    municipality: str = "",
    language: str = "en",
    client_key: str = "",
    share: Share | None = None,
) -> Appointment:
    """Hold the whole visit for a few minutes while the person fills in their details (as hold_slot)."""
    _check_aware(start)
    parts = check_visit_input(parts=parts)
    municipality = _visit_municipality(location=location, parts=parts, municipality=municipality)
    expires_at = hold_expiry(now)
    with hold_transaction(location=location, start=start, now=now, client_key=client_key, share=share) as owner:
        appointment = _create_visit(
            location=location,
            parts=parts,
            start=start,
            now=now,
            status=AppointmentStatus.HELD,
            municipality=municipality,
            language=language,
            enforce_notice=True,
            expires_at=expires_at,
            client_key=owner.key if owner is not None else "",
        )
        fairness.check_shares(appointment=appointment, shares=[owner], now=now)
        _record(appointment=appointment, kind=EventKind.HELD, now=now)
        return appointment


def book_visit(
    *,
    location: Location,
    parts: Sequence[PartRequest],
    start: datetime,
    names: Sequence[PersonName],
    contact_email: str = "",
    phone: str = "",
    language: str = "en",
    municipality: str = "",
    now: datetime,
    booked_by: AbstractBaseUser | None = None,
    enforce_notice: bool = True,
    enforce_customer_limits: bool = True,
    client_key: str = "",
    share: Share | None = None,
) -> BookingResult:
    """Book a whole visit directly, without a hold (desk staff, an employer): as book_appointment."""
    _check_aware(start)
    parts = check_visit_input(parts=parts)
    municipality = _visit_municipality(location=location, parts=parts, municipality=municipality)
    _check_names(names=names, persons=len(persons_of(parts)))
    with booking_transaction(
        location=location,
        start=start,
        client_key=client_key,
        share=share,
        contact_email=contact_email,
        enforce_customer_limits=enforce_customer_limits,
    ) as (owner, mailbox):
        if enforce_customer_limits:
            _check_customer_limits(
                services=[part.service for part in parts],
                email=contact_email,
                now=now,
                exclude_id=None,
                locked=mailbox is not None,
            )
        token = new_manage_token()
        appointment = _create_visit(
            location=location,
            parts=parts,
            start=start,
            now=now,
            status=AppointmentStatus.BOOKED,
            municipality=municipality,
            language=language,
            enforce_notice=enforce_notice,
            expires_at=None,
            **booked_columns(
                now=now, contact_email=contact_email, phone=phone, booked_by=booked_by, owner=owner, token=token
            ),
        )
        return complete_direct_booking(
            appointment=appointment, names=names, shares=[owner, mailbox], now=now, booked_by=booked_by, token=token
        )


def _visit_municipality(*, location: Location, parts: Sequence[PartRequest], municipality: str) -> str:
    """The municipality to store: checked by the first part that needs one; empty when none does."""
    for part in parts:
        if part.service.requires_municipality:
            return _check_municipality(service=part.service, municipality=municipality, location=location)
    return ""


def reclaim_locked_visit(*, locked: Appointment, parts: Sequence[VisitPartView], now: datetime) -> None:
    """A visit's hold lost a claim (it lapsed and another booking took a unit): place the whole visit (its
    `parts`, bookings.selectors.visit_parts) again at its arrival time and claim it, or refuse with SLOT_TAKEN
    (the caller's transaction then keeps nothing). The caller (confirm_locked_hold) has deleted the hold's
    remaining claims."""
    parts = [PartRequest(part.service, part.persons) for part in parts]
    allocation = _plan(location=locked.location, parts=parts, start=locked.start, now=now, enforce_notice=False)
    allocation = _claim(
        appointment=locked, parts=parts, allocation=allocation, enforce_notice=False, expires_at=None, now=now
    )
    _rewrite_parts(locked=locked, parts=parts, allocation=allocation)
    locked.end = allocation.end
    locked.claimed_units = len(allocation.units)


def _rewrite_parts(*, locked: Appointment, parts: Sequence[PartRequest], allocation: VisitAllocation) -> None:
    rows = {row.position: row for row in AppointmentPart.objects.filter(appointment=locked)}
    fresh = _parts_rows(appointment=locked, parts=parts, allocation=allocation)
    for row in fresh:
        row.pk = rows[row.position].pk
    AppointmentPart.objects.bulk_update(fresh, ["start", "end", "seats"])


def move_locked_visit(
    *, locked: Appointment, new_start: datetime, now: datetime, enforce_notice: bool, actor: AbstractBaseUser | None
) -> Appointment:
    """Move the whole visit to a new arrival (the body of a move, from move_locked_booking): the new time is
    claimed before the old is released, so a move that loses any part of the new time keeps the old visit."""
    parts = parts_of(locked)
    old_units = frozenset(SlotClaim.objects.filter(appointment=locked).values_list("counter_id", "unit_start"))
    allocation = _plan(
        location=locked.location,
        parts=parts,
        start=new_start,
        now=now,
        enforce_notice=enforce_notice,
        ignore_appointment_id=locked.pk,
    )
    allocation = _claim(
        appointment=locked,
        parts=parts,
        allocation=allocation,
        enforce_notice=enforce_notice,
        expires_at=None,
        now=now,
        keep_units=old_units,
    )
    released = old_units - frozenset(allocation.units)
    if released:
        SlotClaim.objects.filter(_units_filter(list(released)), appointment=locked).delete()
        _hand_to_blocks(units=list(released), now=now)
        hooks.capacity_freed(location_id=locked.location_id, days=days_around(locked.start), now=now)
    _rewrite_parts(locked=locked, parts=parts, allocation=allocation)
    old_start = locked.start
    locked.start = allocation.start
    locked.end = allocation.end
    locked.claimed_units = len(allocation.units)
    locked.sequence += 1
    locked.save(update_fields=["start", "end", "claimed_units", "sequence"])
    _record(
        appointment=locked,
        kind=EventKind.RESCHEDULED,
        now=now,
        actor=actor,
        detail=f"{old_start.isoformat()} → {locked.start.isoformat()}",
    )
    _write_email(appointment=locked, kind=EmailKind.RESCHEDULE, revision=locked.sequence, now=now)
    return locked
