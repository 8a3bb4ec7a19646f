"""A database that does not grant a lock in time answers "busy, try again" (HTTP 503), not a 500.

PostgreSQL gives up waiting for a lock after `lock_timeout` (DATABASE_LOCK_TIMEOUT_MS, set in the
settings) and raises LockNotAvailable (SQLSTATE 55P03); a deadlock (40P01) or serialization failure
(40001) is as harmless to retry. SQLite says "database is locked". The action that hit it ran in one
transaction, which was rolled back: nothing was half done, and the person can simply send the form again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# SQLSTATEs: lock_not_available, deadlock_detected, serialization_failure.
BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
RETRY_AFTER_SECONDS = 5


def is_busy_error(error: BaseException) -> bool:
    """True for a lock that was not granted in time (or a deadlock): worth trying again shortly."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__  # psycopg 3 names the SQLSTATE `sqlstate`, psycopg2 `pgcode`
    if (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) in BUSY_SQLSTATES:
        return True
    return "database is locked" in str(error)


def busy_response(request: HttpRequest) -> HttpResponse:
    """The page, or for the JSON APIs their own error shape with the code `busy` / `BUSY`."""
    message = _(
        "It is very busy right now and we could not handle your request in time. Nothing has been changed. "
        "Please wait a few seconds and try again."
    )
    if request.path.startswith("/api/"):
        from api.v1.errors import error_body

        response: HttpResponse = JsonResponse(error_body(code="busy", message=message), status=503)
    elif request.path.startswith("/oap/api/"):
        from api.ind_responses import ApiError, error_response

        response = error_response(ApiError("BUSY", 503, str(message)))
    else:
        response = TemplateResponse(request, "busy.html", status=503).render()
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class BusyDatabaseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_busy_error(exception):
            return None
        logger.warning("Database busy (%s) on %s %s", type(exception.__cause__).__name__, request.method, request.path)
        return busy_response(request)
