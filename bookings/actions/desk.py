"""What desk staff do during the day: check-in, service, no-shows, walk-ins, moves, counter blocks, closures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bookings import hooks
from bookings.actions.booking import (
    _check_booking_input,
    book_in_transaction,
    cancel_appointment,
    lock_appointment_at_location,
)
from bookings.actions.common import (
    BookingError,
    BookingResult,
    PersonName,
    _hand_to_blocks,
    _record,
    _slot_taken,
)
from bookings.actions.configuration import INVALID_PERIOD, REASON_REQUIRED, record_configuration
from bookings.actions.outbox import queue_feedback_request
from bookings.availability import CapacitySnapshot, load_snapshot
from bookings.cache import days_around
from bookings.locking import EXCLUSIVE, capacity_changes
from bookings.models import (
    Appointment,
    AppointmentPart,
    AppointmentStatus,
    ConfigurationKind,
    Counter,
    CounterBlock,
    EventKind,
    Location,
    SlotClaim,
)
from services.models import Service

# ---- desk actions: what staff do during the day (issue 4) -----------------------------------
# Imports for this section only, so the top of the module stays as other changes left it.


# Error codes of the desk actions (BookingError.code).
NOT_TODAY = "not_today"
TOO_EARLY = "too_early"
NO_CAPACITY = "no_capacity"
# How many walk-in starts are tried when other bookings take the chosen one meanwhile.
WALK_IN_ATTEMPTS = 3
# The longest a counter can be blocked in one go.
MAX_BLOCK_DAYS = 62
# The one date format of the desk's pages and messages ("Tue 1 Dec 2026", "di 1 dec 2026"), as Django's
# date format characters, per language; the desk's templates use it through desk/templatetags/desk_format.py.
DESK_DATE_FORMAT = pgettext_lazy("date format of the desk, in Django's date format characters", "D j M Y")


def _lock_for_desk(appointment: Appointment) -> Appointment:
    # For steps that move no counter time (check-in, start): no location lock (docs/locking.md).
    # Lock the appointment row only, not the joined location (see _lock_with_service in booking.py on deadlocks).
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


@dataclass(frozen=True)
class CheckInResult:
    appointment: Appointment
    # Lines for the staff member who checked the person in, from the apps above `bookings` (the queue's
    # "Ticket B012"): bookings/hooks.py checked_in.
    notes: tuple[str, ...] = ()


def check_in(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> CheckInResult:
    """The person has arrived: only a booking for today that is still booked. The queue's ticket is issued in
    the same transaction (the check-in hook)."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        if locked.status != AppointmentStatus.BOOKED:
            raise _refuse_status(locked)
        tz = locked.location.tz
        if locked.start.astimezone(tz).date() != now.astimezone(tz).date():
            raise BookingError(
                NOT_TODAY,
                _("This booking is for %(day)s, not today.")
                % {"day": date_format(locked.start.astimezone(tz), str(DESK_DATE_FORMAT))},
            )
        notes = check_in_locked(locked=locked, now=now, actor=actor)
    return CheckInResult(appointment=locked, notes=tuple(notes))


def check_in_locked(
    *, locked: Appointment, now: datetime, actor: AbstractBaseUser | None, detail: str = ""
) -> list[str]:
    """The check-in itself, for actions that check in as one step of their own transaction (the kiosk). The
    caller holds the row lock and has checked the status and the day. The apps above `bookings` hear of it in
    the same transaction (hooks.checked_in: the queue issues the ticket); returns their lines for staff."""
    locked.status = AppointmentStatus.CHECKED_IN
    locked.checked_in_at = now
    locked.save(update_fields=["status", "checked_in_at"])
    _record(appointment=locked, kind=EventKind.CHECKED_IN, now=now, actor=actor, detail=detail)
    return hooks.checked_in(appointment=locked, now=now, actor=actor)


def start_service(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """A staff member calls the person to the counter."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        if locked.status != AppointmentStatus.CHECKED_IN:
            raise _refuse_status(locked)
        if locked.started_at is not None:
            raise BookingError(BookingError.INVALID_STATUS, _("This appointment has already started."))
        start_locked(locked=locked, now=now, actor=actor)
    return locked


def start_locked(*, locked: Appointment, now: datetime, actor: AbstractBaseUser | None) -> None:
    """The start itself, for actions that start an appointment as one step of their own transaction (the
    queue's first call). The caller holds the row lock and has checked the status."""
    locked.started_at = now
    locked.save(update_fields=["started_at"])
    _record(appointment=locked, kind=EventKind.STARTED, now=now, actor=actor)


def finish_service(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """Done: the counter time left over is free again for walk-ins."""
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment)
        if locked.status != AppointmentStatus.CHECKED_IN:
            raise _refuse_status(locked)
        finish_locked(locked=locked, now=now, actor=actor)
    return locked


def finish_locked(
    *, locked: Appointment, now: datetime, actor: AbstractBaseUser | None, counter_name: str | None = None
) -> None:
    """Done itself, for actions that finish an appointment as one step of their own transaction (the queue's
    Done). The caller holds the location lock and the row lock and has checked that it is checked in.
    `counter_name`: where it was served (None: the counters of its claims)."""
    locked.status = AppointmentStatus.DONE
    locked.done_at = now
    if locked.started_at is None:
        locked.started_at = now
    locked.save(update_fields=["status", "done_at", "started_at"])
    if locked.part_count > 1:  # a visit done as a whole: its parts still open are done with it
        open_parts = AppointmentPart.objects.filter(appointment=locked, done_at__isnull=True, no_show_at__isnull=True)
        open_parts.update(done_at=now, started_at=Coalesce("started_at", Value(now)))
    # Served before the end of its time, the rest of its claims go: the counter it was served at stays
    # on record in the event (the agenda and the CSV export read it there).
    if counter_name is None:
        names = SlotClaim.objects.filter(appointment=locked).values_list("counter__name", flat=True)
        counter_name = ", ".join(sorted(set(names)))
    _release_from(appointment=locked, now=now)
    _record(appointment=locked, kind=EventKind.DONE, now=now, actor=actor, detail=counter_name)
    # "How was your visit?", a while later (EXPATDESK_FEEDBACK_DELAY_MINUTES); never after a no-show or
    # a cancellation: only done writes it.
    queue_feedback_request(appointment=locked, now=now)


def mark_no_show(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """The person did not come: only once the start time has passed. Frees the rest of their counter time."""
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment)
        if locked.status != AppointmentStatus.BOOKED:
            raise _refuse_status(locked)
        if now < locked.start:
            raise BookingError(
                TOO_EARLY,
                _("A no-show can only be marked after the start time (%(time)s).")
                % {"time": locked.start.astimezone(locked.location.tz).strftime("%H:%M")},
            )
        no_show_locked(locked=locked, now=now, actor=actor)
    return locked


def no_show_locked(*, locked: Appointment, now: datetime, actor: AbstractBaseUser | None, detail: str = "") -> None:
    """The no-show itself, for actions that mark one as a step of their own transaction (the queue's last
    skip). The caller holds the location lock and the row lock and has checked the status."""
    locked.status = AppointmentStatus.NO_SHOW
    locked.no_show_at = now
    locked.save(update_fields=["status", "no_show_at"])
    if locked.part_count > 1:  # nobody came: every part still open is a no-show too
        AppointmentPart.objects.filter(appointment=locked, done_at__isnull=True, no_show_at__isnull=True).update(
            no_show_at=now
        )
    _release_from(appointment=locked, now=now)
    _record(appointment=locked, kind=EventKind.NO_SHOW, now=now, actor=actor, detail=detail)


def staff_cancel_appointment(
    *, appointment: Appointment, reason: str, now: datetime, actor: AbstractBaseUser | None
) -> Appointment:
    """Cancel on the person's behalf, with a reason; they get the cancellation e-mail as usual.

    A checked-in appointment (a walk-in entered twice, or checked in by mistake) can be cancelled too: its
    counter time goes, and no e-mail is sent (the person is at the desk)."""
    reason = " ".join(reason.split())
    if not reason:
        raise BookingError(REASON_REQUIRED, _("Please give a reason for the cancellation."))
    with transaction.atomic(durable=True):
        locked = lock_appointment_at_location(appointment)  # its counter time may go
        if locked.status == AppointmentStatus.CHECKED_IN:
            claims = SlotClaim.objects.filter(appointment=locked)
            released = list(claims.values_list("counter_id", "unit_start"))
            claims.delete()
            _hand_to_blocks(units=released, now=now)  # time on a blocked counter stays blocked
            locked.status = AppointmentStatus.CANCELLED
            locked.cancelled_at = now
            locked.cancel_reason = reason[:200]
            locked.sequence += 1
            locked.save(update_fields=["status", "cancelled_at", "cancel_reason", "sequence"])
            _record(appointment=locked, kind=EventKind.CANCELLED, now=now, actor=actor, detail=locked.cancel_reason)
            hooks.capacity_freed(location_id=locked.location_id, days=days_around(locked.start), now=now)
            return locked
    return cancel_appointment(appointment=appointment, now=now, reason=reason, actor=actor)


def undo_check_in(*, appointment: Appointment, now: datetime, actor: AbstractBaseUser | None) -> Appointment:
    """A check-in by mistake: the appointment is booked again (expected), as long as nobody was called yet."""
    with transaction.atomic(durable=True):
        locked = _lock_for_desk(appointment)
        if locked.status != AppointmentStatus.CHECKED_IN:
            raise BookingError(BookingError.INVALID_STATUS, _("This person is not checked in."))
        # A visit of several parts: a part marked as a no-show counts as called too.
        called = locked.started_at is not None or (
            locked.part_count > 1
            and AppointmentPart.objects.filter(appointment=locked, no_show_at__isnull=False).exists()
        )
        if called:
            raise BookingError(
                BookingError.INVALID_STATUS,
                _("This person has already been called to the counter; the check-in cannot be undone."),
            )
        locked.status = AppointmentStatus.BOOKED
        locked.checked_in_at = None
        locked.save(update_fields=["status", "checked_in_at"])
        _record(appointment=locked, kind=EventKind.CHECK_IN_UNDONE, now=now, actor=actor)
    return locked


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
    """Book someone at the desk into the first free time from now, today, and check them in: one step."""
    today = now.astimezone(location.tz).date()
    municipality = _check_booking_input(
        location=location, service=service, start=now, names=names, municipality=municipality
    )
    for _attempt in range(WALK_IN_ATTEMPTS):
        try:
            with transaction.atomic(durable=True):
                capacity_changes(location_id=location.pk, days=[today])
                snapshot = load_snapshot(location=location, start_date=today, end_date=today, now=now)
                start = _first_fit_from(snapshot=snapshot, service=service, persons=len(names), now=now)
                if start is None:
                    raise BookingError(
                        NO_CAPACITY,
                        _("There is no free counter time left today for this service and number of persons."),
                    )
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
                    counter=None,
                    booked_by=actor,
                    enforce_notice=False,
                    enforce_customer_limits=False,  # staff decide at the desk
                    status=AppointmentStatus.CHECKED_IN,
                )
        except BookingError as error:
            if error.code == BookingError.SLOT_TAKEN:
                continue  # someone took it meanwhile: look again
            raise
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
                    units.append(unit.astimezone(UTC))
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
        [
            SlotClaim(block=block, counter=block.counter, unit_start=unit, unit_end=unit + snapshot.grid)
            for unit in units
        ],
        ignore_conflicts=True,
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
        capacity_changes(location_id=counter.location_id, mode=EXCLUSIVE)
        if not Counter.objects.filter(pk=counter.pk, is_active=True).exists():
            raise BookingError(BookingError.COUNTER_INACTIVE, _("That counter is not in use."))
        block = CounterBlock.objects.create(
            counter=counter, start=start, end=end, reason=reason[:200], created_at=now, created_by=actor
        )
        _claim_block_units(block=block, now=now)
        record_configuration(
            location_id=counter.location_id,
            kind=ConfigurationKind.BLOCK_ADDED,
            now=now,
            actor=actor,
            detail=_block_detail(block),
        )
    return block


def _block_detail(block: CounterBlock) -> str:
    tz = block.counter.location.tz
    return (
        f"{block.counter.name}: {block.start.astimezone(tz):%Y-%m-%d %H:%M} – {block.end.astimezone(tz):%Y-%m-%d %H:%M}"
    )


def end_counter_block(*, block: CounterBlock, now: datetime, actor: AbstractBaseUser | None = None) -> None:
    """Put the counter back in service: its block and the block's claims go."""
    with transaction.atomic(durable=True):
        capacity_changes(location_id=block.counter.location_id, mode=EXCLUSIVE)
        deleted, _rows = CounterBlock.objects.filter(pk=block.pk).delete()
        if deleted:
            hooks.capacity_freed(location_id=block.counter.location_id, days=None, now=now)
            record_configuration(
                location_id=block.counter.location_id,
                kind=ConfigurationKind.BLOCK_ENDED,
                now=now,
                actor=actor,
                detail=_block_detail(block),
            )
