from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from bookings.models import Location


def render_local(
    request: HttpRequest, template: str, context: dict, *, location: Location | None, status: int = 200
) -> HttpResponse:
    """Render with times shown in the location's time zone (a location may be outside Amsterdam's)."""
    if location is None:
        return render(request, template, context, status=status)
    with timezone.override(location.tz):
        return render(request, template, context, status=status)
