"""Per-client rate limits of /api/v1/, read from the settings on every request (429 with Retry-After).

Counted per client address in the shared cache, the address django-ratelimit and the hold cap use
(expatdesk/ratelimits.py client_ip: REMOTE_ADDR, or the trusted proxy's X-Forwarded-For entry), so a
client cannot pick its own identity with an X-Forwarded-For header.

Counting is expatdesk.ratelimits.count_request, as for the web pages and the IND API: django-ratelimit's
key, window and answer, counted atomically (issue 9) in one round trip to Redis per request (issue 10: INCR and
EXPIRE in one Lua script; django-ratelimit's own `get_usage`, one `cache.add` and one `cache.incr`,
costs three on Django's RedisCache). REST framework's own SimpleRateThrottle reads a list of times,
appends and writes it back, so concurrent requests from one address all read the same list and get
through past the limit; and it answers 500 when the cache is down. Here a cache that cannot be reached
lets the request through (a warning is logged), as every other limit of the site does.
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from expatdesk.ratelimits import count_request

logger = logging.getLogger(__name__)

DEFAULT_WAIT = 60


class _SettingsRateThrottle(BaseThrottle):
    scope = ""
    setting_name = ""

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = getattr(settings, self.setting_name)
        try:
            usage = count_request(request._request, group=self.scope, rate=rate)
        except Exception as error:  # the shared cache is down: answer rather than refuse everyone
            logger.warning("Cache unavailable: rate limit %s not counted (%s).", self.scope, type(error).__name__)
            return True
        if usage is None or not usage["should_limit"]:
            return True
        self._wait = usage["time_left"] if usage["time_left"] > 0 else DEFAULT_WAIT
        return False

    def wait(self) -> int | None:
        return self._wait


class PollThrottle(_SettingsRateThrottle):
    """Free days and free times: EXPATDESK_API_POLL_RATE."""

    scope = "api-v1-poll"
    setting_name = "EXPATDESK_API_POLL_RATE"


class WriteThrottle(_SettingsRateThrottle):
    """Holds, bookings and changes to them: EXPATDESK_API_WRITE_RATE."""

    scope = "api-v1-write"
    setting_name = "EXPATDESK_API_WRITE_RATE"
