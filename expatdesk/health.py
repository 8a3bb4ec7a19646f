"""/healthz for a load balancer: is this web process able to reach its database and Redis?

200 with {"status": "ok", ...} when every configured dependency answers; 503 with the failing part
marked "down" otherwise. Redis is checked only when REDIS_URL is set (the embedded default has none).
The answer carries no personal data and no error text (only the error's class), is never cached, is
not rate limited, and answers any method other than GET/HEAD with 405.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 1.0


def database_ok() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:  # any failure means "down"
        logger.warning("Health check: database down (%s)", type(error).__name__)
        return False


def redis_ok(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    except Exception as error:  # any failure means "down"
        logger.warning("Health check: Redis down (%s)", type(error).__name__)
        return False
    finally:
        client.close()


@never_cache
@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": "ok" if database_ok() else "down"}
    if settings.REDIS_URL:
        checks["redis"] = "ok" if redis_ok(settings.REDIS_URL) else "down"
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)
