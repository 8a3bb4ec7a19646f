"""Read-only checks against slot hoarding and repeated book-and-cancel (issue 5), used by bookings/actions/.

- One live booking per mailbox per service: a BOOKED or CHECKED_IN appointment for the service, booked
  for the same mailbox (`Appointment.mailbox_key`: the address normalised as its provider reads it,
  bookings/mailboxes.py, so `name+1@` and `name+2@` are one mailbox), that has not ended yet.
- A bounded number of live holds per client address: the appointment stores a keyed hash of the address
  (`Appointment.client_key`, HMAC-SHA256 with the secret key, so a copy of the database alone does not
  give the address back); only HELD appointments count here. The key stays when the hold is booked (the
  fair-share caps count bookings per address, bookings/fairness.py) and is cleared when it is cancelled
  or lapses, and erased with the personal data.
- A cool-down after repeated cancellations: EXPATDESK_COOLDOWN_CANCELLATIONS bookings cancelled online by
  the person (not by staff) within EXPATDESK_COOLDOWN_DAYS days refuse new bookings with that address for
  EXPATDESK_COOLDOWN_HOURS hours after the last of them (per mailbox, as above).

Concurrency: a count followed by an insert is a race, so the actions take a transaction-scoped advisory
lock (PostgreSQL `pg_advisory_xact_lock`) on the mailbox or the client key first; two bookings
with the same address, or two holds from the same address, then run one after the other, and the
second one sees the first's row. SQLite runs one writing transaction at a time anyway.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.http import HttpRequest
from django_ratelimit.core import _get_ip

from bookings.availability_sql import key_is
from bookings.mailboxes import mailbox_key
from bookings.models import Appointment, AppointmentEvent, AppointmentPart, AppointmentStatus, EventKind
from services.models import Service

LIVE_BOOKING_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


def client_key_for_address(address: str) -> str:
    """A keyed hash of a client address: equal for equal addresses, useless without the secret key."""
    return hmac.new(settings.SECRET_KEY.encode(), f"client:{address}".encode(), hashlib.sha256).hexdigest()


def client_key_for(request: HttpRequest) -> str:
    """The client key of the request's address (the same address django-ratelimit counts: REMOTE_ADDR,
    or RATELIMIT_IP_META_KEY behind a proxy; IPv6 by /64)."""
    try:
        address = _get_ip(request)
    except Exception:  # no usable address (e.g. a Unix socket without a proxy header)
        return ""
    return client_key_for_address(address)


def lock(name: str) -> None:
    """Serialise transactions about `name` until the current transaction ends (PostgreSQL only).

    Taken after the location lock and before any row lock (docs/locking.md, "Order")."""
    lock_all([name])


def lock_all(names: Sequence[str]) -> None:
    """lock() each of `names`, in the order given, in one statement: PostgreSQL evaluates a SELECT's target
    list from left to right, so the locks are taken in that order, as by one statement each."""
    if connection.vendor != "postgresql" or not names:
        return
    keys = [int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True) for name in names]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["pg_advisory_xact_lock(%s)"] * len(keys)), keys)


def lock_email(email: str) -> None:
    """Lock the mailbox `email` delivers to (the lock bookings/fairness.py takes for a mailbox's share)."""
    lock(f"mailbox:{mailbox_key(email)}")


def lock_client(client_key: str) -> None:
    lock(f"client:{client_key}")


@dataclass(frozen=True)
class Standing:
    """What the limits of one mailbox say about a new booking: a live booking of one of its services, and the
    end of a cool-down it is in (None: none)."""

    has_live_booking: bool
    cooldown_until: datetime | None


def mailbox_standing(
    *, services: Sequence[Service], email: str, now: datetime, exclude_id: int | None = None
) -> Standing:
    """Both limits of the mailbox `email` delivers to, in one query (none when both are switched off): a live
    booking for one of `services` (booked on its own, or as a part of a visit of several) other than
    `exclude_id`, and the end of the cool-down after repeated cancellations it is in, if any."""
    one_booking = bool(email) and settings.EXPATDESK_ONE_BOOKING_PER_EMAIL and bool(services)
    needed = settings.EXPATDESK_COOLDOWN_CANCELLATIONS if email else 0
    if not one_booking and needed <= 0:
        return Standing(has_live_booking=False, cooldown_until=None)
    counts = {}
    if one_booking:
        in_a_visit = Exists(AppointmentPart.objects.filter(appointment=OuterRef("pk"), service__in=services))
        live = Q(status__in=LIVE_BOOKING_STATUSES, end__gt=now) & (
            Q(service__in=services) | (Q(part_count__gt=1) & in_a_visit)
        )
        if exclude_id is not None:
            live &= ~Q(pk=exclude_id)
        counts["live"] = Count("pk", filter=live)
    if needed > 0:
        by_staff = AppointmentEvent.objects.filter(
            appointment=OuterRef("pk"), kind=EventKind.CANCELLED, actor__isnull=False
        )
        cancelled = Q(
            status=AppointmentStatus.CANCELLED,
            booked_at__isnull=False,
            cancelled_at__gte=now - timedelta(days=settings.EXPATDESK_COOLDOWN_DAYS),
        ) & ~Exists(by_staff)
        counts["cancelled"] = Count("pk", filter=cancelled)
        counts["last_cancelled"] = Max("cancelled_at", filter=cancelled)
    found = Appointment.objects.filter(key_is(Appointment, "mailbox_key", mailbox_key(email))).aggregate(**counts)
    until = None
    if needed > 0 and found["cancelled"] >= needed:  # the last of them (of the `needed` latest) starts it
        until = found["last_cancelled"] + timedelta(hours=settings.EXPATDESK_COOLDOWN_HOURS)
    return Standing(has_live_booking=bool(found.get("live")), cooldown_until=until if until and until > now else None)


def live_holds(*, client_key: str, now: datetime) -> int:
    if not client_key:
        return 0
    return Appointment.objects.filter(
        key_is(Appointment, "client_key", client_key),
        status=AppointmentStatus.HELD,
        hold_expires_at__gt=now,
    ).count()
