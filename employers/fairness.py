"""The fair share of an employer's HR staff (issue 9): they book for many employees, so their bookings are
counted per employer, with its own, higher limits (EXPATDESK_EMPLOYER_DAY_MINUTES and
EXPATDESK_EMPLOYER_HORIZON_MINUTES), not per client address. bookings/fairness.py counts; this module only
names and sizes the employer's share, which the booking pages pass to the actions."""

from __future__ import annotations

from django.conf import settings

from bookings.fairness import Share, owner_share
from employers.models import Employer
from employers.selectors import booking_employer


def employer_share(employer: Employer) -> Share:
    return owner_share(
        owner=f"employer:{employer.pk}",
        day_minutes=settings.EXPATDESK_EMPLOYER_DAY_MINUTES,
        horizon_minutes=settings.EXPATDESK_EMPLOYER_HORIZON_MINUTES,
    )


def booking_share(user) -> Share | None:
    """The employer's share when `user` books as HR staff of an approved employer; None otherwise (the
    address and the mailbox count as for anyone)."""
    employer = booking_employer(user)
    return employer_share(employer) if employer is not None else None
