"""URLs of the public flow for tests: `reverse` as Django's, with the location filled in.

Every public booking page carries its location (`/<location>/book/…`). Tests written for one location
reverse `bookings:questions` and the like without one: this `reverse` adds the location of the manage
token's booking (for the manage pages), else the default location (the first active one). A test about
several locations passes `location=` itself, or uses `flow_url`.
"""

from __future__ import annotations

from django.urls import reverse as django_reverse

from bookings import selectors
from bookings.models import Location

LOCATION_VIEWS = frozenset(
    {
        "start",
        "find",
        "details",
        "questions",
        "calendar",
        "hold",
        "times",
        "manage",
        "cancel",
        "reschedule",
        "ics",
        "visit_start",
        "visit_persons",
        "visit_calendar",
        "visit_hold",
        "visit_times",
    }
)
TOKEN_VIEWS = frozenset({"manage", "cancel", "reschedule", "ics"})


def _location_slug(name: str, kwargs: dict) -> str:
    if name in TOKEN_VIEWS and "token" in kwargs:
        appointment = selectors.manage_appointment_for_token(token=str(kwargs["token"]))
        if appointment is not None:
            return appointment.location.slug
    location = selectors.default_location()
    assert location is not None, "no active location to build the address with"
    return location.slug


def reverse(viewname: str, urlconf=None, args=None, kwargs=None, current_app=None, query=None) -> str:
    kwargs = dict(kwargs or {})
    namespace, _, name = viewname.rpartition(":")
    at_location = (namespace == "bookings" and name in LOCATION_VIEWS) or viewname == "waitlist:join"
    if at_location and "location" not in kwargs and not args:
        kwargs["location"] = _location_slug(name, kwargs)
    return django_reverse(
        viewname, urlconf=urlconf, args=args, kwargs=kwargs or None, current_app=current_app, query=query
    )


def flow_url(name: str, location: Location | str, **kwargs: object) -> str:
    """`bookings:<name>` at `location` (a Location or its address name)."""
    slug = location if isinstance(location, str) else location.slug
    return django_reverse(f"bookings:{name}", kwargs={"location": slug, **kwargs})
