"""Template tags for the public pages: the footer with the desk's address."""

from django import template

from bookings import selectors

register = template.Library()


@register.inclusion_tag("includes/footer.html", takes_context=True)
def desk_footer(context: template.Context) -> dict:
    """The footer; reuses the page's `location` when the view already loaded it (saves a query)."""
    location = context.get("location")
    if location is None:
        location = selectors.desk_location()
    return {"location": location}
