"""Load control for the JSON APIs: shared answers, single-flight, ETags, rate limits and CORS.

Shared answers. Pollers ask every few seconds, all for the same few lists (IND slots, /api/v1 free
days and free times). An answer is formatted and encoded once, when it is computed, and kept in the
shared cache as bytes with its ETag, the availability version of its location (bookings/cache.py) and
the time it was filled. A request is answered from the cache without the database, in one round trip to Redis (two to
another cache):
  1. the *alias* of the request (its raw desk/location, product/service and query) names the
     location's version keys and the answer's key (kept bookings.cache.ALIAS_SECONDS);
  2. those are read with it: on Redis in the same script (expatdesk/cache_backend.py `get_through`),
     elsewhere in one `get_many` after the alias's `get`.
The answer is fresh while its version is the current one and it is younger than
EXPATDESK_SLOT_CACHE_SECONDS; every action that changes free capacity bumps the version after its
commit, so the next request computes afresh. Responses carry `Cache-Control: public, max-age=N` and a
strong ETag; `If-None-Match` with it gets a 304 without a body.

Single-flight. On a miss one process computes (it holds a short lock in the cache); the others serve
the previous answer (stale by at most a booking) when there is one, or wait up to two seconds for the
computing one, and compute themselves only if it did not finish. A release of popular slots therefore
costs one computation per answer, not one per worker.

Rate limits (django-ratelimit's counters, counted in the shared cache per client address: REMOTE_ADDR,
or the address EXPATDESK_TRUSTED_PROXIES names; one round trip to Redis per count,
expatdesk.ratelimits.count_request). Polling is counted only when the request computes, at
EXPATDESK_API_POLL_RATE: an answer served from the cache costs about as much as a bare request, so
slot checkers may poll cached answers as often as they like (a normal IND checker cycle is about 200
requests in 45 seconds). Holds and bookings are counted on every request at EXPATDESK_API_WRITE_RATE.
Over the limit: 429, the error shape, and `Retry-After` with the seconds until the window ends.

CORS. The read-only endpoints (IND desks and slots, /api/v1 free days and free times) answer any
origin for GET, without credentials, so browser-based checkers can read them; a preflight OPTIONS gets
204 with the allowed method and headers. Holds and bookings send no CORS headers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from api.ind_responses import CONTENT_TYPE, RATE_LIMITED, ApiError, error_response
from bookings.cache import aliased, shared_under_alias
from expatdesk.ratelimits import count_request

logger = logging.getLogger(__name__)

POLL = "api-poll"
WRITE = "api-write"

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Expose-Headers": "ETag, Retry-After",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Type, If-None-Match",
    "Access-Control-Max-Age": "86400",
}


def cache_seconds() -> int:
    return settings.EXPATDESK_SLOT_CACHE_SECONDS


# ---- rate limits ----------------------------------------------------------------------------------------


def rate_limited(request: HttpRequest, *, group: str) -> HttpResponse | None:
    """Count this request for its client; a 429 answer when the client is over its limit."""
    rate = settings.EXPATDESK_API_POLL_RATE if group == POLL else settings.EXPATDESK_API_WRITE_RATE
    try:
        usage = count_request(request, group=group, rate=rate)
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


# ---- shared answers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    body: bytes
    etag: str
    content_type: str = CONTENT_TYPE


@dataclass(frozen=True)
class Question:
    """What a request asks, before the database is asked anything: `alias` is its raw parts."""

    name: str
    alias: tuple[object, ...]

    @property
    def alias_key(self) -> str:
        digest = hashlib.sha256(repr(self.alias).encode()).hexdigest()[:32]
        return f"api:{self.name}:alias:{digest}"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _answer_key(name: str, location_id: int, parts: tuple[object, ...]) -> str:
    return f"api:{name}:{location_id}:{':'.join(map(str, parts))}"


def _answer_of(value: object) -> Answer | None:
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    etag, content_type, body = value
    return Answer(body=body, etag=etag, content_type=content_type)


def cached_answer(question: Question) -> Answer | None:
    """The fresh answer to `question` from the cache alone (no database), or None: one round trip on Redis."""
    return _answer_of(aliased(question.alias_key))


def answer(
    question: Question,
    *,
    location_id: int,
    parts: tuple[object, ...],
    compute: Callable[[], bytes],
    day: date | None = None,
    content_type: str = CONTENT_TYPE,
) -> Answer:
    """The answer to `question` about `location_id` (under its version on `day`, or on any day): from the
    cache when fresh, else computed by one process at a time (bookings.cache.shared: single-flight)."""

    def encoded() -> tuple[str, str, bytes]:
        body = compute()
        return (etag_of(body), content_type, body)

    answer_key = _answer_key(question.name, location_id, parts)
    stored = shared_under_alias(question.alias_key, answer_key, location_id=location_id, day=day, compute=encoded)
    return _answer_of(stored)  # type: ignore[return-value]


# ---- responses ------------------------------------------------------------------------------------------


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def shared_response(request: HttpRequest, found: Answer | bytes) -> HttpResponse:
    """A 200 with the body, or a 304 when the client has it; cacheable by anyone for a few seconds."""
    if isinstance(found, bytes):
        found = Answer(body=found, etag=etag_of(found))
    if _matches(request.headers.get("If-None-Match", ""), found.etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(found.body, content_type=found.content_type)
    response["ETag"] = found.etag
    response["Cache-Control"] = f"public, max-age={cache_seconds()}"
    return response


def private_response(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def with_cors(response: HttpResponse) -> HttpResponse:
    """Let any origin read this read-only answer (GET, no credentials)."""
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


def cors_preflight() -> HttpResponse:
    """The answer to a CORS preflight (OPTIONS) of a read-only endpoint."""
    response = HttpResponse(status=204)
    for header, value in PREFLIGHT_HEADERS.items():
        response[header] = value
    response["Allow"] = "GET, OPTIONS"
    return response
