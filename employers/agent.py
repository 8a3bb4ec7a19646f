"""The booking agent of the public pages (bookings/agents.py) for HR staff of an approved employer.

Named in the setting EXPATDESK_BOOKING_AGENT_PROVIDER. Signed in past the second factor, such a user books
for an employee: the pages say so, and the confirmed booking goes on the employer's list.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.http import HttpRequest
from django.urls import reverse

from bookings.agents import BookingAgent
from bookings.models import Appointment
from employers import actions
from employers.fairness import employer_share
from employers.selectors import booking_employer


def _record(*, user, appointment: Appointment, now: datetime) -> None:
    actions.record_employer_booking(appointment=appointment, user=user, now=now)


def booking_agent(request: HttpRequest) -> BookingAgent | None:
    employer = booking_employer(request.user)
    if employer is None:
        return None
    return BookingAgent(
        organisation=employer.name,
        signed_in_as=request.user.get_username(),
        home_url=reverse("employers:bookings"),
        record_booking=partial(_record, user=request.user),
        share=employer_share(employer),
    )
