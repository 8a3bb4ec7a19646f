"""Who may use the desk pages: signed in, in a desk role, and past the second factor when it is required."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from desk.locations import has_no_location

# The group names seed_demo creates; keep them in step.
DESK_STAFF_GROUP = "Desk staff"
ADMINS_GROUP = "Admins"


def passed_second_factor(user) -> bool:
    if not settings.EXPATDESK_REQUIRE_2FA:
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def is_desk_user(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    # One query per request, cached on the user object for the rest of it.
    if not hasattr(user, "_desk_role"):
        user._desk_role = user.groups.filter(name__in=[DESK_STAFF_GROUP, ADMINS_GROUP]).exists()
    return user._desk_role


def desk_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous → the login page; signed in without the second factor → the code page; no desk role → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=reverse("desk:login"))
        if not passed_second_factor(user):
            return redirect(reverse("desk:verify") + "?" + urlencode({"next": request.get_full_path()}))
        if not is_desk_user(user):
            raise PermissionDenied
        if has_no_location(user):
            # Signed in, in a desk role, but not (yet) at any location: say so rather than show an empty desk.
            return render(request, "desk/no_location.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def is_desk_admin(user) -> bool:
    return user.is_superuser or user.groups.filter(name=ADMINS_GROUP).exists()


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """As desk_required, and only for admins (the Admins group or superusers)."""

    @wraps(view)
    @desk_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_desk_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
