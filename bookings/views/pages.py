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
from bookings import cache as shared
from bookings.forms import FindBookingForm
from bookings.models import Location
from bookings.views.common import at_location

# With no active service, upcoming closures are listed this many days ahead (the services' default horizon).
DEFAULT_HORIZON_DAYS = 42


@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    """The locations people can book at, each with its city, the services it offers and its next free day;
    straight to the only one when there is one. A constant number of queries whatever the number of
    locations: the locations, their offers, and (when not cached) the free days of all of them at once."""
    locations = selectors.public_locations()
    if len(locations) == 1:
        return redirect("bookings:start", location=locations[0].slug)
    offers = selectors.offers_of(locations=locations)
    next_free = shared.next_free_days(locations=locations, offers=offers, now=timezone.now())
    choices = [
        {
            "location": location,
            "services": [offer.service for offer in offers.get(location.pk, [])],
            "next_free_day": next_free.get(location.pk),
        }
        for location in locations
    ]
    return render(request, "bookings/home.html", {"choices": choices, "location": None, "home": True})


@require_http_methods(["GET"])
@at_location
def start(request: HttpRequest, location: Location) -> HttpResponse:
    """The services the location offers, where and when it is open (today's hours, the changes coming, the
    closed days within the booking horizon), and the way to a booking already made. Four queries."""
    offers = selectors.offers_of(locations=[location]).get(location.pk, [])
    services = [offer.service for offer in offers]
    context: dict = {"offers": offers, "services": services, "location": location}
    if location is not None:
        today = timezone.now().astimezone(location.tz).date()
        horizon = max((offer.horizon_days for offer in offers), default=DEFAULT_HORIZON_DAYS)
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
@at_location
def find_booking(request: HttpRequest, location: Location) -> HttpResponse:
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
            return redirect("bookings:find", location=location.slug)
        return render(request, "bookings/find.html", {"form": form, "location": location}, status=400)
    form = FindBookingForm()
    return render(request, "bookings/find.html", {"form": form, "location": location})
