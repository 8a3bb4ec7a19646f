"""Signing a kiosk or display browser in with its one-time link (`/device/sign-in/<code>/`)."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings.actions import BookingError
from desk import clock
from queueing import devices
from queueing.models import DeviceKind


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request, code: str):
    """GET shows a button (a link preview must not use the code up); POST signs this browser in."""
    if request.method == "GET":
        return render(request, "queueing/device_sign_in.html", {})
    try:
        device, token = devices.redeem_sign_in_code(code=code, now=clock.now())
    except BookingError as error:
        return render(request, "queueing/device_sign_in.html", {"error": error.message}, status=400)
    name = "queueing:kiosk" if device.kind == DeviceKind.KIOSK else "queueing:display"
    response = redirect(reverse(name, args=[device.location.slug]))
    devices.set_device_cookie(response, token)
    return response
