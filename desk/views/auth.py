"""Staff sign-in: password (throttled by django-axes), then a TOTP code; first-time TOTP setup."""

from base64 import b32encode
from binascii import unhexlify
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from desk import twofactor
from desk.forms import TokenForm
from desk.permissions import is_desk_user


class LoginView(auth_views.LoginView):
    template_name = "desk/login.html"

    def get_success_url(self) -> str:
        """A `next` into the desk is for desk staff; anyone else (HR staff of an employer) goes to their own
        start page instead (settings.LOGIN_REDIRECT_URL: expatdesk/views.py signed_in)."""
        target = self.get_redirect_url()
        if target.startswith(reverse("desk:agenda")) and not is_desk_user(self.request.user):
            target = ""
        return target or self.get_default_redirect_url()


class LogoutView(auth_views.LogoutView):
    pass


def _elevate(request: HttpRequest, device) -> None:
    """Past the second factor: a new session key (DESIGN.md §6: rotated at every elevation), so a key
    seen before the code was typed is worth nothing after it."""
    django_otp.login(request, device)
    request.session.cycle_key()


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    # No (safe) target: desk staff to the agenda, anyone else (HR staff) to their own start page.
    return reverse("desk:agenda") if is_desk_user(request.user) else resolve_url(settings.LOGIN_REDIRECT_URL)


@never_cache
@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Ask for the code of the staff member's authenticator app; without one yet, set it up first."""
    if not twofactor.confirmed_devices(request.user):
        return redirect(reverse("desk:totp_setup") + "?" + urlencode({"next": _next_url(request)}))
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            device = twofactor.matching_device(user=request.user, token=form.cleaned_data["token"])
            if device is not None:
                _elevate(request, device)
                return redirect(_next_url(request))
            form.add_error("token", _("That code is not right, or has expired. Please type the current code."))
        status = 400
    return render(request, "desk/verify.html", {"form": form, "next": _next_url(request)}, status=status)


@never_cache
@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a first authenticator app. Once a staff member has one, only an admin can reset it."""
    if twofactor.confirmed_devices(request.user):
        return redirect(reverse("desk:verify") + "?" + urlencode({"next": _next_url(request)}))
    device = twofactor.pending_device(request.user)
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and twofactor.confirm_device(device=device, token=form.cleaned_data["token"]):
            _elevate(request, device)
            return redirect(_next_url(request))
        if form.is_valid():
            form.add_error("token", _("That code is not right. Please type the code your app shows now."))
        status = 400
    secret = b32encode(unhexlify(device.key)).decode()
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_svg": twofactor.qr_code_svg(device.config_url),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }
    return render(request, "desk/totp_setup.html", context, status=status)
