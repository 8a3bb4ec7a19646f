"""Read queries of the insights app (the dashboard's figures are in insights/kpis.py)."""

from __future__ import annotations

from bookings.models import EmailKind, Location, OutboxEmail, OutboxStatus
from bookings.tokens import hash_token
from services.models import Service

TOKEN_LENGTH = 64
_HEX = frozenset("0123456789abcdef")


def feedback_request_for_token(*, token: str) -> OutboxEmail | None:
    """The sent feedback e-mail whose link carries this token, or None (wrong, altered, or its appointment
    anonymised: anonymisation erases the hash). Only feedback e-mails: a manage token opens nothing here."""
    if len(token) != TOKEN_LENGTH or not set(token) <= _HEX:
        return None
    return (
        OutboxEmail.objects.filter(
            kind=EmailKind.FEEDBACK, status=OutboxStatus.SENT, manage_token_hash=hash_token(token)
        )
        .select_related("appointment__location", "appointment__service")
        .first()
    )


def services_offered_at(*, location: Location) -> list[Service]:
    """The active services an active counter of the location offers, in display order."""
    return list(
        Service.objects.filter(is_active=True, counters__location=location, counters__is_active=True)
        .distinct()
        .order_by("display_order", "pk")
    )
