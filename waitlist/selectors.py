"""Read queries of the waitlist, for its pages and for the desk's dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, Sum

from bookings.availability_sql import key_is
from bookings.models import Location
from bookings.tokens import hash_token
from services.models import Service
from waitlist.models import EntryStatus, MessageKind, OfferStatus, WaitlistEntry, WaitlistMessage, WaitlistOffer

TOKEN_LENGTH = 64
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class WaitingCount:
    service: Service
    waiting: int  # entries still waiting (with or without an open offer)
    offered: int  # of which have an open offer right now
    persons: int  # the persons of those entries


def waiting_per_service(location: Location, now: datetime) -> list[WaitingCount]:
    """The waitlist's length per service at `location` (for the desk's dashboard): open entries whose days
    have not all passed, in the services' display order. Two queries whatever the number of entries."""
    today = now.astimezone(location.tz).date()
    rows = (
        WaitlistEntry.objects.filter(
            location=location, status__in=(EntryStatus.WAITING, EntryStatus.OFFERED), last_day__gte=today
        )
        .order_by()
        .values("service_id")
        .annotate(
            waiting=Count("pk"),
            offered=Count("pk", filter=Q(status=EntryStatus.OFFERED)),
            persons=Sum("persons"),
        )
    )
    counts = {row["service_id"]: row for row in rows}
    if not counts:
        return []
    return [
        WaitingCount(
            service=service,
            waiting=counts[service.pk]["waiting"],
            offered=counts[service.pk]["offered"],
            persons=counts[service.pk]["persons"] or 0,
        )
        for service in Service.objects.filter(pk__in=list(counts)).order_by("display_order", "pk")
    ]


def _valid(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and set(token) <= _HEX


def entry_for_token(token: str) -> WaitlistEntry | None:
    """The entry a waitlist e-mail's link opens (its leave link), or None for a wrong or erased token."""
    if not _valid(token):
        return None
    message = (
        WaitlistMessage.objects.filter(key_is(WaitlistMessage, "token_hash", hash_token(token)))
        .select_related("entry__service", "entry__location")
        .first()
    )
    return message.entry if message is not None else None


def offer_for_token(token: str) -> WaitlistOffer | None:
    """The offer an offer e-mail's link opens, or None."""
    if not _valid(token):
        return None
    message = (
        WaitlistMessage.objects.filter(key_is(WaitlistMessage, "token_hash", hash_token(token)), kind=MessageKind.OFFER)
        .select_related("offer__appointment__location", "offer__appointment__service", "offer__entry__appointment")
        .first()
    )
    return message.offer if message is not None else None


def is_open(offer: WaitlistOffer) -> bool:
    return offer.status == OfferStatus.OPEN
