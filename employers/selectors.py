"""Read queries for the employer pages. No writes."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from bookings.models import Person
from desk.permissions import passed_second_factor
from employers.models import Employer, EmployerBooking, EmployerMembership

# The most bookings the list shows at once (newest first).
LIST_LIMIT = 200


def approved_employer_of(user) -> Employer | None:
    """The approved employer `user` is HR staff of, or None. One query, cached on the user for the request."""
    if not user.is_authenticated or not user.is_active:
        return None
    if not hasattr(user, "_approved_employer"):
        membership = (
            EmployerMembership.objects.select_related("employer").filter(user=user, employer__is_approved=True).first()
        )
        user._approved_employer = membership.employer if membership else None
    return user._approved_employer


def booking_employer(request_user) -> Employer | None:
    """The employer a booking made by this signed-in user is for: an approved member past the second factor."""
    if not request_user.is_authenticated or not passed_second_factor(request_user):
        return None
    return approved_employer_of(request_user)


def employer_bookings(*, employer: Employer, limit: int = LIST_LIMIT) -> QuerySet[EmployerBooking]:
    """The employer's own bookings with what the list shows, in three queries whatever their number."""
    return (
        EmployerBooking.objects.filter(employer=employer)
        .select_related("appointment__service", "appointment__location", "booked_by")
        .prefetch_related(
            Prefetch("appointment__people", queryset=Person.objects.order_by("position"), to_attr="people_list")
        )
        .order_by("-appointment__start", "-pk")[:limit]
    )
