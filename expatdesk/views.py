"""Project-wide pages: where a signed-in user starts (the project knows every app's start page), and the
favicon's old address."""

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect
from django.templatetags.static import static

from desk.permissions import is_desk_user
from employers.selectors import approved_employer_of


def signed_in(request: HttpRequest) -> HttpResponse:
    """settings.LOGIN_REDIRECT_URL: desk staff and admins to the agenda, HR staff of an approved employer to
    their organisation's bookings (each page asks for the authenticator code first where it is needed)."""
    user = request.user
    if user.is_authenticated and not is_desk_user(user) and approved_employer_of(user) is not None:
        return redirect("employers:bookings")
    return redirect("desk:agenda")


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for where a page names no icon: the site's icon in static/. Looked up
    per request, not at import (production's manifest exists only after collectstatic)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
