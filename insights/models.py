"""Feedback after the visit and the daily days-to-first-free-slot record. Data and constraints only:
every write lives in insights/actions.py."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Appointment, Location
from services.models import Service

# The optional comment: a few sentences, no more (and the page asks for no personal data).
COMMENT_MAX_LENGTH = 500
SCORE_MIN, SCORE_MAX = 1, 10


class Feedback(models.Model):
    """The one score (1 to 10) of an appointment, and an optional comment. Nothing else about the person:
    the appointment it belongs to is anonymised on schedule, and the comment with it."""

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("appointment")
    )
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(SCORE_MIN), MaxValueValidator(SCORE_MAX)]
    )
    comment = models.TextField(_("comment"), max_length=COMMENT_MAX_LENGTH, blank=True)
    # When the score was first given: it can be changed for EXPATDESK_FEEDBACK_CHANGE_HOURS after that.
    created_at = models.DateTimeField(_("given at"))
    updated_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=SCORE_MIN, score__lte=SCORE_MAX), name="feedback_score_1_to_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.score}"


class FirstFreeDayRecord(models.Model):
    """Days from `day` to the first day with a free start, for one service at one location, as the
    availability engine saw it that day. One row per (location, service, day): the beat task may run
    as often as it likes."""

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="first_free_records", verbose_name=_("location")
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="first_free_records", verbose_name=_("service")
    )
    day = models.DateField(_("day"))
    first_free_day = models.DateField(_("first free day"), null=True, blank=True)
    # Empty when no day in the service's horizon had a free start.
    days_to_first_free = models.PositiveSmallIntegerField(_("days to the first free slot"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["location", "service", "day"]
        verbose_name = _("days to the first free slot")
        verbose_name_plural = _("days to the first free slot")
        constraints = [
            models.UniqueConstraint(fields=["location", "service", "day"], name="first_free_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.location_id} {self.service_id} {self.day}: {self.days_to_first_free}"
