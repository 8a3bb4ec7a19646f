"""The day of the visit: tickets, the calls of a ticket to a counter, and the kiosk and display devices.

Data and constraints only: every write lives in queueing/actions.py and queueing/devices.py.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Appointment, Counter, Location
from services.models import Service


class ServiceLetter(models.Model):
    """The letter a service's tickets start with (B012). Without a row: the first letter of its English name."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="ticket_letter", verbose_name=_("service")
    )
    letter = models.CharField(
        _("ticket letter"),
        max_length=1,
        validators=[RegexValidator(r"^[A-Z]$", _("Use one capital letter, A to Z."))],
        help_text=_("Every ticket for this service starts with it, e.g. B in B012."),
    )

    class Meta:
        verbose_name = _("ticket letter")
        verbose_name_plural = _("ticket letters")

    def __str__(self) -> str:
        return f"{self.letter} · {self.service}"


class TicketSequence(models.Model):
    """The last ticket number given out per location, local day and letter (numbers start at 1 each day)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    letter = models.CharField(max_length=1)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "day", "letter"], name="ticket_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.letter}{self.last_number:03d}"


class TicketKind(models.TextChoices):
    APPOINTMENT = "appointment", _("appointment")
    WALK_IN = "walk_in", _("walk-in")


class TicketStatus(models.TextChoices):
    WAITING = "waiting", _("waiting")
    CALLED = "called", _("called")
    DONE = "done", _("done")
    NO_SHOW = "no_show", _("no-show")
    CANCELLED = "cancelled", _("cancelled")


class Ticket(models.Model):
    """One checked-in appointment (or walk-in) in the day's queue of its location.

    Queue order (queueing/selectors.py): tickets sent to a counter by a transfer first, then by `queue_at`
    (the appointment's start for who arrived in time, the arrival for walk-ins and late arrivals), then by
    `queue_rank` (an appointment before a walk-in before a late arrival at the same minute)."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("location"))
    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="ticket", verbose_name=_("appointment")
    )
    # What it is queued (or called) for now: the appointment's service, or, for a visit of several parts, the
    # service of the part at `part_position` (a transfer to the next part moves both on, the number stays).
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+", verbose_name=_("service"))
    part_position = models.PositiveSmallIntegerField(_("part of the visit"), default=1, db_default=1)
    day = models.DateField(_("day"))
    letter = models.CharField(_("letter"), max_length=1)
    number = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=12, choices=TicketKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.WAITING, db_index=True
    )
    is_late = models.BooleanField(_("arrived late"), default=False)
    queue_at = models.DateTimeField(_("place in the queue"))
    queue_rank = models.PositiveSmallIntegerField(default=0)
    checked_in_at = models.DateTimeField(_("checked in at"))
    # Where it is called, or (while waiting after a transfer) the one counter that may call it next.
    counter = models.ForeignKey(
        Counter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("counter")
    )
    transferred_at = models.DateTimeField(_("transferred at"), null=True, blank=True)
    first_called_at = models.DateTimeField(_("first called at"), null=True, blank=True)
    last_called_at = models.DateTimeField(_("last called at"), null=True, blank=True, db_index=True)
    calls = models.PositiveSmallIntegerField(_("calls"), default=0)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # The measures (check-in → first call, first call → done), kept after the personal data is erased.
    wait_seconds = models.PositiveIntegerField(_("waiting time (seconds)"), null=True, blank=True)
    service_seconds = models.PositiveIntegerField(_("service time (seconds)"), null=True, blank=True)

    class Meta:
        ordering = ["day", "letter", "number"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["location", "day", "letter", "number"], name="ticket_unique_number"),
            models.CheckConstraint(
                condition=~Q(status="called") | Q(counter__isnull=False), name="ticket_called_has_counter"
            ),
        ]
        indexes = [models.Index(fields=["location", "day", "status"], name="ticket_location_day_status")]

    def __str__(self) -> str:
        return self.code

    @property
    def code(self) -> str:
        return f"{self.letter}{self.number:03d}"


class TicketEventKind(models.TextChoices):
    ISSUED = "issued", _("ticket issued")
    CALLED = "called", _("called")
    RECALLED = "recalled", _("called again")
    SKIPPED = "skipped", _("skipped")
    NO_SHOW = "no_show", _("no-show")
    TRANSFERRED = "transferred", _("transferred")
    REQUEUED = "requeued", _("put back in the queue")
    NEXT_PART = "next_part", _("on to the next part of the visit")
    DONE = "done", _("done")


class TicketEvent(models.Model):
    """The audit trail of a ticket: who called it where, and when. No personal data."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket"))
    at = models.DateTimeField(_("when"))
    kind = models.CharField(_("what"), max_length=12, choices=TicketEventKind.choices)
    counter = models.ForeignKey(
        Counter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("counter")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )

    class Meta:
        ordering = ["ticket", "at", "pk"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class DeviceKind(models.TextChoices):
    KIOSK = "kiosk", _("check-in kiosk")
    DISPLAY = "display", _("waiting-room display")


class Device(models.Model):
    """A kiosk or waiting-room display of one location, signed in once with a one-time code.

    Only hashes are stored: of the one-time sign-in code (until it is used or lapses) and of the device's
    long-lived token, which the browser keeps in a signed cookie. Revoking clears both."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="devices", verbose_name=_("location"))
    kind = models.CharField(_("kind"), max_length=10, choices=DeviceKind.choices)
    name = models.CharField(_("name"), max_length=80, help_text=_("Where it stands, e.g. Entrance tablet."))
    sign_in_code_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    sign_in_expires_at = models.DateTimeField(_("sign-in link valid until"), null=True, blank=True, editable=False)
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False, db_index=True)
    created_at = models.DateTimeField(_("created at"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    signed_in_at = models.DateTimeField(_("signed in at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        ordering = ["location", "kind", "name"]
        verbose_name = _("kiosk or display")
        verbose_name_plural = _("kiosks and displays")

    def __str__(self) -> str:
        return f"{self.location.short_code} · {self.name}"
