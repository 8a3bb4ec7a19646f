"""Response headers that depend on the page: `Cache-Control: no-store` wherever personal data is shown, and
`Referrer-Policy: strict-origin` wherever the address carries a manage token.

Pages with a person's name, e-mail, phone, booking reference or manage link must not be kept by the
browser's back-forward cache, a shared computer's disk cache or a proxy. Listed here by URL name, so
that a new view in one of these namespaces is covered without remembering a decorator.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

# Every page of these namespaces: the staff desk and the admin show bookings and people.
PRIVATE_NAMESPACES = frozenset({"desk", "admin"})
# Public pages that show or accept personal data (details form, manage pages with the confirmation, .ics file,
# "find my booking" with the reference and e-mail typed into it).
PRIVATE_VIEWS = frozenset(
    {
        "bookings:details",
        "bookings:find",
        "bookings:manage",
        "bookings:cancel",
        "bookings:reschedule",
        "bookings:ics",
        "bookings:legacy_manage",
    }
)


# Pages whose address carries a manage token: a Referer from them names the site only, never the path, so
# the token lands in no log and no other site's analytics (DESIGN.md §6). Not "no-referrer": browsers then
# send `Origin: null` with the page's own forms, which the CSRF check rightly refuses.
STRICT_REFERRER_POLICY = "strict-origin"
TOKEN_IN_URL_VIEWS = frozenset(
    {"bookings:manage", "bookings:cancel", "bookings:reschedule", "bookings:ics", "bookings:legacy_manage"}
)


def is_private(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    return bool(PRIVATE_NAMESPACES.intersection(match.namespaces)) or match.view_name in PRIVATE_VIEWS


class NoStoreForPersonalDataMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_private(request):
            add_never_cache_headers(response)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name in TOKEN_IN_URL_VIEWS:
            response["Referrer-Policy"] = STRICT_REFERRER_POLICY
        return response
