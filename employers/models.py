"""Employers (recognised sponsors) whose HR staff book for new employees, and the bookings they made.

Data and constraints only: sign-up and approval are in employers/actions.py, the link of a booking to its
employer is written by employers.actions.record_employer_booking. Only what is needed is kept: the
organisation's name, an optional KvK/IND sponsor number and a contact name; the HR staff's e-mail address
and password live on their user account.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bookings.models import Appointment


class Employer(models.Model):
    name = models.CharField(_("organisation name"), max_length=200)
    sponsor_number = models.CharField(
        _("KvK or IND sponsor number"),
        max_length=20,
        blank=True,
        help_text=_("Optional: the Chamber of Commerce (KvK) number or the IND's recognised sponsor number."),
    )
    contact_name = models.CharField(_("contact name"), max_length=120)
    is_approved = models.BooleanField(
        _("approved"), default=False, help_text=_("Its HR staff can sign in and book once an admin approves it.")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    created_at = models.DateTimeField(_("signed up at"))
    # The language the HR contact signed up in: the e-mails about the request and its approval use it.
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="en")

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("employer")
        verbose_name_plural = _("employers")

    def __str__(self) -> str:
        return self.name


class EmployerMembership(models.Model):
    """An HR staff member's account belongs to one employer."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="employer_membership",
        verbose_name=_("user"),
    )
    employer = models.ForeignKey(
        Employer, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("employer")
    )

    class Meta:
        verbose_name = _("HR staff member")
        verbose_name_plural = _("HR staff")

    def __str__(self) -> str:
        return f"{self.user} · {self.employer}"


class EmployerBooking(models.Model):
    """A booking an employer's HR staff made for an employee through the public flow."""

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="employer_booking", verbose_name=_("appointment")
    )
    employer = models.ForeignKey(
        Employer, on_delete=models.CASCADE, related_name="bookings", verbose_name=_("employer")
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "pk"]
        verbose_name = _("employer booking")
        verbose_name_plural = _("employer bookings")
        indexes = [models.Index(fields=["employer", "created_at"], name="employer_booking_employer")]

    def __str__(self) -> str:
        return f"{self.employer} · {self.appointment_id}"
