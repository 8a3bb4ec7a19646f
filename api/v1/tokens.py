"""The opaque hold token: the held appointment's id, signed with the secret key.

Only the client that made the hold gets it, so nobody else can confirm (or guess their way to) a hold.
A token is accepted for HOLD_TOKEN_MAX_AGE: a lapsed hold may still be booked while its time is free,
as in the web flow; after that the client asks for a new hold.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing

HOLD_TOKEN_SALT = "expatdesk.api.v1.hold"  # noqa: S105 - a signing namespace, not a secret
HOLD_TOKEN_MAX_AGE = timedelta(hours=1)


def hold_token(*, appointment_id: int) -> str:
    return signing.dumps({"hold": appointment_id}, salt=HOLD_TOKEN_SALT)


def appointment_id_for_hold_token(*, token: str) -> int | None:
    """The held appointment's id, or None for an altered, foreign or too old token."""
    try:
        value = signing.loads(token, salt=HOLD_TOKEN_SALT, max_age=HOLD_TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    appointment_id = value.get("hold") if isinstance(value, dict) else None
    return appointment_id if isinstance(appointment_id, int) and not isinstance(appointment_id, bool) else None
