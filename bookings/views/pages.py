"""The start page, the privacy statement and "find my booking"."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import actions, desk_info, selectors
from bookings.forms import FindBookingForm
from services.selectors import active_services

# With no active service, upcoming closures are listed this many days ahead (the services' default horizon).
DEFAULT_HORIZON_DAYS = 42


@require_http_methods(["GET"])
def start(request: HttpRequest) -> HttpResponse:
    """The services, where and when the desk is open (today's hours, the changes coming, the closed days
    within the booking horizon), and the way to a booking already made. Four queries."""
    services = list(active_services())
    location = selectors.desk_location()
    context: dict = {"services": services, "location": location}
    if location is not None:
        today = timezone.now().astimezone(location.tz).date()
        horizon = max((service.booking_horizon_days for service in services), default=DEFAULT_HORIZON_DAYS)
        until = today + timedelta(days=horizon)
        rows = selectors.opening_hours_from(location=location, today=today)
        context.update(
            {
                "opening_days": desk_info.opening_week(rows, today=today),
                "hours_changes": desk_info.coming_changes(rows, today=today),
                "closures": desk_info.upcoming_closures(
                    rows=rows,
                    closures=desk_info.load_closures(location=location, start=today, end=until),
                    today=today,
                    until=until,
                ),
                "closures_until": until,
            }
        )
    return render(request, "bookings/start.html", context)


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
            # The worker looks the address up: the same work, the same answer, whether or not it has bookings.
            actions.request_booking_links(
                email=form.cleaned_data["email"], reference=form.cleaned_data["reference"], now=timezone.now()
            )
            messages.success(
                request,
                _(
                    "If there are bookings with this e-mail address, we are sending the links to manage them to "
                    "that address. It can take a few minutes to arrive; check your spam folder too."
                ),
            )
            return redirect("bookings:find")
        return render(request, "bookings/find.html", {"form": form}, status=400)
    form = FindBookingForm()
    return render(request, "bookings/find.html", {"form": form})
