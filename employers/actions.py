"""Writes for employer accounts: sign-up (pending approval), approval by an admin, the bookings HR staff
make for employees, and moving or cancelling those.

As in bookings/actions/: one `transaction.atomic(durable=True)` per action, keyword-only arguments,
`now` passed in, refusals as BookingError with a stable code and a translatable message.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.actions import BookingError, BookingResult, PersonName, cancel_appointment, reschedule_appointment
from bookings.actions.visits import book_visit
from bookings.models import Appointment, AppointmentStatus, Location
from bookings.visits import PartRequest
from employers.fairness import employer_share
from employers.models import Employer, EmployerBooking, EmployerMembership

ALREADY_APPROVED = "already_approved"
NOT_AN_EMPLOYER = "not_an_employer"
NOT_YOUR_BOOKING = "not_your_booking"


def _queue_email(kind: str, object_id: int, language: str = "") -> None:
    """Send the e-mails of `kind` once the transaction has committed (employers/tasks.py); if the broker is
    down the sign-up or approval still stands."""
    from employers.tasks import send_employer_email  # the tasks module imports the e-mails, which import us

    transaction.on_commit(lambda: send_employer_email.delay(kind, object_id, language), robust=True)


def sign_up_employer(
    *,
    name: str,
    sponsor_number: str,
    contact_name: str,
    email: str,
    password: str,
    now: datetime,
    language: str = "en",
) -> Employer | None:
    """An employer asks for an account: the employer (not approved) and its first HR staff member, whose
    account stays inactive (cannot sign in) until an admin approves the employer. The applicant gets
    "request received" and the desk's admins "new request" by e-mail.

    An address that already has an account gets a note instead, and nothing is created (returns None).
    Both ways do the same work while the person waits: the password is hashed once and one e-mail task is
    queued, so the answer's timing does not tell whether the address has an account."""
    email = email.strip().lower()
    user_model = get_user_model()
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    hashed = make_password(password)  # also when the address is taken: the same work either way
    with transaction.atomic(durable=True):
        existing = user_model.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).order_by("pk").first()
        employer = None
        if existing is None:
            try:
                with transaction.atomic():
                    employer = Employer.objects.create(
                        name=" ".join(name.split())[:200],
                        sponsor_number=sponsor_number.strip()[:20],
                        contact_name=" ".join(contact_name.split())[:120],
                        created_at=now,
                        language=language,
                    )
                    user = user_model.objects.create(
                        username=user_model.normalize_username(email), email=email, password=hashed, is_active=False
                    )
                    EmployerMembership.objects.create(user=user, employer=employer)
            except IntegrityError:  # the same address signed up a moment ago
                employer = None
                existing = user_model.objects.filter(username__iexact=email).first()
        if employer is not None:
            _queue_email("sign_up", employer.pk)
        elif existing is not None:
            _queue_email("address_taken", existing.pk, language)
    return employer


def approve_employer(*, employer: Employer, now: datetime, actor: AbstractBaseUser | None) -> Employer:
    """An admin recognises the employer: its HR staff's accounts become active (password + TOTP sign-in)."""
    with transaction.atomic(durable=True):
        locked = Employer.objects.select_for_update().get(pk=employer.pk)
        if locked.is_approved:
            raise BookingError(ALREADY_APPROVED, _("This employer is already approved."))
        locked.is_approved = True
        locked.approved_at = now
        locked.approved_by = actor
        locked.save(update_fields=["is_approved", "approved_at", "approved_by"])
        get_user_model().objects.filter(employer_membership__employer=locked, is_active=False).update(is_active=True)
        _queue_email("approved", locked.pk)
    return locked


def record_employer_booking(*, appointment: Appointment, user: AbstractBaseUser, now: datetime) -> EmployerBooking:
    """Record that HR staff of an approved employer made this booking (through the public flow) for an
    employee: the employer sees it in its list, and the appointment says who booked it. Running it again
    for the same booking changes nothing."""
    with transaction.atomic(durable=True):
        membership = (
            EmployerMembership.objects.select_related("employer")
            .filter(user_id=user.pk, user__is_active=True, employer__is_approved=True)
            .first()
        )
        if membership is None:
            raise BookingError(NOT_AN_EMPLOYER, _("Only the staff of an approved employer can book for employees."))
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN):
            raise BookingError(BookingError.INVALID_STATUS, _("This booking has already been completed or cancelled."))
        if locked.booked_by_id is None:
            locked.booked_by_id = user.pk
            locked.save(update_fields=["booked_by"])
        link, _created = EmployerBooking.objects.get_or_create(
            appointment=locked,
            defaults={"employer": membership.employer, "booked_by_id": user.pk, "created_at": now},
        )
    return link


def book_employee_visit(
    *,
    employer: Employer,
    user: AbstractBaseUser,
    location: Location,
    parts: list[PartRequest],
    start: datetime,
    names: list[PersonName],
    contact_email: str,
    now: datetime,
    municipality: str = "",
    language: str = "en",
) -> BookingResult:
    """HR staff book a visit of several parts for an employee and family (bookings.actions.visits.book_visit:
    every part claimed or none, the public pages' rules), within the employer's fair share, as the public
    pages book for them; the booking goes on the employer's list (record_employer_booking) and the employee
    gets the confirmation."""
    if not EmployerMembership.objects.filter(
        user_id=user.pk, user__is_active=True, employer=employer, employer__is_approved=True
    ).exists():
        raise BookingError(NOT_AN_EMPLOYER, _("Only the staff of an approved employer can book for employees."))
    result = book_visit(
        location=location,
        parts=parts,
        start=start,
        names=names,
        contact_email=contact_email,
        language=language,
        municipality=municipality,
        now=now,
        booked_by=user,
        share=employer_share(employer),
    )
    record_employer_booking(appointment=result.appointment, user=user, now=now)
    return result


def _check_own(*, employer: Employer, appointment: Appointment) -> None:
    # The link of a booking to its employer is made once and never moves to another employer.
    if not EmployerBooking.objects.filter(appointment_id=appointment.pk, employer=employer).exists():
        raise BookingError(NOT_YOUR_BOOKING, _("This booking is not on your organisation's list."))


def move_employee_booking(
    *, employer: Employer, appointment: Appointment, new_start: datetime, now: datetime, actor: AbstractBaseUser
) -> Appointment:
    """HR staff move one of their employer's bookings, by the same rules as the employee's own manage link
    (minimum notice, horizon); the employee gets the reschedule e-mail."""
    _check_own(employer=employer, appointment=appointment)
    return reschedule_appointment(appointment=appointment, new_start=new_start, now=now, actor=actor)


def cancel_employee_booking(
    *, employer: Employer, appointment: Appointment, now: datetime, actor: AbstractBaseUser
) -> Appointment:
    """HR staff cancel one of their employer's bookings; the employee gets the cancellation e-mail."""
    _check_own(employer=employer, appointment=appointment)
    return cancel_appointment(appointment=appointment, now=now, actor=actor)
