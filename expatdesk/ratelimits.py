"""Rate limits on the public write endpoints and the staff login (django-ratelimit, in the default cache).

Counted per client address in the shared cache (Redis in production, so every web process sees the same
counts; in memory in tests). Each limited endpoint has its own group and a rate from the settings
(EXPATDESK_RATE_*, django-ratelimit syntax such as "20/10m"), read at request time. Only POSTs count:
looking at a page is never limited. Over the limit: a friendly, translated 429 page with Retry-After.

If the cache cannot be reached (Redis down), the request is let through and a warning logged: a
booking must not fail because the rate-limit counter is unavailable (issue 5: nothing lost when
Redis is down). Behind a proxy, set RATELIMIT_IP_META_KEY so the client's address is used.

Every rate limit of the site (these, /api/v1/'s throttles, the IND API's) counts with count_request:
django-ratelimit's key, window and answer, in one round trip to Redis per request (INCR and, for a new
counter, EXPIRE, in one Lua script) where django-ratelimit's own get_usage makes three (issue 10).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_ratelimit import ALL
from django_ratelimit.core import (
    EXPIRATION_FUDGE,
    _get_ip,
    _get_window,
    _make_cache_key,
    _method_match,
    _split_rate,
    get_usage,
)
from django_ratelimit.exceptions import Ratelimited

from expatdesk.cache_backend import RedisCache

logger = logging.getLogger(__name__)

# Group name → the setting that holds its rate.
RATE_SETTINGS = {
    "hold": "EXPATDESK_RATE_HOLD",
    "confirm": "EXPATDESK_RATE_CONFIRM",
    "find": "EXPATDESK_RATE_FIND",
    "manage": "EXPATDESK_RATE_MANAGE",
    "login": "EXPATDESK_RATE_LOGIN",
    "waitlist": "EXPATDESK_RATE_WAITLIST",
}
DEFAULT_RETRY_AFTER = 60


def client_ip(request: HttpRequest) -> str:
    """RATELIMIT_IP_META_KEY: the client's address. Behind EXPATDESK_TRUSTED_PROXIES proxies that each
    append to X-Forwarded-For, the address the outermost trusted proxy saw (addresses further left are
    whatever the client claims, so they are never used); with none, REMOTE_ADDR."""
    proxies = settings.EXPATDESK_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies > 0 and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "")


def rate_for(group: str) -> str:
    return getattr(settings, RATE_SETTINGS[group])


def too_many_requests(request: HttpRequest, *, retry_after: int = DEFAULT_RETRY_AFTER) -> HttpResponse:
    """The 429 page: what happened and when to try again, in the visitor's language."""
    minutes = max(1, -(-retry_after // 60))
    response = TemplateResponse(request, "429.html", {"retry_minutes": minutes}, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response.render()


def count_request(
    request: HttpRequest, *, group: str, rate: str, method: Sequence[str | None] = ALL
) -> dict[str, int | bool] | None:
    """Count this request of its client's address in `group`: django-ratelimit's
    `get_usage(request, group=group, key="ip", rate=rate, method=method, increment=True)`, the same
    cache key, window, answer ({count, limit, should_limit, time_left}, or None when not counted) and
    exceptions (a cache that cannot be reached raises), in one round trip on the shared Redis cache
    (expatdesk.cache_backend.RedisCache.count: INCR and EXPIRE in one Lua script) instead of
    get_usage's three (`cache.add`, and `cache.incr`, which is EXISTS then INCR on Django's RedisCache).
    On any other cache (in memory in tests and under `make run`) it is get_usage itself: add, then incr.
    Every rate limit of the site counts through here."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    if not isinstance(cache, RedisCache) or callable(rate) or (isinstance(rate, str) and "." in rate):
        # (get_usage reads a rate with a dot as the path of a function that gives the rate)
        return get_usage(request, group=group, key="ip", rate=rate, method=method, increment=True)
    if not getattr(settings, "RATELIMIT_ENABLE", True) or not _method_match(request, method) or rate is None:
        return None
    limit, period = _split_rate(rate)
    if period <= 0:
        raise ImproperlyConfigured("Ratelimit period must be greater than 0")
    value = _get_ip(request)
    window = _get_window(value, period)
    count = cache.count(_make_cache_key(group, window, rate, value, method), period + EXPIRATION_FUDGE)
    return {"count": count, "limit": limit, "should_limit": count > limit, "time_left": window - int(time.time())}


def over_limit(request: HttpRequest, *, group: str) -> int | None:
    """Count this request; the seconds to wait when the client is over the group's limit, else None."""
    try:
        usage = count_request(request, group=f"web-{group}", rate=rate_for(group), method=["POST"])
    except Exception as error:  # any cache failure: let the request through
        logger.warning("Rate limit for %s not counted: cache unavailable (%s)", group, type(error).__name__)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    logger.info("Rate limit reached for %s", group)
    return usage["time_left"] if usage["time_left"] > 0 else DEFAULT_RETRY_AFTER


def rate_limited(group: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a view: POSTs beyond the group's rate from one address get the 429 page."""
    if group not in RATE_SETTINGS:
        raise ValueError(f"Unknown rate-limit group {group!r}.")

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if request.method == "POST":
                retry_after = over_limit(request, group=group)
                if retry_after is not None:
                    return too_many_requests(request, retry_after=retry_after)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def ratelimited_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """RATELIMIT_VIEW: django-ratelimit's own decorator (block=True) answers with the same 429 page."""
    return too_many_requests(request)


class RatelimitedMiddleware:
    """Turns a Ratelimited exception raised anywhere (django-ratelimit with block=True) into the 429 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Ratelimited):
            return too_many_requests(request)
        return None
