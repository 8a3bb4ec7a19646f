"""Opening-hours changes, read-only: the rows a proposed change leaves, and the live appointments it would
leave outside opening hours or off the time grid.

Used by bookings.actions.change_opening_hours (under a lock), by the desk's capacity preview and by the
admin's location page (bookings.admin), so the three agree on what "outside" means. One query for the
appointments; everything else is computed in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q

from bookings.models import Appointment, AppointmentStatus, Location, OpeningHours

# The most opening intervals one weekday can have in one change (a morning, an afternoon, an evening, ...).
MAX_INTERVALS = 4


@dataclass(frozen=True)
class HoursChange:
    """New opening intervals for one weekday from `valid_from` to `valid_until` (open ends when None).
    No intervals: closed on that weekday in that period."""

    weekday: int
    intervals: tuple[tuple[time, time], ...]
    valid_from: date | None = None
    valid_until: date | None = None


def _day_before(day: date | None) -> date | None:
    return None if day is None else day - timedelta(days=1)


def _day_after(day: date | None) -> date | None:
    return None if day is None else day + timedelta(days=1)


def _overlaps(row: OpeningHours, change: HoursChange) -> bool:
    starts_before_change_ends = (
        change.valid_until is None or row.valid_from is None or row.valid_from <= change.valid_until
    )
    ends_after_change_starts = (
        change.valid_from is None or row.valid_until is None or row.valid_until >= change.valid_from
    )
    return row.weekday == change.weekday and starts_before_change_ends and ends_after_change_starts


@dataclass(frozen=True)
class HoursPlan:
    """What a change does to the rows: which to delete, which (unsaved) to create, and the resulting set."""

    delete: list[OpeningHours]
    create: list[OpeningHours]
    result: list[OpeningHours]


def plan_change(*, location: Location, current: Iterable[OpeningHours], change: HoursChange) -> HoursPlan:
    """Replace the weekday's hours within the change's period; rows reaching outside it keep those parts
    (a row is cut into the part before and the part after the period)."""
    delete: list[OpeningHours] = []
    create: list[OpeningHours] = []
    kept: list[OpeningHours] = []
    for row in current:
        if not _overlaps(row, change):
            kept.append(row)
            continue
        delete.append(row)
        if change.valid_from is not None and (row.valid_from is None or row.valid_from < change.valid_from):
            create.append(_copy(row, valid_from=row.valid_from, valid_until=_day_before(change.valid_from)))
        if change.valid_until is not None and (row.valid_until is None or row.valid_until > change.valid_until):
            create.append(_copy(row, valid_from=_day_after(change.valid_until), valid_until=row.valid_until))
    create += [
        OpeningHours(
            location=location,
            weekday=change.weekday,
            start_time=start,
            end_time=end,
            valid_from=change.valid_from,
            valid_until=change.valid_until,
        )
        for start, end in change.intervals
    ]
    return HoursPlan(delete=delete, create=create, result=kept + create)


def _copy(row: OpeningHours, *, valid_from: date | None, valid_until: date | None) -> OpeningHours:
    return OpeningHours(
        location_id=row.location_id,
        weekday=row.weekday,
        start_time=row.start_time,
        end_time=row.end_time,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def live_appointments_from(*, location: Location, now: datetime) -> list[Appointment]:
    """Appointments still to come or under way that hold counter time (holds only while they last)."""
    return list(
        Appointment.objects.filter(location=location, end__gt=now)
        .filter(
            Q(status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN])
            | Q(status=AppointmentStatus.HELD, hold_expires_at__gt=now)
        )
        .select_related("service", "location")
        .order_by("start", "pk")
    )


def fits(*, appointment: Appointment, hours: Sequence[OpeningHours], location: Location, grid_minutes: int) -> bool:
    """Whether the appointment lies within one opening interval of its day and starts on the grid."""
    tz = location.tz
    start, end = appointment.start.astimezone(tz), appointment.end.astimezone(tz)
    day = start.date()
    if (start.hour * 60 + start.minute) % grid_minutes or start.second or start.microsecond:
        return False
    return any(
        datetime.combine(day, row.start_time, tzinfo=tz) <= start
        and end <= datetime.combine(day, row.end_time, tzinfo=tz)
        for row in hours
        if row.applies_on(day)
    )


def appointments_outside(
    *,
    location: Location,
    current: Sequence[OpeningHours],
    proposed: Sequence[OpeningHours],
    now: datetime,
    changed: Location | None = None,
) -> list[Appointment]:
    """The live appointments at `location` (as saved) that fit the `current` rows and its grid, but that the
    `proposed` rows (the whole set the location would have) would leave outside opening hours or off the
    grid; with `changed` (the location as edited, unsaved), also under its new grid and time zone, and all
    of them when it is made inactive. An appointment already outside before is not the change's doing and
    does not block it."""
    after = changed or location
    return [
        appointment
        for appointment in live_appointments_from(location=location, now=now)
        if location.is_active
        and fits(appointment=appointment, hours=current, location=location, grid_minutes=location.grid_minutes)
        and not (
            after.is_active
            and fits(appointment=appointment, hours=proposed, location=after, grid_minutes=after.grid_minutes)
        )
    ]
