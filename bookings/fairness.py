"""Fair access: nobody holds or books more than a small share of the desk's counter time (issue 9, DESIGN.md §6).

Read-only; the actions call it inside their transaction (bookings/actions/booking.py).

What counts is **counter time**: the grid units an appointment claims on counters (persons x units per
person), in minutes (units x the location's grid). Live holds (not lapsed) and live bookings (booked or
checked in, not yet ended) count; cancelled, lapsed, finished and no-show appointments do not. Every
appointment is counted once, by its own claims, whatever its state: a hold being confirmed is not
counted again.

Whose share is it:
- the **client address** that held it: `Appointment.client_key`, the keyed hash of the address
  (bookings/abuse.py), kept after the hold is booked and erased with the personal data;
- the **mailbox** it is booked for: `Appointment.mailbox_key`, a keyed hash of the normalised address
  (bookings/mailboxes.py), so `name+1@`, `name+2@` ... are one mailbox;
- or, in place of the address, an **owner** the caller names, with its own limits: signed-in HR staff of
  an approved employer book for many employees, so the employers app passes the employer's share
  (`owner_share`) and the address does not count for them.

Each share is capped per local day of the appointment (in the location's time zone) and over everything
still to come (the booking horizon): EXPATDESK_FAIR_SHARE_DAY_MINUTES / _HORIZON_MINUTES for an address
and for a mailbox, EXPATDESK_EMPLOYER_DAY_MINUTES / _HORIZON_MINUTES for an employer. The appointment
being checked is counted with the rest (it is saved with its keys before the check), so the check is
"after this one, still within the share", and a refusal rolls the whole action back. A hold counts before it
writes anything (owner_usage, with its own minutes added and its address's live holds in the same query), so
that the address's lock is held for as short a time as may be.

Concurrency: count-then-insert is a race, so the actions first take transaction-scoped advisory locks on
the shares' keys (the same locks bookings/abuse.py takes, in one sorted order, so two actions never wait
for each other crosswise); two bookings of one owner then run one after the other and the second counts
the first's claims. SQLite runs one writing transaction at a time anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import reduce

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from bookings import abuse
from bookings.mailboxes import mailbox_key
from bookings.models import Appointment, AppointmentStatus, Location, SlotClaim

# The Appointment field each kind of share is counted by.
CLIENT_FIELD = "client_key"
MAILBOX_FIELD = "mailbox_key"


@dataclass(frozen=True)
class Share:
    """Counter time one owner may hold and book: per local day and over the whole horizon, in minutes.

    `key` is what the appointment stores to be counted as the owner's (`field`: client_key or
    mailbox_key); `lock_name` the advisory lock that serialises the owner's bookings."""

    key: str
    field: str
    day_minutes: int
    horizon_minutes: int

    @property
    def lock_name(self) -> str:
        return f"mailbox:{self.key}" if self.field == MAILBOX_FIELD else f"client:{self.key}"


def address_share(client_key: str) -> Share | None:
    """The share of one client address (empty key: no address known, nothing to count; an owner's key:
    its share is the caller's to give, see owner_share)."""
    if not client_key or is_owner_key(client_key):
        return None
    return Share(
        key=client_key,
        field=CLIENT_FIELD,
        day_minutes=settings.EXPATDESK_FAIR_SHARE_DAY_MINUTES,
        horizon_minutes=settings.EXPATDESK_FAIR_SHARE_HORIZON_MINUTES,
    )


def mailbox_share(email: str) -> Share | None:
    """The share of the mailbox `email` delivers to (empty address: nothing to count)."""
    key = mailbox_key(email)
    if not key:
        return None
    return Share(
        key=key,
        field=MAILBOX_FIELD,
        day_minutes=settings.EXPATDESK_FAIR_SHARE_DAY_MINUTES,
        horizon_minutes=settings.EXPATDESK_FAIR_SHARE_HORIZON_MINUTES,
    )


# An owner's key starts with this prefix, an address's key is hexadecimal: the two never collide, and an
# action that is not given the owner's share (a move from the manage link) knows not to size it as an address.
OWNER_KEY_PREFIX = "owner:"


def owner_key(owner: str) -> str:
    """The key an owner's appointments carry (e.g. owner "employer:12"), a keyed hash like the address's."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"owner:{owner}".encode(), hashlib.sha256).hexdigest()
    return (OWNER_KEY_PREFIX + digest)[:64]


def is_owner_key(key: str) -> bool:
    return key.startswith(OWNER_KEY_PREFIX)


def owner_share(*, owner: str, day_minutes: int, horizon_minutes: int) -> Share:
    """A share the caller names and sizes, counted in place of the client address (an employer's)."""
    return Share(key=owner_key(owner), field=CLIENT_FIELD, day_minutes=day_minutes, horizon_minutes=horizon_minutes)


def lock_shares(shares: Iterable[Share | None]) -> None:
    """Serialise the transactions of these owners until the current transaction ends (PostgreSQL only).
    Always in sorted order, so that two actions locking the same two owners cannot deadlock; in one
    statement (abuse.lock_all)."""
    abuse.lock_all(sorted({share.lock_name for share in shares if share is not None}))


@dataclass(frozen=True)
class Usage:
    day_minutes: int
    horizon_minutes: int


def used_minutes(*, shares: Sequence[Share], day_of: Appointment, now: datetime) -> list[Usage]:
    """Each owner's live counter time on `day_of`'s local day and over everything still to come, in the
    order of `shares`: one query for all of them."""
    return owner_usage(shares=shares, location=day_of.location, start=day_of.start, now=now)[0]


def owner_usage(
    *, shares: Sequence[Share], location: Location, start: datetime, now: datetime, holds_of: str = ""
) -> tuple[list[Usage], int]:
    """used_minutes for an appointment at `location` from `start` (that need not be written yet), and with
    `holds_of` (a client key among the shares' keys) the number of that address's live holds, in the same
    query (bookings/abuse.py live_holds counts them alone). A live hold always owns its claims (they go only
    with it: cancelled, lapsed, erased), so counting the distinct appointments of its live claims counts it."""
    if not shares:
        return [], 0
    day_start, day_end = day_bounds(location=location, start=start)
    if connection.vendor == "postgresql":
        totals = _totals_by_sql(shares=shares, day_start=day_start, day_end=day_end, now=now, holds_of=holds_of)
    else:
        totals = _totals_by_orm(shares=shares, day_start=day_start, day_end=day_end, now=now, holds_of=holds_of)
    return usages_of(shares=shares, totals=totals), totals.get("holds", 0)


def usages_of(*, shares: Sequence[Share], totals: dict[str, int]) -> list[Usage]:
    return [
        Usage(day_minutes=totals[f"day{index}"], horizon_minutes=totals[f"horizon{index}"])
        for index in range(len(shares))
    ]


def day_bounds(*, location: Location, start: datetime) -> tuple[datetime, datetime]:
    """The local day of `start` at `location` (its time zone), the day a share's day minutes are counted on."""
    tz = location.tz
    day = start.astimezone(tz).date()
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


# owner_usage's query on PostgreSQL, written out (the ORM's building of its filtered sums cost more than the
# query): the live claims of the owners, joined to their appointments and the appointments' grids.
_USAGE_SQL = """
SELECT {totals}
  FROM bookings_slotclaim AS claim
  JOIN bookings_appointment AS appointment ON appointment.id = claim.appointment_id
  JOIN bookings_location AS location ON location.id = appointment.location_id
 WHERE ((appointment.status = %s AND appointment.hold_expires_at > %s)
        OR (appointment.status IN (%s, %s) AND appointment."end" > %s))
   AND ({owners}){besides}
"""
_ON_DAY = "appointment.start >= %s AND appointment.start < %s"


def usage_sql(
    *,
    shares: Sequence[Share],
    day_start: datetime,
    day_end: datetime,
    now: datetime,
    holds_of: str = "",
    besides_id: int | None = None,
) -> tuple[str, list[object]]:
    """owner_usage's query on PostgreSQL and its parameters (placeholders only: the values are parameters), for
    running alone or inside another statement (actions/together.py). Its columns: each share's day and horizon
    minutes in the order of `shares`, then with `holds_of` the live holds of that address. `besides_id`: leave
    that appointment's claims out (an appointment counted before its own writes, which adds its minutes)."""
    owners, totals, params = [], [], []
    for share in shares:
        if share.field not in (CLIENT_FIELD, MAILBOX_FIELD):  # a column name goes into the text
            raise ValueError(f"Unknown share field {share.field!r}.")
        # The key is never empty (address_share, mailbox_share, owner_share), and saying so in the text lets a
        # plan made for any key use the index of the non-empty keys (appointment_client_key,
        # appointment_mailbox_key): a connection prepares the statement once it has run it often, and
        # PostgreSQL's one plan for every key then read every appointment ever booked (README, Performance).
        owners.append(f"(appointment.{share.field} = %s AND appointment.{share.field} <> '')")
        totals.append(
            f"COALESCE(SUM(location.grid_minutes) FILTER (WHERE appointment.{share.field} = %s AND {_ON_DAY}), 0)"
        )
        totals.append(f"COALESCE(SUM(location.grid_minutes) FILTER (WHERE appointment.{share.field} = %s), 0)")
        params += [share.key, day_start, day_end, share.key]
    if holds_of:
        totals.append(
            "COUNT(DISTINCT claim.appointment_id) FILTER (WHERE appointment.status = %s"
            " AND appointment.hold_expires_at > %s AND appointment.client_key = %s)"
        )
        params += [AppointmentStatus.HELD, now, holds_of]
    params += [AppointmentStatus.HELD, now, AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, now]
    params += [share.key for share in shares]
    besides = ""
    if besides_id is not None:
        besides = "\n   AND appointment.id <> %s"
        params.append(besides_id)
    sql = _USAGE_SQL.format(totals=", ".join(totals), owners=" OR ".join(owners), besides=besides)
    return sql, params


def usage_from_row(*, shares: Sequence[Share], row: Sequence[int], holds_of: str = "") -> dict[str, int]:
    """usage_sql's columns by name (day0, horizon0, …, holds), as _totals_by_orm gives them."""
    found = {}
    for index in range(len(shares)):
        found[f"day{index}"], found[f"horizon{index}"] = row[2 * index], row[2 * index + 1]
    if holds_of:
        found["holds"] = row[2 * len(shares)]
    return found


def _totals_by_sql(
    *,
    shares: Sequence[Share],
    day_start: datetime,
    day_end: datetime,
    now: datetime,
    holds_of: str,
    besides_id: int | None = None,
) -> dict[str, int]:
    sql, params = usage_sql(
        shares=shares, day_start=day_start, day_end=day_end, now=now, holds_of=holds_of, besides_id=besides_id
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return usage_from_row(shares=shares, row=row, holds_of=holds_of)


def _totals_by_orm(
    *, shares: Sequence[Share], day_start: datetime, day_end: datetime, now: datetime, holds_of: str
) -> dict[str, int]:
    """_totals_by_sql through the ORM (SQLite)."""
    held = Q(appointment__status=AppointmentStatus.HELD, appointment__hold_expires_at__gt=now)
    live = held | Q(
        appointment__status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN), appointment__end__gt=now
    )
    on_day = Q(appointment__start__gte=day_start, appointment__start__lt=day_end)
    grid = "appointment__location__grid_minutes"
    owners = [Q(**{f"appointment__{share.field}": share.key}) for share in shares]
    holds = {}
    if holds_of:
        holds["holds"] = Count("appointment_id", distinct=True, filter=held & Q(appointment__client_key=holds_of))
    return SlotClaim.objects.filter(live, reduce(operator.or_, owners)).aggregate(
        **{f"day{index}": Coalesce(Sum(grid, filter=owner & on_day), 0) for index, owner in enumerate(owners)},
        **{f"horizon{index}": Coalesce(Sum(grid, filter=owner), 0) for index, owner in enumerate(owners)},
        **holds,
    )


def check_shares(*, appointment: Appointment, shares: Iterable[Share | None], now: datetime) -> None:
    """Refuse (BookingError FAIR_SHARE_EXCEEDED) when, with `appointment` (saved with its keys), an owner
    would hold or book more counter time than its share. Call after lock_shares, in the same transaction."""
    counted = [share for share in shares if share is not None]
    for share, usage in zip(counted, used_minutes(shares=counted, day_of=appointment, now=now), strict=True):
        refuse_past_share(share=share, usage=usage)


def refuse_past_share(*, share: Share, usage: Usage, adding: int = 0) -> None:
    """Refuse (BookingError FAIR_SHARE_EXCEEDED) when `usage`, with `adding` minutes more, is past the share."""
    from bookings.actions.common import BookingError  # the actions import this module

    if usage.day_minutes + adding > share.day_minutes:
        raise BookingError(
            BookingError.FAIR_SHARE_EXCEEDED,
            _(
                "At most %(minutes)d minutes of counter time can be held or booked for one day from one "
                "connection, e-mail address or employer, and that is reached for this day. To change a "
                "booking, use the link in its confirmation e-mail; to book for more people, please contact "
                "the desk."
            )
            % {"minutes": share.day_minutes},
        )
    if usage.horizon_minutes + adding > share.horizon_minutes:
        raise BookingError(
            BookingError.FAIR_SHARE_EXCEEDED,
            _(
                "At most %(minutes)d minutes of counter time can be held or booked for the coming weeks from "
                "one connection, e-mail address or employer, and that is reached. To change a booking, use "
                "the link in its confirmation e-mail; to book for more people, please contact the desk."
            )
            % {"minutes": share.horizon_minutes},
        )
