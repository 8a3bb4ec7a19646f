"""Template tags for the public pages: the desk a page is about (its public name in the title and header),
and the footer with the desk's address and contact details."""

from django import template
from django.http import HttpRequest

from bookings import selectors
from bookings.models import Location

register = template.Library()

_NOT_LOOKED_UP = object()


def page_location(context: template.Context) -> Location | None:
    """The view's `location` when it loaded one (or the location of the address, bookings.views.common's
    at_location); none on the list of locations; else the default location, looked up once per request."""
    location = context.get("location")
    if location is not None:
        return location
    if context.get("home"):
        return None
    request: HttpRequest | None = context.get("request")
    if getattr(request, "booking_location", None) is not None:
        return request.booking_location
    found = getattr(request, "_desk_location", _NOT_LOOKED_UP) if request is not None else _NOT_LOOKED_UP
    if found is _NOT_LOOKED_UP:
        found = selectors.desk_location()
        if request is not None:
            request._desk_location = found
    return found


@register.simple_tag(takes_context=True)
def site_location(context: template.Context) -> Location | None:
    return page_location(context)


@register.inclusion_tag("includes/footer.html", takes_context=True)
def desk_footer(context: template.Context) -> dict:
    """The footer; reuses the page's `location` when the view already loaded it (saves a query)."""
    return {"location": page_location(context)}
