"""The desk's service catalogue: what a person can book, and the rules each service carries."""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

MAX_PERSONS_PER_BOOKING = 6


class IndProductKey(models.TextChoices):
    BIOMETRICS = "BIO", _("BIO — biometrics")
    DOCUMENT = "DOC", _("DOC — residence document pickup")
    STICKER = "VAA", _("VAA — residence endorsement sticker")


class ServiceQuerySet(models.QuerySet):
    def active(self) -> "ServiceQuerySet":
        return self.filter(is_active=True)


class Service(models.Model):
    code = models.SlugField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Stable identifier used in links and the API. Do not change it once in use."),
    )
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_nl = models.CharField(_("name (Dutch)"), max_length=120)
    description_en = models.TextField(_("description (English)"), help_text=_("What it is for and who it is for."))
    description_nl = models.TextField(_("description (Dutch)"))
    what_to_bring_en = models.TextField(_("what to bring (English)"), blank=True)
    what_to_bring_nl = models.TextField(_("what to bring (Dutch)"), blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration per person (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    max_persons = models.PositiveSmallIntegerField(
        _("maximum persons per booking"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PERSONS_PER_BOOKING)],
    )
    requires_municipality = models.BooleanField(
        _("requires living in a participating municipality"),
        default=False,
        help_text=_("Fast-track registration is only for new residents of the participating municipalities."),
    )
    ind_product_key = models.CharField(_("IND product key"), max_length=3, choices=IndProductKey.choices, blank=True)
    minimum_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=120,
        help_text=_("How long before the start a slot can still be booked online."),
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"),
        default=42,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("How many days ahead a slot can be booked."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    display_order = models.PositiveSmallIntegerField(_("display order"), default=0)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_persons__gte=1, max_persons__lte=MAX_PERSONS_PER_BOOKING),
                name="service_max_persons_1_to_6",
            ),
            models.CheckConstraint(condition=models.Q(duration_minutes__gte=5), name="service_duration_min_5"),
            models.UniqueConstraint(
                fields=["ind_product_key"],
                condition=~models.Q(ind_product_key=""),
                name="service_unique_ind_product_key",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def _localised(self, field: str) -> str:
        language = (get_language() or "en")[:2]
        return getattr(self, f"{field}_nl" if language == "nl" else f"{field}_en")

    @property
    def name(self) -> str:
        return self._localised("name")

    @property
    def description(self) -> str:
        return self._localised("description")

    @property
    def what_to_bring(self) -> str:
        return self._localised("what_to_bring")

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def minimum_notice(self) -> timedelta:
        return timedelta(minutes=self.minimum_notice_minutes)


class ServiceOrder(models.Model):
    """A rule of the one-stop visit (issue 13): in a visit with both, `earlier` comes before `later` (e.g.
    fast-track registration before the IND's biometrics). Services without a rule between them follow their
    display order."""

    earlier = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="comes_before", verbose_name=_("this service")
    )
    later = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="comes_after", verbose_name=_("comes before")
    )

    class Meta:
        verbose_name = _("order in a visit")
        verbose_name_plural = _("order in a visit")
        constraints = [
            models.UniqueConstraint(fields=["earlier", "later"], name="service_order_unique_pair"),
            models.CheckConstraint(condition=~models.Q(earlier=models.F("later")), name="service_order_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.earlier} → {self.later}"
