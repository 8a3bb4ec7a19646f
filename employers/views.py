"""Employer pages: sign-up (public), sign-in (the desk's password + TOTP flow), the list of own bookings,
and one booking: move it to another free time or cancel it."""

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from bookings.actions import BookingError, PersonName
from bookings.forms import StartForm, parse_day
from bookings.models import Appointment
from bookings.selectors import visit_parts
from bookings.visits import PartRequest, VisitError
from desk.views.auth import LoginView as DeskLoginView
from employers import actions, selectors
from employers.forms import EmployerAuthenticationForm, SignUpForm, VisitForm
from employers.permissions import employer_required


class LoginView(DeskLoginView):
    """The desk's sign-in (throttled by django-axes), landing on the employer's bookings; the TOTP code follows."""

    template_name = "employers/login.html"
    authentication_form = EmployerAuthenticationForm

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
        # The same answer whether or not the address has an account: the form does not tell who has one.
        actions.sign_up_employer(
            name=data["name"],
            sponsor_number=data["sponsor_number"],
            contact_name=data["contact_name"],
            email=data["email"],
            password=data["password"],
            now=timezone.now(),
            language=(get_language() or "en")[:2],
        )
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
    parts = selectors.parts_of_rows(rows)
    listed = [
        (
            row,
            selectors.named_parts(parts[row.appointment_id], row.appointment.people_list)
            if row.appointment.part_count > 1
            else [],
        )
        for row in rows
    ]
    return render(
        request,
        "employers/bookings.html",
        {"employer": request.employer, "rows": rows, "listed": listed, "limit": selectors.LIST_LIMIT},
    )


def _visit_page(request: HttpRequest, form: VisitForm, *, arrivals=None, error: str = "", status: int = 200):
    context = {"employer": request.employer, "form": form, "arrivals": arrivals, "error": error}
    return render(request, "employers/book_visit.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@employer_required
def book_visit(request: HttpRequest) -> HttpResponse:
    """Book a visit of several parts for an employee and family: the form, then the day's free arrival
    times (each a button), then the booking."""
    form = VisitForm(request.POST or None)
    if request.method == "GET":
        return _visit_page(request, form)
    if not form.is_valid():
        return _visit_page(request, form, status=400)
    data = form.cleaned_data
    location, now = data["location"], timezone.now()
    parts = [PartRequest(service, persons) for service, persons in form.parts()]
    try:
        arrivals = selectors.visit_arrivals(location=location, parts=parts, day=data["day"], now=now)
    except VisitError as refused:
        return _visit_page(request, form, error=str(refused), status=400)
    if data["time"] is None:
        return _visit_page(request, form, arrivals=arrivals)
    try:
        result = actions.book_employee_visit(
            employer=request.employer,
            user=request.user,
            location=location,
            parts=parts,
            start=datetime.combine(data["day"], data["time"], tzinfo=location.tz),
            names=[PersonName(first_name=first, last_name=last) for first, last in form.names()],
            contact_email=data["contact_email"],
            municipality=data["municipality"],
            language=(get_language() or "en")[:2],
            now=now,
        )
    except BookingError as refused:
        status = 409 if refused.code == BookingError.SLOT_TAKEN else 400
        return _visit_page(request, form, arrivals=arrivals, error=str(refused.message), status=status)
    messages.success(
        request,
        _("Visit %(reference)s is booked. The employee gets the confirmation by e-mail.")
        % {"reference": result.appointment.reference},
    )
    return redirect("employers:booking", reference=result.appointment.reference)


def _own_booking(request: HttpRequest, reference: str) -> Appointment:
    appointment = selectors.employer_appointment(employer=request.employer, reference=reference)
    if appointment is None:
        raise Http404(_("Your organisation has no booking with that reference."))
    return appointment


def _booking_page(
    request: HttpRequest, appointment: Appointment, *, error: str = "", status: int = 200
) -> HttpResponse:
    now = timezone.now()
    tz = appointment.location.tz
    people = list(appointment.people.order_by("position"))
    day = parse_day(request.GET.get("day") or request.POST.get("day")) or appointment.start.astimezone(tz).date()
    context = {
        "employer": request.employer,
        "appointment": appointment,
        "people": people,
        "parts": selectors.named_parts(visit_parts(appointment), people) if appointment.part_count > 1 else [],
        "error": error,
        "move": (
            selectors.move_times(appointment=appointment, day=max(day, now.astimezone(tz).date()), now=now)
            if selectors.can_change(appointment)
            else None
        ),
    }
    return render(request, "employers/booking.html", context, status=status)


@never_cache
@require_http_methods(["GET"])
@employer_required
def booking(request: HttpRequest, reference: str) -> HttpResponse:
    """One of the employer's bookings: its details, free times to move it to, and cancelling it."""
    return _booking_page(request, _own_booking(request, reference))


@require_POST
@employer_required
def move(request: HttpRequest, reference: str) -> HttpResponse:
    appointment = _own_booking(request, reference)
    form = StartForm(request.POST)
    if not form.is_valid():
        return _booking_page(request, appointment, error=_("Choose one of the free times shown."), status=400)
    new_start: datetime = form.cleaned_data["start"]
    try:
        moved = actions.move_employee_booking(
            employer=request.employer,
            appointment=appointment,
            new_start=new_start,
            now=timezone.now(),
            actor=request.user,
        )
    except BookingError as refused:
        status = 409 if refused.code == BookingError.SLOT_TAKEN else 400
        return _booking_page(request, appointment, error=str(refused.message), status=status)
    local = moved.start.astimezone(moved.location.tz)
    messages.success(
        request,
        _("%(reference)s is moved to %(when)s. The employee gets an e-mail.")
        % {"reference": moved.reference, "when": dateformat.format(local, "D j M Y, H:i")},
    )
    return redirect("employers:booking", reference=moved.reference)


@require_POST
@employer_required
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    appointment = _own_booking(request, reference)
    try:
        actions.cancel_employee_booking(
            employer=request.employer, appointment=appointment, now=timezone.now(), actor=request.user
        )
    except BookingError as refused:
        return _booking_page(request, appointment, error=str(refused.message), status=400)
    messages.success(
        request, _("%(reference)s is cancelled. The employee gets an e-mail.") % {"reference": appointment.reference}
    )
    return redirect("employers:bookings")
