"""Pruning the claims of past days, so the claims table grows with the booking horizon, not with history.

A claim only keeps two live appointments apart; once its unit has ended it protects nothing. Claims of
past days are deleted in batches by a beat task; the appointments keep their rows (and their history),
so statistics, the audit trail and anonymisation are unaffected.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from bookings.availability_kept import utc_day
from bookings.models import BOOKED_STATUSES, Appointment, ClaimsVersion, Location, SlotClaim

PRUNE_BATCH = 10_000


def prune_past_claims(*, now: datetime, limit: int = PRUNE_BATCH) -> int:
    """Delete at most `limit` claims whose unit ended by the start of its location's current local day
    (in the location's time zone, so a desk's "today" is whole whatever the server's clock); returns how
    many. One durable transaction; the beat task calls it until a batch comes back short.

    The batch that comes back short, every past claim gone, deletes the claims versions of the days before
    yesterday (UTC) too: they have no lasting claims left, which is what a day without a version says
    (bookings.models.ClaimsVersion), and so they do not grow with history either."""
    condition = Q(pk__in=[])
    for location in Location.objects.only("pk", "time_zone", "grid_minutes"):
        tz = location.tz
        start_of_today = datetime.combine(now.astimezone(tz).date(), time.min, tzinfo=tz)
        last_start = start_of_today - timedelta(minutes=location.grid_minutes)
        condition |= Q(counter__location_id=location.pk, unit_start__lte=last_start)
    with transaction.atomic(durable=True):
        rows = list(SlotClaim.objects.filter(condition).order_by().values_list("pk", "appointment_id")[:limit])
        if rows:
            SlotClaim.objects.filter(pk__in=[pk for pk, _appointment in rows]).delete()
            # A booking of a past day never marked done or no-show owns fewer claims now: say so, or the
            # database's own check of booked appointments (migration 0006) refuses the commit.
            touched = {appointment for _pk, appointment in rows if appointment is not None}
            remaining = SlotClaim.objects.filter(appointment=OuterRef("pk")).order_by().values("appointment")
            Appointment.objects.filter(pk__in=touched, status__in=BOOKED_STATUSES).update(
                claimed_units=Coalesce(Subquery(remaining.annotate(n=Count("pk")).values("n")), 0)
            )
        if len(rows) < limit:
            # A claim of those days ended before any European location's today began (UTC-1 to UTC+4).
            ClaimsVersion.objects.filter(day__lt=utc_day(int(now.timestamp())) - 1).delete()
    return len(rows)
