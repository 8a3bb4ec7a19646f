"""Employer pages: sign-up (public), sign-in (the desk's password + TOTP flow), and the list of own bookings."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from bookings.actions import BookingError
from desk.views.auth import LoginView as DeskLoginView
from employers import actions, selectors
from employers.forms import SignUpForm
from employers.permissions import employer_required


class LoginView(DeskLoginView):
    """The desk's sign-in (throttled by django-axes), landing on the employer's bookings; the TOTP code follows."""

    template_name = "employers/login.html"

    def get_default_redirect_url(self) -> str:
        return reverse("employers:bookings")


@never_cache
@sensitive_post_parameters("password", "password_again")
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "employers/signup.html", {"form": form}, status=400)
        data = form.cleaned_data
        try:
            actions.sign_up_employer(
                name=data["name"],
                sponsor_number=data["sponsor_number"],
                contact_name=data["contact_name"],
                email=data["email"],
                password=data["password"],
                now=timezone.now(),
            )
        except BookingError as error:
            if error.code != actions.EMAIL_TAKEN:
                raise
            # The same answer as for a new request: the form does not tell who has an account.
        return redirect("employers:signed_up")
    return render(request, "employers/signup.html", {"form": form})


@require_http_methods(["GET"])
def signed_up(request: HttpRequest) -> HttpResponse:
    return render(request, "employers/signed_up.html")


@never_cache
@require_http_methods(["GET"])
@employer_required
def bookings(request: HttpRequest) -> HttpResponse:
    """The employer's own bookings (and only theirs), newest first."""
    rows = list(selectors.employer_bookings(employer=request.employer))
    return render(
        request,
        "employers/bookings.html",
        {"employer": request.employer, "rows": rows, "limit": selectors.LIST_LIMIT},
    )
