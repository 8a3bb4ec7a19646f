"""The admin site, behind the desk's sign-in: password, then a TOTP code when EXPATDESK_REQUIRE_2FA is on."""

from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from desk.permissions import passed_second_factor


class TwoFactorAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and passed_second_factor(request.user)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Sign in through the desk: the password first, then the code; signed in without admin rights → 403."""
        target = request.GET.get("next") or reverse("admin:index")
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(target, login_url=reverse("desk:login"))
        if not passed_second_factor(user):
            return redirect(reverse("desk:verify") + "?" + urlencode({"next": target}))
        raise PermissionDenied
