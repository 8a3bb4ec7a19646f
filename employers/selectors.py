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
from bookings.models import Appointment, AppointmentStatus, Location, Person
from bookings.selectors import VisitPartView, visit_parts, visit_parts_of
from bookings.tokens import normalise_reference
from bookings.visits import PartRequest, VisitSlot, free_arrivals, in_desk_order, load_planner
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
    slots: list[Slot] | list[VisitSlot]
    closed_reason: str | None


def parts_of_rows(rows: list[EmployerBooking]) -> dict[int, list[VisitPartView]]:
    """The parts of the listed bookings (appointment id → its parts): one query when any is a visit of
    several parts, none otherwise."""
    return visit_parts_of([row.appointment for row in rows])


def named_parts(parts: list[VisitPartView], people: list[Person]) -> list[tuple[VisitPartView, list[str]]]:
    """Each part with the names of its persons (people in their order, person 1 first)."""
    return [(part, [str(people[n - 1]) for n in part.persons if 0 < n <= len(people)]) for part in parts]


def visit_arrivals(*, location: Location, parts: list[PartRequest], day: date, now: datetime) -> list[VisitSlot]:
    """The free arrival times on `day` of a visit of these parts, by the public pages' rules (minimum notice,
    horizon, the location's longest wait between parts). Raises bookings.visits.VisitError for a visit that
    cannot be asked for."""
    found = free_arrivals(
        location=location,
        parts=in_desk_order(parts),
        start_date=day,
        end_date=day,
        now=now,
    )
    return found.get(day, [])


def move_times(*, appointment: Appointment, day: date, now: datetime) -> MoveTimes:
    """The free times on `day` the booking can move to, by the public pages' rules (minimum notice,
    horizon), its own time counted as free: one snapshot, four queries. A visit of several parts: its free
    arrival times, from the visit planner (one query more, for its parts)."""
    if appointment.part_count > 1:
        planner = load_planner(
            location=appointment.location,
            parts=[PartRequest(part.service, part.persons) for part in visit_parts(appointment)],
            start_date=day,
            end_date=day,
            now=now,
            ignore_appointment_id=appointment.pk,
        )
        arrivals = [slot for slot in planner.free_arrivals_on(day) if slot.start != appointment.start]
        return MoveTimes(day=day, slots=arrivals, closed_reason=planner.snapshot.closure_reason(day))
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
