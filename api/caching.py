"""Load control for the JSON APIs: slot answers cached briefly and shared, ETags, and rate limits.

Slot answers: pollers ask every few seconds, all for the same few lists. An answer is cached in the
shared cache for EXPATDESK_SLOT_CACHE_SECONDS under (location, service, persons, availability version
of the location); every action that changes the location's free capacity bumps that version after
it commits (bookings/cache.py), so the next request computes the list afresh. Responses carry
`Cache-Control: public, max-age=N` and a strong ETag (a hash of the body); `If-None-Match` with that
ETag gets a 304 without a body. Holds and bookings are never cached (`Cache-Control: no-store`).

Rate limits (django-ratelimit, counted in the shared cache, per client address REMOTE_ADDR — behind
a proxy, set RATELIMIT_IP_META_KEY): polling (desks and slots, cached or not) at
EXPATDESK_API_POLL_RATE, writes (hold, book) at EXPATDESK_API_WRITE_RATE. Over the limit: 429, the
error shape, and `Retry-After` with the seconds until the window ends.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import suppress

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from api.ind_responses import CONTENT_TYPE, RATE_LIMITED, ApiError, error_response
from bookings.cache import version_token

logger = logging.getLogger(__name__)

POLL = "api-poll"
WRITE = "api-write"


def cache_seconds() -> int:
    return settings.EXPATDESK_SLOT_CACHE_SECONDS


def rate_limited(request: HttpRequest, *, group: str) -> HttpResponse | None:
    """Count this request for its client; a 429 answer when the client is over its limit."""
    rate = settings.EXPATDESK_API_POLL_RATE if group == POLL else settings.EXPATDESK_API_WRITE_RATE
    try:
        usage = get_usage(request, group=group, key="ip", rate=rate, increment=True)
    except Exception:  # the shared cache is down: answer rather than refuse everyone
        logger.warning("Cache unavailable: API rate limit of group %s not counted.", group)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    time_left = usage["time_left"]
    retry_after = time_left if time_left > 0 else 60
    response = error_response(
        ApiError(
            RATE_LIMITED,
            429,
            _("Too many requests; please wait %(seconds)d seconds before asking again.") % {"seconds": retry_after},
        )
    )
    response["Retry-After"] = str(retry_after)
    return response


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def cached_body(*, name: str, location_id: int, parts: tuple[object, ...], compute: Callable[[], bytes]) -> bytes:
    """The answer `name` for `parts` at the location: from the cache, or computed and cached."""
    try:
        version = version_token(location_id=location_id)
        key = f"api:{name}:{location_id}:{':'.join(map(str, parts))}:{version}"
        body = cache.get(key)
    except Exception:  # the shared cache is down: compute every answer afresh meanwhile
        logger.warning("Cache unavailable: API answer %s computed without the cache.", name)
        return compute()
    if body is None:
        body = compute()
        with suppress(Exception):
            cache.set(key, body, timeout=cache_seconds())
    return body


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def shared_response(request: HttpRequest, body: bytes) -> HttpResponse:
    """A 200 with the body, or a 304 when the client has it; cacheable by anyone for a few seconds."""
    etag = etag_of(body)
    if _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={cache_seconds()}"
    return response


def private_response(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response
