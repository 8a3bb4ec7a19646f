"""Who may use the employer pages: signed in, past the second factor, HR staff of an approved employer."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from desk.permissions import passed_second_factor
from employers.selectors import approved_employer_of


def employer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous → the sign-in page; without the second factor → the code page; not HR staff of an approved
    employer → 403 (desk staff and admins too, unless they are also an employer's HR staff)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=reverse("employers:login"))
        if not passed_second_factor(user):
            return redirect(reverse("desk:verify") + "?" + urlencode({"next": request.get_full_path()}))
        employer = approved_employer_of(user)
        if employer is None:
            raise PermissionDenied
        request.employer = employer
        return view(request, *args, **kwargs)

    return wrapper
