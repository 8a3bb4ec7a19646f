"""The desk's day with a visit of several parts (issue 13, point 4): each part started, finished or marked as a
no-show on its own.

A visit is one appointment: it is checked in once (bookings/actions/desk.py check_in), and its claims cover
every part. A part's start, finish or no-show moves no counter time: the claims stay until the whole visit is
over, so that a part finished early frees nothing the desk has to count (docs/locking.md). The appointment
follows its parts: it is started when its first part starts (start_locked), and when every part is done or a
no-show, it is done (finish_locked: its claims from now on go, the feedback e-mail is queued) — or, when no
part was done at all, a no-show (no_show_locked). Those two free counter time, so finishing a part and marking
one a no-show take the location's shared lock first (it may be the last), then the appointment's row; starting
a part takes the row lock only. Each step is audited with an AppointmentEvent whose detail names the part's
position and service (no personal data).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings.actions.booking import lock_appointment_at_location
from bookings.actions.common import BookingError, _record
from bookings.actions.desk import _lock_for_desk, _refuse_status, finish_locked, no_show_locked, start_locked
from bookings.models import Appointment, AppointmentPart, AppointmentStatus, EventKind

# Error code (BookingError.code): no such part of this appointment.
NO_SUCH_PART = "no_such_part"


def part_detail(part: AppointmentPart) -> str:
    """The audit trail's detail of a part's step: its position and service, e.g. "2 · BIO"."""
    return f"{part.position} · {part.service.code}"


def _part_of(locked: Appointment, position: int) -> AppointmentPart:
    """The part at `position` of the visit whose row the caller has locked (the row lock covers its parts)."""
    part = AppointmentPart.objects.select_related("service").filter(appointment=locked, position=position).first()
    if part is None:
        raise BookingError(NO_SUCH_PART, _("This booking has no such part."))
    return part


def _refuse_unless_checked_in(locked: Appointment) -> None:
    if locked.status != AppointmentStatus.CHECKED_IN:
        raise _refuse_status(locked)


def _refuse_closed(part: AppointmentPart) -> None:
    if part.done_at is not None:
        raise BookingError(BookingError.INVALID_STATUS, _("This part of the visit is already done."))
    if part.no_show_at is not None:
        raise BookingError(BookingError.INVALID_STATUS, _("This part of the visit was marked as a no-show."))


def start_part_locked(*, locked: Appointment, part: AppointmentPart, now: datetime, actor) -> None:
    """The start of a part, for actions that start one as a step of their own transaction (the queue's call).
    The caller holds the appointment's row lock and has checked that it is checked in and the part open."""
    part.started_at = now
    part.save(update_fields=["started_at"])
    if locked.started_at is None:
        start_locked(locked=locked, now=now, actor=actor)
    _record(appointment=locked, kind=EventKind.PART_STARTED, now=now, actor=actor, detail=part_detail(part))


def close_part_locked(
    *, locked: Appointment, part: AppointmentPart, done: bool, now: datetime, actor, counter_name: str | None = None
) -> None:
    """A part done (or a no-show), for actions that close one as a step of their own transaction (the queue's
    Done and transfer). The caller holds the location's shared lock and the appointment's row lock, and has
    checked that it is checked in and the part open. The last part closed closes the visit."""
    if done:
        part.done_at = now
        if part.started_at is None:
            part.started_at = now
        part.save(update_fields=["done_at", "started_at"])
        kind = EventKind.PART_DONE
    else:
        part.no_show_at = now
        part.save(update_fields=["no_show_at"])
        kind = EventKind.PART_NO_SHOW
    _record(appointment=locked, kind=kind, now=now, actor=actor, detail=part_detail(part))
    states = list(AppointmentPart.objects.filter(appointment=locked).values_list("done_at", "no_show_at"))
    if any(done_at is None and no_show_at is None for done_at, no_show_at in states):
        return
    if any(done_at is not None for done_at, _no_show in states):
        finish_locked(locked=locked, now=now, actor=actor, counter_name=counter_name)
    else:
        no_show_locked(locked=locked, now=now, actor=actor, detail="parts")


def start_part(
    *, appointment: Appointment, position: int, now: datetime, actor: AbstractBaseUser | None
) -> Appointment:
    """Staff call the visit's persons to one of its parts. Moves no counter time: the row lock only."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        _refuse_unless_checked_in(locked)
        part = _part_of(locked, position)
        _refuse_closed(part)
        if part.started_at is not None:
            raise BookingError(BookingError.INVALID_STATUS, _("This part of the visit has already started."))
        start_part_locked(locked=locked, part=part, now=now, actor=actor)
    return locked


def finish_part(
    *, appointment: Appointment, position: int, now: datetime, actor: AbstractBaseUser | None
) -> Appointment:
    """One part of the visit is done; the visit is done with its last part."""
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment)  # the last part frees the visit's counter time
        _refuse_unless_checked_in(locked)
        part = _part_of(locked, position)
        _refuse_closed(part)
        close_part_locked(locked=locked, part=part, done=True, now=now, actor=actor)
    return locked


def no_show_part(
    *, appointment: Appointment, position: int, now: datetime, actor: AbstractBaseUser | None
) -> Appointment:
    """The persons of one part did not come to it (the visit was checked in); a part already started cannot be."""
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment)  # the last part frees the visit's counter time
        _refuse_unless_checked_in(locked)
        part = _part_of(locked, position)
        _refuse_closed(part)
        if part.started_at is not None:
            raise BookingError(BookingError.INVALID_STATUS, _("This part of the visit has started; finish it instead."))
        close_part_locked(locked=locked, part=part, done=False, now=now, actor=actor)
    return locked
