"""The waiting-room display (`/display/<slug>/`) and the small JSON answer it polls every second.

The poll sends If-None-Match; while the location's display version (queueing/display_cache.py) has not
moved, it is answered 304 from the cache alone: no query. Without JavaScript the page reloads itself
(meta refresh) and alternates its language on each reload.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.views.decorators.http import require_GET

from bookings.models import Location
from desk import clock
from queueing.display_cache import display_version
from queueing.models import DeviceKind
from queueing.selectors import recent_calls
from queueing.views.screens import screen_required

# Seconds between the language changes of the display (EN, NL, EN, …).
LANGUAGE_SECONDS = 8
# The no-JavaScript page reloads this often.
REFRESH_SECONDS = 5


def _etag(*, location_id: int, day) -> str:
    return f'"{location_id}-{display_version(location_id=location_id)}-{day.isoformat()}"'


def _today(time_zone: str) -> datetime:
    return clock.now().astimezone(ZoneInfo(time_zone))


@require_GET
@screen_required(DeviceKind.DISPLAY)
def display(request, *, location_id: int, time_zone: str, slug: str, **_kwargs):
    location = get_object_or_404(Location, pk=location_id)
    now = _today(time_zone)
    language = "en" if (now.second // LANGUAGE_SECONDS) % 2 == 0 else "nl"
    context = {
        "location": location,
        "calls": recent_calls(location=location, day=now.date()),
        "etag": _etag(location_id=location_id, day=now.date()),
        "refresh_seconds": REFRESH_SECONDS,
        "language_seconds": LANGUAGE_SECONDS,
        "slug": slug,
    }
    with translation.override(language):
        context["LANGUAGE_CODE"] = language
        response = render(request, "queueing/display.html", context)
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
@screen_required(DeviceKind.DISPLAY)
def calls(request, *, location_id: int, time_zone: str, **_kwargs):
    day = _today(time_zone).date()
    etag = _etag(location_id=location_id, day=day)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        location = Location(pk=location_id, time_zone=time_zone)
        rows = recent_calls(location=location, day=day)
        response = JsonResponse({"calls": [{"code": row.code, "counter": row.counter} for row in rows]})
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response
