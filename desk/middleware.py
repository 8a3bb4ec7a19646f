"""A signed-in session (desk staff, admins, HR staff of employers) ends after EXPATDESK_STAFF_IDLE_MINUTES
without activity: the next request signs it out and asks for the password again.

The time of the last activity is kept in the session, written at most once a minute (not on every
request). The agenda's own 30-second refresh (desk/static/desk/agenda.js, `X-Requested-With: fetch`) is not
activity: a desk left open on the agenda still ends. Anonymous visitors of the public pages are untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

LAST_ACTIVITY_KEY = "_expatdesk_last_activity"
WRITE_EVERY_SECONDS = 60


def _is_background(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def record_sign_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """`user_logged_in`: a session starts active (and the first page after it writes nothing more)."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY_KEY] = int(time.time())


class IdleSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.EXPATDESK_STAFF_IDLE_MINUTES * 60
        user = getattr(request, "user", None)
        if limit > 0 and user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY_KEY)
            if isinstance(last, int) and now - last > limit:
                logout(request)
                messages.info(
                    request,
                    _("You were signed out after %(minutes)d minutes without activity. Please sign in again.")
                    % {"minutes": settings.EXPATDESK_STAFF_IDLE_MINUTES},
                )
            elif not _is_background(request) and (not isinstance(last, int) or now - last >= WRITE_EVERY_SECONDS):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)
