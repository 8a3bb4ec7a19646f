"""Where a signed-in user starts: the project knows every app's start page (desk → employers → bookings)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from desk.permissions import is_desk_user
from employers.selectors import approved_employer_of


def signed_in(request: HttpRequest) -> HttpResponse:
    """settings.LOGIN_REDIRECT_URL: desk staff and admins to the agenda, HR staff of an approved employer to
    their organisation's bookings (each page asks for the authenticator code first where it is needed)."""
    user = request.user
    if user.is_authenticated and not is_desk_user(user) and approved_employer_of(user) is not None:
        return redirect("employers:bookings")
    return redirect("desk:agenda")
