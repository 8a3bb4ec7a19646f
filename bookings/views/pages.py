"""The start page, the privacy statement and "find my booking"."""

from __future__ import annotations

from contextlib import suppress
from itertools import groupby

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import actions, selectors
from bookings.actions import BookingError
from bookings.forms import FindBookingForm
from bookings.models import Weekday
from bookings.tokens import normalise_reference
from services.selectors import active_services


@require_http_methods(["GET"])
def start(request: HttpRequest) -> HttpResponse:
    location = selectors.desk_location()
    opening_days = []
    if location is not None:
        today = timezone.now().astimezone(location.tz).date()
        hours = selectors.opening_hours_on(location=location, today=today)
        for weekday, intervals in groupby(hours, key=lambda h: h.weekday):
            opening_days.append(
                {
                    "weekday": Weekday(weekday).label,
                    "hours": [(h.start_time, h.end_time) for h in intervals],
                }
            )
    return render(
        request,
        "bookings/start.html",
        {"services": list(active_services()), "location": location, "opening_days": opening_days},
    )


@require_http_methods(["GET"])
def privacy(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "bookings/privacy.html",
        {
            "location": selectors.desk_location(),
            "controller": settings.EXPATDESK_PRIVACY_CONTROLLER,
            "privacy_email": settings.EXPATDESK_PRIVACY_EMAIL,
            "retention_days": settings.EXPATDESK_ANONYMISE_AFTER_DAYS,
        },
    )


@require_http_methods(["GET"])
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "bookings/accessibility.html",
        {"location": selectors.desk_location(), "privacy_email": settings.EXPATDESK_PRIVACY_EMAIL},
    )


@require_http_methods(["GET", "POST"])
def find_booking(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = FindBookingForm(data=request.POST)
        if form.is_valid():
            now = timezone.now()
            appointment = selectors.appointment_for_reference(
                reference=normalise_reference(form.cleaned_data["reference"]),
                email=form.cleaned_data["email"],
                now=now,
            )
            if appointment is not None:
                with suppress(BookingError):
                    actions.resend_manage_link(appointment=appointment, now=now)
            # The same answer whether or not such a booking exists.
            messages.success(
                request,
                _(
                    "If a booking with this reference and e-mail address exists, we have sent the link to "
                    "manage it to that address. It can take a few minutes to arrive; check your spam folder too."
                ),
            )
            return redirect("bookings:find")
        return render(request, "bookings/find.html", {"form": form}, status=400)
    form = FindBookingForm()
    return render(request, "bookings/find.html", {"form": form})
