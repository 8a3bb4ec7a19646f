"""Someone signed in who books for another person through the public pages: a booking agent.

Today that is the HR staff of an approved employer booking for an employee. `bookings` does not know who
may be an agent, nor what is recorded when an agent books: that belongs to the apps above it, and
`bookings` imports none of them (DESIGN.md §3). The project names one provider in the setting
`EXPATDESK_BOOKING_AGENT_PROVIDER`: a dotted path to a callable that takes the request and returns a
`BookingAgent` or None (`employers.agent.booking_agent`). Empty: nobody books as an agent.

The public pages ask `agent_for(request)`: the details page words its form for the other person, every
page of the flow says who is signed in with a way back (the `booking_agent` context processor), and
once a booking is confirmed the view calls `agent.record_booking(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

from bookings.fairness import Share
from bookings.models import Appointment

_CACHE_ATTRIBUTE = "_expatdesk_booking_agent"


@dataclass(frozen=True)
class BookingAgent:
    organisation: str  # whom the agent books for, e.g. the employer's name
    signed_in_as: str  # the agent's user name, shown on the pages
    home_url: str  # the agent's own page: "back to your organisation's bookings"
    # Called once the booking is confirmed: record it as the agent's (e.g. on the employer's list).
    # Raises bookings.actions.BookingError when it no longer can (the booking was cancelled meanwhile).
    record_booking: Callable[..., object]
    # Whose fair share of counter time the agent's bookings count against (bookings/fairness.py): an
    # employer's, with its own limits, instead of the client address's.
    share: Share | None = None


@cache
def _provider(path: str) -> Callable[[HttpRequest], BookingAgent | None] | None:
    return import_string(path) if path else None


def agent_for(request: HttpRequest) -> BookingAgent | None:
    """The request's booking agent, or None; asked once per request (the provider may query the database)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return None  # the public at large: no provider call, no query
    if not hasattr(request, _CACHE_ATTRIBUTE):
        provider = _provider(getattr(settings, "EXPATDESK_BOOKING_AGENT_PROVIDER", ""))
        setattr(request, _CACHE_ATTRIBUTE, provider(request) if provider else None)
    return getattr(request, _CACHE_ATTRIBUTE)


def record_agent_booking(request: HttpRequest, *, appointment: Appointment, now: datetime) -> None:
    """After a confirmed booking: let the request's agent (if any) record it as theirs."""
    agent = agent_for(request)
    if agent is not None:
        agent.record_booking(appointment=appointment, now=now)


def agent_share(request: HttpRequest) -> Share | None:
    """The fair share the request's agent books under, or None (the address and mailbox count)."""
    agent = agent_for(request)
    return agent.share if agent is not None else None


def booking_agent(request: HttpRequest) -> dict[str, Callable[[], BookingAgent | None]]:
    """Context processor: `{% if booking_agent %}` in the public templates. Lazy: only a template that
    uses it asks the provider."""
    return {"booking_agent": lambda: agent_for(request)}
