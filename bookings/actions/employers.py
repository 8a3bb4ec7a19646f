"""Employers (recognised sponsors): sign-up, approval, and the bookings their HR staff make."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings.actions.common import (
    BookingError,
)
from bookings.models import (
    Appointment,
    AppointmentStatus,
)
from employers.models import EmployerBooking, EmployerMembership

# ---- employers' bookings (issue 4, point 7) -----------------------------------------------------
# Imports for this section only, so the top of the module stays as other changes left it.

NOT_AN_EMPLOYER = "not_an_employer"


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
