"""Shared API answers served before the rest of the stack (issue 10: a cache hit near the cost of a bare request).

The slot lists of the IND API and the free days and times of /api/v1/ are the same for every client and are
cached under the location's version (api/caching.py). A fresh one is found from the request's path and query
alone, in one cache round trip on Redis (two on another cache) and no database query. This middleware looks it
up right after the security,
CSP and no-store middleware, so a hit skips what it does not need: the session, the language, CSRF,
authentication and the second factor, messages, and the view machinery (Django REST framework's negotiation
and throttles: a hit is never counted, as before). A miss, or any other request, goes on as usual and the view
answers (and fills the cache). The answers are public JSON without cookies, in no language, so what is
skipped could not have changed them; the headers a hit carries are those the view gives it (ETag,
Cache-Control, CORS) plus X-Frame-Options, which the skipped clickjacking middleware would have added.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve

from api import caching
from api.ind_views import slots_question
from api.v1.views import FreeDaysView, FreeTimesView, VisitTimesView

PREFIXES = ("/oap/api/", "/api/v1/")

# URL name → the question its request asks (path arguments as keywords).
QUESTIONS: dict[str, Callable[..., caching.Question]] = {
    "ind:slots": slots_question,
    "api_v1:free-days": FreeDaysView.question_for,
    "api_v1:free-times": FreeTimesView.question_for,
    "api_v1:visit-times": VisitTimesView.question_for,
}


def shared_answer(request: HttpRequest) -> HttpResponse | None:
    """The fresh shared answer to `request` from the cache alone, or None (the view answers)."""
    if request.method != "GET" or not request.path_info.startswith(PREFIXES):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    question_of = QUESTIONS.get(match.view_name)
    if question_of is None:
        return None
    query: QueryDict = request.GET
    found = caching.cached_answer(question_of(query, **match.kwargs))
    if found is None:
        return None
    response = caching.with_cors(caching.shared_response(request, found))
    response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
    return response


class SharedAnswerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = shared_answer(request)
        return self.get_response(request) if response is None else response
