"""Moving a booking at the desk: to another time and/or counter, never onto (or left on) a blocked counter.

Unlike reschedule_appointment (the person's own move, bookings/actions/booking.py) the desk needs no
minimum notice, sees blocked counters as not free even where the booking itself still holds time on one
(bookings/moves.py), refuses a move that changes nothing, and tells the person only when their time
changes: a move to another counter at the same time is the desk's business, not theirs.

The booking invariant is kept the same way: the new units are inserted (under the unique constraint)
before the old ones are deleted, in one transaction, under the location's shared lock and then the
appointment's row lock, as reschedule_appointment takes them (docs/locking.md).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings.actions.booking import lock_appointment_at_location, move_locked_booking
from bookings.actions.common import (
    CLAIM_ATTEMPTS,
    BookingError,
    _check_counter,
    _check_start,
    _hand_to_blocks,
    _insert_claims,
    _record,
    _slot_taken,
    _units_filter,
    _write_email,
)
from bookings.actions.visits import is_visit
from bookings.availability import Allocation, UnitKey
from bookings.cache import days_around
from bookings.models import Appointment, AppointmentStatus, Counter, EmailKind, EventKind, SlotClaim
from bookings.moves import MoveView, booking_units, load_move_view

# Error codes of a desk move (BookingError.code), besides the engine's own (closed, off_grid, in_past, ...).
FULL = "full"  # no counter can take the booking at that time
COUNTER_BLOCKED = "counter_blocked"  # the counter asked for (or the only one free) is blocked then
COUNTER_TAKEN = "counter_taken"  # the counter asked for has another booking then; others are free
NO_CHANGE = "no_change"  # the booking is already there


def _why_not(
    *, view: MoveView, appointment: Appointment, start: datetime, own: frozenset[UnitKey], counter: Counter | None
) -> BookingError:
    """Why the booking does not fit at `start`: blocked, another booking there, full, or too late in the day."""
    service, persons, extra = appointment.service, appointment.persons, appointment.extra_units
    snapshot = view.for_booking(own)
    counters = [counter.pk] if counter else snapshot.counters_for(service)
    if not counters:
        return BookingError(BookingError.COUNTER_INACTIVE, _("This service is not offered at this desk at the moment."))
    empty = replace(snapshot, taken=set())
    if empty.allocate(service=service, persons=persons, start=start, counter_ids=counters, extra_units=extra) is None:
        return BookingError(
            BookingError.CLOSED,
            _("There is not enough time left before the desk closes at that time; please pick an earlier time."),
        )
    full = BookingError(FULL, _("That time is full: no counter is free for this booking then. Pick another time."))
    span_end = start + snapshot.grid * snapshot.units_per_person(service, extra) * persons
    if counter is not None:
        block = view.block_at(counter_id=counter.pk, start=start, end=span_end)
        if block is not None:
            return BookingError(
                COUNTER_BLOCKED,
                _("%(counter)s is blocked at that time (%(reason)s). Pick another counter or time.")
                % {"counter": counter.name, "reason": block.reason},
            )
        free = [
            pk
            for pk in snapshot.counters_for(service)
            if snapshot.allocate(service=service, persons=persons, start=start, counter_ids=[pk], extra_units=extra)
            is not None
        ]
        if free:
            return BookingError(
                COUNTER_TAKEN,
                _("%(counter)s has another booking at that time. Free then: %(free)s.")
                % {"counter": counter.name, "free": view.names(free)},
            )
        if snapshot.allocate(service=service, persons=persons, start=start, extra_units=extra) is not None:
            return BookingError(
                COUNTER_TAKEN,
                _("%(counter)s has another booking at that time. Choose “any free counter”.")
                % {"counter": counter.name},
            )
        return full
    # Any counter: would it fit if the blocked counters were free?
    if view.engine_view(own).allocate(service=service, persons=persons, start=start, extra_units=extra) is not None:
        blocked_then = [
            pk
            for pk in snapshot.counters_for(service)
            if view.block_at(counter_id=pk, start=start, end=span_end) is not None
        ]
        return BookingError(
            COUNTER_BLOCKED,
            _("No other counter is free at that time: %(counters)s is blocked then. Pick another time.")
            % {"counters": view.names(blocked_then)},
        )
    return full


def _allocate(
    *, view: MoveView, appointment: Appointment, start: datetime, own: frozenset[UnitKey], counter: Counter | None
) -> Allocation:
    service, persons, extra = appointment.service, appointment.persons, appointment.extra_units
    if counter is None and start == appointment.start:
        # "Any free counter" at the same time: stay where it is if that is still free (then nothing changes).
        current = sorted({counter_id for counter_id, _unit in own})
        staying = view.allocate(
            service=service, persons=persons, start=start, own_units=own, counter_ids=current, extra_units=extra
        )
        if staying is not None and frozenset(staying.units) == own:
            raise BookingError(NO_CHANGE, _("The booking is already at that time; nothing was moved."))
    allocation = view.allocate(
        service=service,
        persons=persons,
        start=start,
        own_units=own,
        counter_ids=[counter.pk] if counter else None,
        extra_units=extra,
    )
    if allocation is None:
        raise _why_not(view=view, appointment=appointment, start=start, own=own, counter=counter)
    if allocation.start == appointment.start and frozenset(allocation.units) == own:
        raise BookingError(NO_CHANGE, _("The booking is already at that time on that counter; nothing was moved."))
    return allocation


def move_appointment(
    *,
    appointment: Appointment,
    new_start: datetime,
    now: datetime,
    actor: AbstractBaseUser | None,
    counter: Counter | None = None,
) -> Appointment:
    """Move a booking to another time and/or counter at staff's request (no minimum notice).

    `counter=None` is "any free counter": a blocked counter is never chosen, so a booking on a blocked
    counter leaves it even at the same time (or the move is refused when no other counter is free). The
    person gets the reschedule e-mail only when the time changes."""
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment, more_days=tuple(days_around(new_start)))
        if locked.status != AppointmentStatus.BOOKED:
            raise BookingError(BookingError.INVALID_STATUS, _("Only a booked appointment can be moved."))
        if is_visit(locked):
            # A visit of several parts moves whole, every part's rules checked again by the visit planner
            # (a chosen counter is refused there: the planner places the parts).
            return move_locked_booking(
                locked=locked, new_start=new_start, now=now, counter=counter, enforce_notice=False, actor=actor
            )
        if counter is not None:
            _check_counter(counter=counter, location=locked.location, service=locked.service)
        own = booking_units(appointment_ids=[locked.pk])[locked.pk]
        day = new_start.astimezone(locked.location.tz).date() if new_start.tzinfo else new_start.date()
        for attempt in range(CLAIM_ATTEMPTS):
            view = load_move_view(location=locked.location, day=day, now=now)
            _check_start(snapshot=view.snapshot, service=locked.service, start=new_start, now=now, enforce_notice=False)
            allocation = _allocate(view=view, appointment=locked, start=new_start, own=own, counter=counter)
            try:
                _insert_claims(
                    appointment=locked,
                    units=[unit for unit in allocation.units if unit not in own],
                    expires_at=None,
                    now=now,
                )
            except BookingError:
                if attempt == CLAIM_ATTEMPTS - 1:
                    raise
                continue  # another booking won a unit meanwhile: look again
            break
        else:  # pragma: no cover - the loop always breaks or raises
            raise _slot_taken()
        released = own - frozenset(allocation.units)
        if released:
            SlotClaim.objects.filter(_units_filter(list(released)), appointment=locked).delete()
            _hand_to_blocks(units=list(released), now=now)  # time on a blocked counter stays blocked
        old_start, old_end = locked.start, locked.end
        time_changed = (allocation.start, allocation.end) != (old_start, old_end)
        locked.claimed_units = len(allocation.units)
        if time_changed:
            locked.start, locked.end = allocation.start, allocation.end
            locked.sequence += 1
            locked.save(update_fields=["start", "end", "claimed_units", "sequence"])
            detail = f"{old_start.isoformat()} → {locked.start.isoformat()}"
        else:
            locked.save(update_fields=["claimed_units"])
            old_counters = view.names(counter_id for counter_id, _unit in own)
            detail = f"{old_counters} → {view.names(counter_id for counter_id, _unit in allocation.units)}"
        _record(appointment=locked, kind=EventKind.RESCHEDULED, now=now, actor=actor, detail=detail)
        if time_changed:
            _write_email(appointment=locked, kind=EmailKind.RESCHEDULE, revision=locked.sequence, now=now)
    return locked
