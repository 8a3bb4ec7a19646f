"""Opening-hours changes, refused while they would leave live appointments outside the hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings import opening_hours as hours_rules
from bookings.actions.common import (
    BookingError,
)
from bookings.actions.desk import (
    INVALID_PERIOD,
)
from bookings.models import (
    Appointment,
    Location,
    OpeningHours,
)

# ---- opening-hours changes (issue 4, point 5) ---------------------------------------------------
# Imports for this section only, so the top of the module stays as other changes left it.


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
