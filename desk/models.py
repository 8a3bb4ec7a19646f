"""Which locations a staff member works at (README "Staff and locations"), and the audit of its changes.

Changed only through desk.actions.set_staff_locations (the Django admin included, desk/admin.py).
"""

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils.translation import gettext_lazy as _

from bookings.models import Location


class StaffAssignment(models.Model):
    """A desk employee or admin (not a superuser) sees and acts on the locations they are assigned to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_assignments", verbose_name=_("user")
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="staff_assignments", verbose_name=_("location")
    )
    assigned_at = models.DateTimeField(_("assigned at"))

    class Meta:
        verbose_name = _("location assignment")
        verbose_name_plural = _("location assignments")
        constraints = [models.UniqueConstraint(fields=["user", "location"], name="desk_assignment_unique")]
        indexes = [models.Index(fields=["location"], name="desk_assignment_location")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.location}"


class AssignmentChange(models.TextChoices):
    ASSIGNED = "assigned", _("assigned to the location")
    UNASSIGNED = "unassigned", _("no longer at the location")


class AssignmentEvent(models.Model):
    """Who gave or took whom which location, and when. Kept when the location is deleted (the name stays)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="desk_assignment_events",
        verbose_name=_("user"),
    )
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("location")
    )
    location_name = models.CharField(_("location name"), max_length=120)
    kind = models.CharField(_("what"), max_length=20, choices=AssignmentChange.choices)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
        help_text=_("Empty when the system did it."),
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("location assignment change")
        verbose_name_plural = _("location assignment changes")
        indexes = [models.Index(fields=["user", "-at"], name="desk_assign_event_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user}: {self.get_kind_display()} {self.location_name}"


class DeskStaffMember(User):
    """A user, as the admin's "Staff locations" page shows them: the locations they work at."""

    class Meta:
        proxy = True
        verbose_name = _("staff member's locations")
        verbose_name_plural = _("staff locations")
