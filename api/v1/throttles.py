"""Per-client rate limits of /api/v1/, read from the settings on every request (429 with Retry-After).

Counted per client address in the shared cache, the address django-ratelimit and the hold cap use
(bookings/abuse.py: REMOTE_ADDR, or RATELIMIT_IP_META_KEY behind a trusted proxy), so a client cannot pick
its own identity with an X-Forwarded-For header.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from bookings import abuse


class _SettingsRateThrottle(SimpleRateThrottle):
    setting_name = ""

    def get_rate(self) -> str:
        return getattr(settings, self.setting_name)

    def get_ident(self, request: Request) -> str:
        return abuse.client_key_for(request) or "unknown"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PollThrottle(_SettingsRateThrottle):
    """Free days and free times: EXPATDESK_API_POLL_RATE."""

    scope = "api-v1-poll"
    setting_name = "EXPATDESK_API_POLL_RATE"


class WriteThrottle(_SettingsRateThrottle):
    """Holds, bookings and changes to them: EXPATDESK_API_WRITE_RATE."""

    scope = "api-v1-write"
    setting_name = "EXPATDESK_API_WRITE_RATE"
