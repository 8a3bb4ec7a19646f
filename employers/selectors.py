"""Read queries for the employer pages. No writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.db.models import Prefetch, QuerySet
from django.utils.crypto import get_random_string

from bookings import availability
from bookings.availability import Slot
from bookings.models import Appointment, AppointmentStatus, Person
from bookings.tokens import normalise_reference
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


def employers_with_sponsor_number(*, employer: Employer) -> list[Employer]:
    """Other employers that gave the same KvK or IND sponsor number (ignoring capitals): the admin checks
    those before approving. None for an employer that gave no number."""
    number = employer.sponsor_number.strip()
    if not number:
        return []
    return list(Employer.objects.filter(sponsor_number__iexact=number).exclude(pk=employer.pk).order_by("name", "pk"))


# Checked against when there is no account waiting for approval, so that either way one hash is computed.
_NO_ACCOUNT_HASH: list[str] = []


def is_waiting_for_approval(*, username: str, password: str) -> bool:
    """True when `username` is HR staff of an employer not approved yet and `password` is theirs. Always
    checks one password hash, so that the time taken does not tell whether such an account exists."""
    user = (
        get_user_model()
        .objects.filter(username__iexact=username.strip(), is_active=False, employer_membership__isnull=False)
        .filter(employer_membership__employer__is_approved=False)
        .first()
    )
    if not _NO_ACCOUNT_HASH:
        _NO_ACCOUNT_HASH.append(make_password(get_random_string(32)))  # a real hash: checking it costs the same
    encoded = user.password if user is not None and user.has_usable_password() else _NO_ACCOUNT_HASH[0]
    return check_password(password, encoded) and user is not None


def employer_appointment(*, employer: Employer, reference: str) -> Appointment | None:
    """One booking of this employer's list by its reference, or None (another employer's, or nobody's)."""
    return (
        Appointment.objects.select_related("service", "location")
        .filter(reference=normalise_reference(reference), employer_booking__employer=employer)
        .first()
    )


def can_change(appointment: Appointment) -> bool:
    """HR staff move or cancel a booking that is still booked (not yet checked in, done or cancelled)."""
    return appointment.status == AppointmentStatus.BOOKED


@dataclass(frozen=True)
class MoveTimes:
    day: date
    slots: list[Slot]
    closed_reason: str | None


def move_times(*, appointment: Appointment, day: date, now: datetime) -> MoveTimes:
    """The free times on `day` the booking can move to, by the public pages' rules (minimum notice,
    horizon), its own time counted as free: one snapshot, four queries."""
    snapshot = availability.load_snapshot(
        location=appointment.location, start_date=day, end_date=day, now=now, ignore_appointment_id=appointment.pk
    )
    slots = [
        slot
        for slot in snapshot.free_slots_on(
            service=appointment.service, persons=appointment.persons, day=day, extra_units=appointment.extra_units
        )
        if slot.start != appointment.start
    ]
    return MoveTimes(day=day, slots=slots, closed_reason=snapshot.closure_reason(day))
