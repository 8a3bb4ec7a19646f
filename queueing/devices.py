"""Kiosk and display devices: created by an admin, signed in once with a one-time link, revocable.

Only hashes are stored (DESIGN.md §6): the one-time code's until it is used or lapses, the device token's
while the device is signed in. The browser keeps the token in a signed, long-lived, HttpOnly cookie.
Which browser redeems a code is decided by the row count of one UPDATE, never by a read before it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from bookings.actions import BookingError
from bookings.models import Location
from bookings.tokens import hash_token
from queueing.models import Device, DeviceKind

COOKIE_NAME = "expatdesk_device"
COOKIE_SALT = "queueing.device"
# A signed-in device is remembered in the cache this long, so a display's poll answered 304 costs no query;
# revoking deletes the entry at once.
DEVICE_CACHE_SECONDS = 60

INVALID_CODE = "invalid_sign_in_code"


def _cache_key(token_hash: str) -> str:
    return f"queue-device:{token_hash}"


def _new_code(device: Device, *, now: datetime) -> str:
    code = secrets.token_urlsafe(24)
    device.sign_in_code_hash = hash_token(code)
    device.sign_in_expires_at = now + timedelta(minutes=settings.EXPATDESK_DEVICE_SIGN_IN_MINUTES)
    return code


def create_device(
    *, location: Location, kind: str, name: str, now: datetime, actor: AbstractBaseUser | None
) -> tuple[Device, str]:
    """A new kiosk or display; returns it and its one-time sign-in code (shown once, stored hashed)."""
    if kind not in DeviceKind.values:
        raise BookingError(BookingError.INVALID_STATUS, _("Unknown kind of device."))
    name = " ".join(name.split())[:80]
    if not name:
        raise BookingError(INVALID_CODE, _("Please give the device a name."))
    with transaction.atomic(durable=True):
        device = Device(location=location, kind=kind, name=name, created_at=now, created_by=actor)
        code = _new_code(device, now=now)
        device.save()
    return device, code


def new_sign_in_code(*, device: Device, now: datetime, actor: AbstractBaseUser | None) -> str:
    """A fresh one-time sign-in code (the old one stops working); the device's current session stays."""
    with transaction.atomic(durable=True):
        locked = Device.objects.select_for_update().get(pk=device.pk)
        code = _new_code(locked, now=now)
        locked.revoked_at = None
        locked.revoked_by = None
        locked.save(update_fields=["sign_in_code_hash", "sign_in_expires_at", "revoked_at", "revoked_by"])
    return code


def redeem_sign_in_code(*, code: str, now: datetime) -> tuple[Device, str]:
    """Sign a browser in: the code works once, before it lapses. Returns the device and its new token."""
    code_hash = hash_token(code or "")
    token = secrets.token_hex(32)
    with transaction.atomic(durable=True):
        previous = list(Device.objects.filter(sign_in_code_hash=code_hash).values_list("token_hash", flat=True))
        used = Device.objects.filter(
            sign_in_code_hash=code_hash, sign_in_expires_at__gt=now, revoked_at__isnull=True
        ).update(sign_in_code_hash="", sign_in_expires_at=None, token_hash=hash_token(token), signed_in_at=now)
        if used != 1:
            raise BookingError(
                INVALID_CODE, _("This sign-in link is not valid (any more). Ask an admin for a new one.")
            )
        device = Device.objects.select_related("location").get(token_hash=hash_token(token))
        for old in previous:
            if old:
                transaction.on_commit(lambda old=old: cache.delete(_cache_key(old)))
    return device, token


def revoke_device(*, device: Device, now: datetime, actor: AbstractBaseUser | None) -> None:
    """Sign the device out for good: its token and any sign-in code stop working at once."""
    with transaction.atomic(durable=True):
        locked = Device.objects.select_for_update().get(pk=device.pk)
        old = locked.token_hash
        locked.token_hash = ""
        locked.sign_in_code_hash = ""
        locked.sign_in_expires_at = None
        locked.revoked_at = now
        locked.revoked_by = actor
        locked.save(update_fields=["token_hash", "sign_in_code_hash", "sign_in_expires_at", "revoked_at", "revoked_by"])
        if old:
            transaction.on_commit(lambda: cache.delete(_cache_key(old)))


# ---- the browser's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedInDevice:
    device_id: int
    location_id: int
    kind: str


def set_device_cookie(response: HttpResponse, token: str) -> None:
    response.set_signed_cookie(
        COOKIE_NAME,
        token,
        salt=COOKIE_SALT,
        max_age=settings.EXPATDESK_DEVICE_COOKIE_DAYS * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def device_of(request: HttpRequest) -> SignedInDevice | None:
    """The signed-in device of this browser, from the cache or one query; None without a valid cookie."""
    token = request.get_signed_cookie(COOKIE_NAME, default=None, salt=COOKIE_SALT)
    if not token:
        return None
    token_hash = hash_token(token)
    key = _cache_key(token_hash)
    found = cache.get(key)
    if found is not None:
        return SignedInDevice(*found) if found else None
    row = (
        Device.objects.filter(token_hash=token_hash, revoked_at__isnull=True)
        .values_list("pk", "location_id", "kind")
        .first()
    )
    cache.set(key, tuple(row) if row else (), timeout=DEVICE_CACHE_SECONDS)
    return SignedInDevice(*row) if row else None
