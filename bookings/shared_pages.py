"""Public pages shared between visitors (issue 10: the calendar and the times pages near the cost of a bare request).

The calendar of a service and the free times of a day are the same page for every visitor who asks with the
same address, query and language, who has no session and no messages: no hold, no personal data, nobody
signed in. Such a page is rendered once per version of the location's free capacity (bookings/cache.py: a
booking, a cancellation or a configuration change drops it after its commit, and it is fresh for at most
EXPATDESK_SLOT_CACHE_SECONDS) and kept in the shared cache with the CSRF token of its forms (the hold form,
the language switch) replaced by a placeholder. Every visitor gets their own token in its place, and the
CSRF cookie with it, so the forms work and no two visitors see the same token.

`SharedPageMiddleware` serves a fresh page right after the session, language, common and CSRF middleware, from
the request alone in one cache round trip on Redis (two on another cache) and no database query: it skips
authentication and the second
factor, messages, the rate limits and the view. The headers it skips are those of the clickjacking
middleware, which it adds itself. A visitor with a session or messages, a miss, or any other request goes on
as usual; the views fill the cache (`shared_page`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.translation import get_language

from bookings.cache import aliased, fresh_seconds, shared_under_alias
from bookings.models import Location

# The pages that may be shared, by URL name.
SHARED_PAGES = frozenset({"bookings:calendar", "bookings:times", "bookings:visit_calendar", "bookings:visit_times"})

_TOKEN_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
# Stands for the visitor's CSRF token in a stored page: NUL bytes never occur in rendered HTML.
_PLACEHOLDER = "\x00csrf-token\x00"


def shareable(request: HttpRequest) -> bool:
    """A GET by a visitor without a session (no hold, nobody signed in) and without messages to show."""
    cookies = request.COOKIES
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in cookies
        and CookieStorage.cookie_name not in cookies
        and fresh_seconds() > 0
    )


def _digest(request: HttpRequest) -> str:
    """What the page depends on besides its location's version: its address, query and language."""
    raw = repr((request.path_info, request.META.get("QUERY_STRING", ""), get_language()))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _with_token(request: HttpRequest, page: str) -> HttpResponse:
    """The stored page with this visitor's CSRF token (which also sets their CSRF cookie)."""
    return HttpResponse(page.replace(_PLACEHOLDER, get_token(request)))


def shared_page(
    request: HttpRequest,
    *,
    location: Location,
    day: date | None,
    template: str,
    context: dict,
) -> HttpResponse:
    """The page rendered from `template`, shared with every visitor who asks the same (see the module's text)
    under the location's version on `day` (on any day when None); rendered for this visitor alone when the
    request is not shareable. Call it only for a page that shows no message added by this request."""
    if not shareable(request):
        return render(request, template, context)

    def rendered() -> str:
        return _TOKEN_FIELD.sub(rf"\g<1>{_PLACEHOLDER}\g<2>", render_to_string(template, context, request))

    digest = _digest(request)
    page = shared_under_alias(
        f"page:alias:{digest}", f"page:{location.pk}:{digest}", location_id=location.pk, day=day, compute=rendered
    )
    return _with_token(request, page)


def cached_page(request: HttpRequest) -> HttpResponse | None:
    """The fresh shared page that answers `request`, from the cache alone, or None (the view answers)."""
    if not shareable(request):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.view_name not in SHARED_PAGES:
        return None
    page = aliased(f"page:alias:{_digest(request)}")
    if not isinstance(page, str):
        return None
    response = _with_token(request, page)
    response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
    return response


class SharedPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = cached_page(request)
        return self.get_response(request) if response is None else response
