"""The public addresses from before every location had its own (`/book/…`, `/find/`, `/manage/<token>/…`).

E-mails sent and pages bookmarked before keep working: a manage link goes to its booking's own location,
the rest to the default location (EXPATDESK_DEFAULT_LOCATION, else the first active one). A GET keeps its
query string; a POST is redirected with 307, so the browser sends the same form to the new address (which
checks it as any other).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from bookings import selectors


class HttpResponseTemporaryRedirect(HttpResponseRedirect):
    status_code = 307


def _redirect(request: HttpRequest, slug: str, rest: str) -> HttpResponse:
    url = f"/{slug}/{rest}"
    if request.method == "POST":
        return HttpResponseTemporaryRedirect(url)
    query = request.META.get("QUERY_STRING", "")
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


def to_default_location(request: HttpRequest, rest: str) -> HttpResponse:
    location = selectors.default_location()
    if location is None:
        raise Http404(_("Online booking is not available at the moment."))
    return _redirect(request, location.slug, rest)


def manage_link(request: HttpRequest, token: str, rest: str) -> HttpResponse:
    """An old manage link: to the same page at its booking's location (a cancelled booking's too); a token
    that opens nothing goes to the default location, which answers it as any wrong token."""
    appointment = selectors.manage_appointment_for_token(token=token)
    location = appointment.location if appointment is not None else selectors.default_location()
    if location is None:
        raise Http404(_("This link does not open a booking."))
    return _redirect(request, location.slug, f"manage/{token}/{rest}")
