"""The waitlist: people waiting for a time that suits them, and the offers of freed counter time.

Data and constraints only: every write lives in waitlist/actions.py.

- An **entry** is one person (or family) waiting for one service at one location: how many persons, the
  municipality where the service needs it, the days and day-parts that suit (a bit per weekday and part,
  within a date range), the e-mail address. One waiting entry per mailbox and service (the database says
  so). An entry made from a booking's manage page (`appointment`) asks for an earlier time for that booking.
- An **offer** is freed counter time held for an entry: a real hold of the engine (`appointment`, an
  Appointment in HELD status whose claims expire with the offer), so the booking invariant, the location
  lock and the fair-share caps apply as to any hold. One open offer per entry; the claims' unique
  constraint makes it one open offer per slot.
- A **message** is the waitlist's own outbox row (the confirmation with the leave link, an offer), written
  in the transaction of the change it tells about and sent by a task.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Appointment, Location
from services.models import MAX_PERSONS_PER_BOOKING, Service

MORNING = 0
AFTERNOON = 1
# Morning: a start before noon (local time); afternoon: from noon on.
NOON = time(12, 0)
ALL_DAY_PARTS = (1 << 14) - 1


def day_part_bit(*, weekday: int, part: int) -> int:
    """The bit of one weekday (0 = Monday) and part (MORNING / AFTERNOON) in WaitlistEntry.day_parts."""
    return 1 << (weekday * 2 + part)


def part_of(moment: datetime) -> int:
    return MORNING if moment.time() < NOON else AFTERNOON


class EntryStatus(models.TextChoices):
    WAITING = "waiting", _("waiting")
    OFFERED = "offered", _("offered a time")
    BOOKED = "booked", _("booked")
    LEFT = "left", _("left the waitlist")
    ENDED = "ended", _("ended")


# Entries still waiting (with or without an open offer): one per mailbox and service.
OPEN_ENTRY_STATUSES = (EntryStatus.WAITING, EntryStatus.OFFERED)


class WaitlistEntry(models.Model):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+", verbose_name=_("location"))
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service"))
    persons = models.PositiveSmallIntegerField(
        _("persons"), validators=[MinValueValidator(1), MaxValueValidator(MAX_PERSONS_PER_BOOKING)]
    )
    municipality = models.CharField(_("municipality"), max_length=80, blank=True)
    # One bit per weekday and day-part (day_part_bit); a start suits when its bit is set.
    day_parts = models.PositiveSmallIntegerField(_("days and day-parts"), default=ALL_DAY_PARTS)
    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("until"))
    email = models.EmailField(_("e-mail"), blank=True)
    # A keyed hash of the normalised mailbox (bookings/mailboxes.py): one open entry per mailbox and service.
    mailbox_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="en")
    # The names as on the ID, one [first, last] pair per person: the offer books in one click.
    names = models.JSONField(_("names"), default=list, blank=True)
    # Set when the entry asks for an earlier time for this booking: an accepted offer moves it.
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("booking")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.WAITING, db_index=True
    )
    joined_at = models.DateTimeField(_("joined at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "pk"]
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox_key", "service"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_open_entry_per_mailbox_and_service",
            ),
            models.CheckConstraint(
                condition=Q(persons__gte=1, persons__lte=MAX_PERSONS_PER_BOOKING), name="waitlist_persons_1_to_6"
            ),
            models.CheckConstraint(condition=Q(first_day__lte=models.F("last_day")), name="waitlist_first_before_last"),
        ]
        indexes = [models.Index(fields=["location", "status", "joined_at"], name="waitlist_entry_queue")]

    def __str__(self) -> str:
        return f"{self.service} · {self.joined_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ENTRY_STATUSES

    def suits(self, *, start: datetime, tz) -> bool:
        """Whether a start suits the entry's days and day-parts (the date range, the weekday and part)."""
        local = start.astimezone(tz)
        day: date = local.date()
        if not self.first_day <= day <= self.last_day:
            return False
        return bool(self.day_parts & day_part_bit(weekday=day.weekday(), part=part_of(local)))


class OfferStatus(models.TextChoices):
    OPEN = "open", _("open")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    LAPSED = "lapsed", _("lapsed")
    WITHDRAWN = "withdrawn", _("withdrawn")


class WaitlistOffer(models.Model):
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers", verbose_name=_("entry"))
    # The engine's hold of the freed time for this person (HELD, its claims expire with the offer).
    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="+", verbose_name=_("held appointment")
    )
    start = models.DateTimeField(_("start"))
    status = models.CharField(_("status"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    created_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("waitlist offer")
        verbose_name_plural = _("waitlist offers")
        constraints = [
            models.UniqueConstraint(
                fields=["entry"], condition=Q(status="open"), name="waitlist_one_open_offer_per_entry"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="waitlist_offer_open")]

    def __str__(self) -> str:
        return f"{self.entry_id} @ {self.start:%Y-%m-%d %H:%M}"


class MessageKind(models.TextChoices):
    JOINED = "joined", _("joined the waitlist")
    OFFER = "offer", _("a time is offered")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("skipped")


class WaitlistMessage(models.Model):
    """One e-mail of the waitlist, unique per (entry, kind, offer): the bookings outbox's pattern."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="messages")
    offer = models.ForeignKey(WaitlistOffer, on_delete=models.CASCADE, null=True, blank=True, related_name="messages")
    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created at"))
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # The hash of the random token this e-mail's links carry (issued when it is sent; the token is only in
    # the e-mail): it opens the entry's leave page and, for an offer, the offer page.
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("waitlist e-mail")
        verbose_name_plural = _("waitlist e-mails")
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "kind"], condition=Q(offer__isnull=True), name="waitlist_message_once_per_kind"
            ),
            models.UniqueConstraint(
                fields=["offer"], condition=Q(offer__isnull=False), name="waitlist_message_once_per_offer"
            ),
        ]
        indexes = [models.Index(fields=["token_hash"], condition=~Q(token_hash=""), name="waitlist_message_token")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.entry_id}"
