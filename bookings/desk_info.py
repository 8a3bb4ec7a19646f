"""What the public pages tell about a desk's days, read-only: the opening hours valid today and the changes
coming, the days it is closed (with the closure's or the public holiday's name), and its upcoming closures.

Computed in memory from the location's opening-hours rows and its closures (one query each, whatever their
number); public holidays come from the `holidays` package, named in the active language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from django.db.models import Q

from bookings.availability import public_holiday_name
from bookings.models import Closure, Location, OpeningHours, Weekday

Intervals = tuple[tuple[time, time], ...]
Week = dict[int, Intervals]  # weekday (0 = Monday) → its opening intervals; closed weekdays are left out

# How far ahead the start page looks for changes of the opening hours.
CHANGES_WITHIN_DAYS = 366
# At most this many coming changes are listed.
MAX_CHANGES = 3


@dataclass(frozen=True)
class WeekdayHours:
    weekday: int
    intervals: Intervals  # empty: closed that weekday

    @property
    def label(self) -> str:
        return str(Weekday(self.weekday).label)


@dataclass(frozen=True)
class HoursChange:
    """From `starts` on, these weekdays have other hours than before."""

    starts: date
    days: tuple[WeekdayHours, ...]


@dataclass(frozen=True)
class ClosedPeriod:
    first: date
    last: date
    name: str


def week_on(rows: Iterable[OpeningHours], day: date) -> Week:
    """The weekly opening hours valid on `day`: each weekday's intervals from the rows valid then."""
    week: dict[int, set[tuple[time, time]]] = {}
    for row in rows:
        if (row.valid_from is None or row.valid_from <= day) and (row.valid_until is None or day <= row.valid_until):
            week.setdefault(row.weekday, set()).add((row.start_time, row.end_time))
    return {weekday: tuple(sorted(intervals)) for weekday, intervals in sorted(week.items())}


def opening_week(rows: Iterable[OpeningHours], *, today: date) -> list[WeekdayHours]:
    """Today's opening hours, Monday first; weekdays without hours are left out."""
    return [WeekdayHours(weekday, intervals) for weekday, intervals in week_on(rows, today).items()]


def coming_changes(
    rows: Sequence[OpeningHours], *, today: date, limit: int = MAX_CHANGES, within_days: int = CHANGES_WITHIN_DAYS
) -> list[HoursChange]:
    """The dates after today on which the weekly hours change, with the weekdays that change (in order)."""
    horizon = today + timedelta(days=within_days)
    points = sorted(
        {row.valid_from for row in rows if row.valid_from is not None and today < row.valid_from <= horizon}
        | {
            row.valid_until + timedelta(days=1)
            for row in rows
            if row.valid_until is not None and today <= row.valid_until < horizon
        }
    )
    changes: list[HoursChange] = []
    before = week_on(rows, today)
    for point in points:
        after = week_on(rows, point)
        changed = tuple(
            WeekdayHours(weekday, after.get(weekday, ()))
            for weekday in range(7)
            if before.get(weekday, ()) != after.get(weekday, ())
        )
        if changed:
            changes.append(HoursChange(starts=point, days=changed))
            if len(changes) == limit:
                break
        before = after
    return changes


def load_closures(*, location: Location, start: date, end: date) -> list[Closure]:
    """The location's closures (and those of every location) that touch [start, end]: one query."""
    return list(
        Closure.objects.filter(Q(location=location) | Q(location__isnull=True))
        .filter(start_date__lte=end, end_date__gte=start)
        .order_by("start_date", "pk")
    )


def closure_name(day: date, closures: Iterable[Closure]) -> str | None:
    """Why the desk is closed on `day`: an admin's closure, else a Dutch public holiday; None when it is not."""
    for closure in closures:
        if closure.start_date <= day <= closure.end_date:
            return closure.reason
    return public_holiday_name(day)


def closed_reason(*, rows: Sequence[OpeningHours], closures: Sequence[Closure], day: date) -> str | None:
    """Why the desk is closed on `day`: the closure's or public holiday's name, "" when it does not open on
    that weekday at all; None when it opens by its hours (it may still be fully booked)."""
    if day.weekday() not in week_on(rows, day):
        return ""
    return closure_name(day, closures)


def closed_days(
    *, rows: Sequence[OpeningHours], closures: Sequence[Closure], start: date, end: date
) -> dict[date, str]:
    """The days in [start, end] on which the desk would be open by its hours but is closed, with the reason."""
    result: dict[date, str] = {}
    day = start
    while day <= end:
        if day.weekday() in week_on(rows, day):
            name = closure_name(day, closures)
            if name is not None:
                result[day] = name
        day += timedelta(days=1)
    return result


def upcoming_closures(
    *, rows: Sequence[OpeningHours], closures: Sequence[Closure], today: date, until: date
) -> list[ClosedPeriod]:
    """The closed days from today to `until`, consecutive days with the same reason as one period
    (days the desk is closed anyway, such as weekends, do not break a period)."""
    periods: list[ClosedPeriod] = []
    for day, name in sorted(closed_days(rows=rows, closures=closures, start=today, end=until).items()):
        last = periods[-1] if periods else None
        if last is not None and last.name == name and _only_closed_between(rows, last.last, day):
            periods[-1] = ClosedPeriod(first=last.first, last=day, name=name)
        else:
            periods.append(ClosedPeriod(first=day, last=day, name=name))
    return periods


def _only_closed_between(rows: Sequence[OpeningHours], first: date, last: date) -> bool:
    day = first + timedelta(days=1)
    while day < last:
        if day.weekday() in week_on(rows, day):
            return False
        day += timedelta(days=1)
    return True
