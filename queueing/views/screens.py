"""What the kiosk and the display views share: the location by its slug, and the signed-in device."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from bookings.models import Location
from queueing.devices import SignedInDevice, device_of

# A location's id and time zone by slug, so a display's poll answered 304 costs no query.
LOCATION_CACHE_SECONDS = 300


def location_by_slug(slug: str) -> tuple[int, str] | None:
    key = f"queue-location:{slug}"
    found = cache.get(key)
    if found is not None:
        return tuple(found) if found else None
    row = Location.objects.filter(slug=slug, is_active=True).values_list("pk", "time_zone").first()
    cache.set(key, tuple(row) if row else (), timeout=LOCATION_CACHE_SECONDS)
    return tuple(row) if row else None


def screen_required(kind: str) -> Callable:
    """The view gets `location_id`, `time_zone` and `device`: a device of this kind, signed in at this location.
    Otherwise a page that says how to sign the screen in (403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
            found = location_by_slug(slug)
            if found is None:
                raise Http404(_("No location with that address."))
            location_id, time_zone = found
            device: SignedInDevice | None = device_of(request)
            if device is None or device.kind != kind or device.location_id != location_id:
                return render(request, "queueing/not_signed_in.html", {"kind": kind}, status=403)
            return view(
                request, *args, location_id=location_id, time_zone=time_zone, device=device, slug=slug, **kwargs
            )

        return wrapper

    return decorator
