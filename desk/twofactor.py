"""TOTP devices for staff: enrol a first device, verify a code. The only writes outside bookings/actions/,
because they concern the staff member's own sign-in, not an appointment."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


def confirmed_devices(user: AbstractBaseUser) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.devices_for_user(user, confirmed=True))


def pending_device(user: AbstractBaseUser) -> TOTPDevice:
    """The unconfirmed device being set up, created on first use so reloading shows the same QR code."""
    with transaction.atomic(durable=True):
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def confirm_device(*, device: TOTPDevice, token: str) -> bool:
    """Confirm a new device with a code it produced; False if the code is wrong (throttled by django-otp)."""
    with transaction.atomic(durable=True):
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if locked.confirmed or not locked.verify_is_allowed()[0]:
            return False
        if not locked.verify_token(token):
            return False
        locked.confirmed = True
        locked.save(update_fields=["confirmed"])
    device.refresh_from_db()
    return True


def matching_device(*, user: AbstractBaseUser, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts `token`, or None. django-otp throttles repeated failures."""
    for device in confirmed_devices(user):
        allowed, _details = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            return device
    return None


def qr_code_svg(data: str) -> str:
    """The QR code of `data` as inline SVG markup (no image service, no Pillow)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")
