"""Opening-hours changes from the desk's capacity page: one weekday, for a period, previewed first.

Under the location's exclusive lock (docs/locking.md); refused while they would leave live appointments
outside the hours (AppointmentsOutsideHours lists them). The admin's location page saves the complete set
of a location's hours through bookings.actions.configuration.configure_location, with the same checks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings import opening_hours as hours_rules
from bookings.actions.common import BookingError
from bookings.actions.configuration import (
    INVALID_HOURS,
    INVALID_PERIOD,
    AppointmentsOutsideHours,
    check_hours_rows,
    hours_rows_of,
    record_configuration,
)
from bookings.locking import EXCLUSIVE, capacity_changes
from bookings.models import ConfigurationKind, Location, OpeningHours


def _check_hours_change(*, change: hours_rules.HoursChange, now: datetime, location: Location) -> None:
    if change.weekday not in range(7):
        raise BookingError(INVALID_HOURS, _("Pick a weekday."))
    if len(change.intervals) > hours_rules.MAX_INTERVALS:
        raise BookingError(
            INVALID_HOURS,
            _("A day can have at most %(count)d opening intervals.") % {"count": hours_rules.MAX_INTERVALS},
        )
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
        capacity_changes(location_id=location.pk, mode=EXCLUSIVE)
        location = Location.objects.get(pk=location.pk)
        current = list(OpeningHours.objects.filter(location=location).order_by("weekday", "start_time", "pk"))
        plan = hours_rules.plan_change(location=location, current=current, change=change)
        check_hours_rows(hours_rows_of(plan.result))
        outside = hours_rules.appointments_outside(location=location, current=current, proposed=plan.result, now=now)
        if outside:
            raise AppointmentsOutsideHours(outside)
        OpeningHours.objects.filter(pk__in=[row.pk for row in plan.delete]).delete()
        OpeningHours.objects.bulk_create(plan.create)
        record_configuration(
            location_id=location.pk,
            kind=ConfigurationKind.HOURS_CHANGED,
            now=now,
            actor=actor,
            detail=describe_hours_change(change),
        )
        return list(OpeningHours.objects.filter(location=location).order_by("weekday", "start_time", "pk"))


def describe_hours_change(change: hours_rules.HoursChange) -> str:
    """What the audit trail says of a change, e.g. 'weekday 1: 09:00-12:00, 13:00-16:00 (2027-01-05 - …)'."""
    intervals = ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in change.intervals) or "closed"
    period = ""
    if change.valid_from or change.valid_until:
        period = f" ({change.valid_from or '…'} – {change.valid_until or '…'})"
    return f"weekday {change.weekday}: {intervals}{period}"
