"""Writes for employer accounts: sign-up (pending approval) and approval by an admin.

As in bookings/actions/: one `transaction.atomic(durable=True)` per action, keyword-only arguments,
`now` passed in, refusals as BookingError with a stable code and a translatable message.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings.actions import BookingError
from bookings.models import Appointment, AppointmentStatus
from employers.models import Employer, EmployerBooking, EmployerMembership

ALREADY_APPROVED = "already_approved"
EMAIL_TAKEN = "email_taken"
NOT_AN_EMPLOYER = "not_an_employer"


def sign_up_employer(
    *, name: str, sponsor_number: str, contact_name: str, email: str, password: str, now: datetime
) -> Employer:
    """An employer asks for an account: the employer (not approved) and its first HR staff member, whose
    account stays inactive (cannot sign in) until an admin approves the employer."""
    email = email.strip().lower()
    user_model = get_user_model()
    with transaction.atomic(durable=True):
        if (
            user_model.objects.filter(username__iexact=email).exists()
            or user_model.objects.filter(email__iexact=email).exists()
        ):
            raise BookingError(EMAIL_TAKEN, _("There is already an account with this e-mail address."))
        employer = Employer.objects.create(
            name=" ".join(name.split())[:200],
            sponsor_number=sponsor_number.strip()[:20],
            contact_name=" ".join(contact_name.split())[:120],
            created_at=now,
        )
        user = user_model.objects.create_user(username=email, email=email, password=password, is_active=False)
        EmployerMembership.objects.create(user=user, employer=employer)
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
