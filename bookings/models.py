"""Locations, counters, opening hours, closures, appointments and the claims that keep them apart.

Data and constraints only: every write with side effects lives in bookings/actions/.
"""

from datetime import date, datetime, time
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from bookings.municipalities import parse_municipalities
from services.models import MAX_PERSONS_PER_BOOKING, Service

GRID_CHOICES = [
    (5, _("5 minutes")),
    (10, _("10 minutes")),
    (15, _("15 minutes")),
    (20, _("20 minutes")),
    (30, _("30 minutes")),
]


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


# The first parts of the site's own addresses: a location's address name may not be one of them.
RESERVED_SLUGS = frozenset(
    {
        "accessibility",
        "admin",
        "api",
        "bench",
        "book",
        "desk",
        "device",
        "display",
        "employer",
        "feedback",
        "find",
        "healthz",
        "i18n",
        "kiosk",
        "manage",
        "media",
        "oap",
        "privacy",
        "signed-in",
        "static",
        "waitlist",
    }
)


def validate_location_slug(value: str) -> None:
    if value in RESERVED_SLUGS or value != value.lower():
        raise ValidationError(
            _("Choose another address name: %(slug)s is taken by the site itself, or is not in lower case."),
            params={"slug": value},
            code="reserved",
        )


class Location(models.Model):
    name = models.CharField(_("name"), max_length=120, help_text=_("The building or office, shown above the address."))
    public_name = models.CharField(
        _("public name"),
        max_length=120,
        blank=True,
        help_text=_(
            "What the booking pages and e-mails call the desk: page titles, the e-mail sender and subjects, "
            "e.g. Expat Centre Maastricht Region. Empty: the name."
        ),
    )
    slug = models.SlugField(
        _("address name"),
        max_length=60,
        unique=True,
        validators=[validate_location_slug],
        help_text=_("The location's part of every public address, e.g. maastricht in /maastricht/book/. Lower case."),
    )
    short_code = models.CharField(
        _("short code"),
        max_length=5,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2,5}$", _("Use 2 to 5 capital letters, e.g. MAA."))],
        help_text=_("Starts every booking reference, e.g. MAA-7KQ4-9XD2."),
    )
    street = models.CharField(_("street and number"), max_length=120)
    postcode = models.CharField(_("postcode"), max_length=10)
    city = models.CharField(_("city"), max_length=80)
    directions_en = models.TextField(
        _("directions (English)"),
        blank=True,
        help_text=_("Where to go in the building: entrance, floor, desk. Shown before booking and in every e-mail."),
    )
    directions_nl = models.TextField(_("directions (Dutch)"), blank=True)
    arrive_early_minutes = models.PositiveSmallIntegerField(
        _("arrive early (minutes)"),
        default=10,
        validators=[MaxValueValidator(60)],
        help_text=_("How long before the appointment people are asked to arrive. 0: not asked."),
    )
    max_wait_minutes = models.PositiveSmallIntegerField(
        _("longest wait between the parts of a visit (minutes)"),
        default=15,
        validators=[MaxValueValidator(120)],
        help_text=_(
            "A visit of several services is offered only at arrival times at which nobody waits longer than "
            "this between two of their parts (a lunch break counts as waiting)."
        ),
    )
    contact_email = models.EmailField(
        _("contact e-mail"),
        blank=True,
        help_text=_("Where people write with questions: shown on every page and e-mail, and the e-mails' Reply-To."),
    )
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Europe/Amsterdam",
        choices=[(name, name) for name in sorted(available_timezones()) if name.startswith("Europe/")],
    )
    grid_minutes = models.PositiveSmallIntegerField(
        _("time grid"),
        choices=GRID_CHOICES,
        default=15,
        help_text=_("Appointments start on this grid, counted from midnight."),
    )
    ind_desk_key = models.CharField(
        _("IND desk key"),
        max_length=64,
        blank=True,
        validators=[
            RegexValidator(r"^[0-9a-f]{32}$", _("Use the 32 lower-case hexadecimal characters the IND gave the desk."))
        ],
        help_text=_(
            "The key the IND's appointment system uses for this desk, if it has one: 32 hexadecimal characters, "
            "e.g. 6c5280823686521552efe85094e607cf."
        ),
    )
    municipalities = models.TextField(
        _("participating municipalities"),
        blank=True,
        help_text=_(
            "One a line: the municipalities whose new residents can use fast-track registration here. "
            "Empty: nobody can book a service that needs a municipality here."
        ),
    )
    services = models.ManyToManyField(
        Service,
        through="LocationService",
        related_name="locations",
        blank=True,
        verbose_name=_("services offered"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        constraints = [
            models.UniqueConstraint(
                fields=["ind_desk_key"], condition=~Q(ind_desk_key=""), name="location_unique_ind_desk_key"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"

    @property
    def display_name(self) -> str:
        """The desk's one public name (page titles, e-mail sender and subjects)."""
        return self.public_name or self.name

    @property
    def directions(self) -> str:
        """Where to go in the building, in the active language (English when there is no Dutch text)."""
        language = (get_language() or "en")[:2]
        return (self.directions_nl if language == "nl" else "") or self.directions_en

    @property
    def contact_phone_uri(self) -> str:
        """The contact phone as a tel: link ("tel:+31433505050"); empty without a phone."""
        digits = "".join(ch for ch in self.contact_phone if ch.isdigit() or ch == "+")
        return f"tel:{digits}" if digits else ""

    @property
    def map_url(self) -> str:
        return f"https://www.openstreetmap.org/search?query={quote_plus(self.address)}"

    def local_datetime(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.tz)

    @property
    def municipality_list(self) -> tuple[str, ...]:
        """The participating municipalities, one a line in `municipalities`, in their own spelling."""
        return parse_municipalities(self.municipalities)


class LocationService(models.Model):
    """A service a location offers, with its own minimum notice and horizon where they differ (empty: the
    service's own)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="offers", verbose_name=_("location"))
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="location_offers", verbose_name=_("service")
    )
    minimum_notice_minutes = models.PositiveIntegerField(
        _("minimum notice here (minutes)"),
        null=True,
        blank=True,
        help_text=_("Empty: the service's own minimum notice."),
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon here (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("Empty: the service's own horizon."),
    )

    class Meta:
        ordering = ["location", "service__display_order", "service__code"]
        verbose_name = _("service offered")
        verbose_name_plural = _("services offered")
        constraints = [
            models.UniqueConstraint(fields=["location", "service"], name="location_service_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.location} · {self.service}"

    @property
    def notice_minutes(self) -> int:
        """The minimum notice that applies here."""
        if self.minimum_notice_minutes is None:
            return self.service.minimum_notice_minutes
        return self.minimum_notice_minutes

    @property
    def horizon_days(self) -> int:
        """The booking horizon that applies here."""
        if self.booking_horizon_days is None:
            return self.service.booking_horizon_days
        return self.booking_horizon_days


class Counter(models.Model):
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="counters", verbose_name=_("location")
    )
    name = models.CharField(_("name"), max_length=60)
    services = models.ManyToManyField(Service, related_name="counters", verbose_name=_("services"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["location", "name"]
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="counter_unique_name")]

    def __str__(self) -> str:
        return f"{self.location.short_code} · {self.name}"


class OpeningHours(models.Model):
    """One opening interval on a weekday; several a weekday make a lunch break."""

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("location")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("opens"))
    end_time = models.TimeField(_("closes"))
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Leave empty when there is no end date.")
    )

    class Meta:
        ordering = ["location", "weekday", "start_time"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(condition=Q(start_time__lt=models.F("end_time")), name="opening_start_before_end"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="opening_valid_from_before_until",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def applies_on(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


class Closure(models.Model):
    """Days a location (or every location, when empty) is closed, on top of Dutch public holidays."""

    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        related_name="closures",
        null=True,
        blank=True,
        verbose_name=_("location"),
        help_text=_("Leave empty to close every location."),
    )
    start_date = models.DateField(_("first closed day"))
    end_date = models.DateField(_("last closed day"))
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [
            models.CheckConstraint(condition=Q(start_date__lte=models.F("end_date")), name="closure_start_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.start_date}–{self.end_date}: {self.reason}"


class ConfigurationVersion(models.Model):
    """The version of a location's configuration as the booking engine reads it: its counters and the services
    they serve, the services it offers (notice, horizon), its opening hours, its closures and those of every
    location. Written only by database triggers (migration 0016), which draw a new random version in the
    same statement as any INSERT, UPDATE or DELETE of those rows, whoever writes them (actions, the admin,
    a shell, SQL). So a version is never drawn twice, not even after a rollback, and a process may keep a
    location's configuration while its version is unchanged (bookings/availability.py, docs/locking.md §2).

    No foreign key: a location's deletion deletes its counters first, whose triggers write this row again."""

    location_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    class Meta:
        verbose_name = _("configuration version")
        verbose_name_plural = _("configuration versions")

    def __str__(self) -> str:
        return f"{self.location_id}: {self.version}"


class ClaimsVersion(models.Model):
    """A version of a location's lasting claims (those of bookings and counter blocks, not holds) of one UTC day
    (`day`: days since 1970-01-01 UTC of the claims' `unit_start`). Written only by database triggers (migration
    0017), in the same statement as any INSERT, UPDATE or DELETE of such a claim (or a counter's move to another
    location), whoever writes it: a row with a new random `version`, the day's older rows deleted where no other
    transaction is deleting them, so no writer ever waits for another here. The day's version is the XOR of its
    rows' (availability_sql), new after every committed change, never drawn before, not even after a rollback;
    a day without a row has had no lasting claim written with the triggers on (a process reads it once all the
    same). So a process may keep a day's lasting claims while its version is unchanged and read only the
    versions and the live holds (bookings/availability_kept.py, docs/locking.md §2).

    No foreign key: the rows outlive their claims."""

    location_id = models.BigIntegerField()
    day = models.IntegerField()
    version = models.BigIntegerField()

    class Meta:
        verbose_name = _("claims version")
        verbose_name_plural = _("claims versions")
        indexes = [models.Index(fields=["location_id", "day"], name="claims_version_location_day")]

    def __str__(self) -> str:
        return f"{self.location_id} day {self.day}: {self.version}"


class AppointmentStatus(models.TextChoices):
    HELD = "held", _("held")
    BOOKED = "booked", _("booked")
    CHECKED_IN = "checked_in", _("checked in")
    DONE = "done", _("done")
    NO_SHOW = "no_show", _("no-show")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("hold expired")


# The domain's terms, defined once (DESIGN.md §3) and used everywhere:
# - "booked": the appointment owns its counter time for good (until it is cancelled, done or a no-show);
# - "held": a hold whose expiry has not passed;
# - "lapsed": a hold whose expiry has passed; its claims no longer count and any booking may take them;
# - "live": booked, or held. A lapsed hold is not live.
BOOKED_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
# Statuses whose appointment may still own claims (a lapsed hold may, until they are taken or swept).
LIVE_STATUSES = (AppointmentStatus.HELD, *BOOKED_STATUSES)


def live_q(*, now: datetime, prefix: str = "") -> Q:
    """Booked, or held with its expiry still ahead (`prefix` for a lookup through a relation)."""
    return Q(**{f"{prefix}status__in": BOOKED_STATUSES}) | Q(
        **{f"{prefix}status": AppointmentStatus.HELD, f"{prefix}hold_expires_at__gt": now}
    )


# Special needs at booking (issue 15): the languages an interpreter can be asked for, a fixed list (no free text).
INTERPRETER_LANGUAGES = [
    ("ar", _("Arabic")),
    ("zh", _("Chinese (Mandarin)")),
    ("fr", _("French")),
    ("de", _("German")),
    ("fa", _("Persian (Farsi)")),
    ("pl", _("Polish")),
    ("pt", _("Portuguese")),
    ("ro", _("Romanian")),
    ("ru", _("Russian")),
    ("es", _("Spanish")),
    ("ti", _("Tigrinya")),
    ("tr", _("Turkish")),
    ("uk", _("Ukrainian")),
    ("ngt", _("Dutch Sign Language (NGT)")),
]
# Extra time, a special need: grid units more per person (bookings/availability.py units_per_person), a
# bounded choice. The forms word it in minutes of the location's grid.
MAX_EXTRA_UNITS = 2
EXTRA_UNITS_CHOICES = [
    (0, _("no extra time")),
    (1, _("one grid unit more")),
    (2, _("two grid units more")),
]


class AppointmentQuerySet(models.QuerySet):
    def live(self, *, now: datetime) -> "AppointmentQuerySet":
        return self.filter(live_q(now=now))

    def held(self, *, now: datetime) -> "AppointmentQuerySet":
        return self.filter(status=AppointmentStatus.HELD, hold_expires_at__gt=now)

    def lapsed(self, *, now: datetime) -> "AppointmentQuerySet":
        return self.filter(status=AppointmentStatus.HELD, hold_expires_at__lte=now)


class Appointment(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("service")
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("location")
    )
    start = models.DateTimeField(_("start"), db_index=True)
    end = models.DateTimeField(_("end"))
    persons = models.PositiveSmallIntegerField(
        _("persons"), validators=[MinValueValidator(1), MaxValueValidator(MAX_PERSONS_PER_BOOKING)]
    )
    contact_email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="en")
    municipality = models.CharField(_("municipality"), max_length=80, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.HELD, db_index=True
    )
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    # The manage link's token is random (256 bits) and given only to the person; only its hash is stored
    # for look-up, so nothing kept anywhere opens anyone's booking (DESIGN.md §6). E-mails carry tokens of
    # their own (OutboxEmail.manage_token_hash).
    manage_token_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(_("created at"))
    booked_at = models.DateTimeField(_("booked at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("no-show at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)
    # Incremented on every change the person's calendar must follow (the .ics SEQUENCE).
    sequence = models.PositiveIntegerField(_("revision"), default=0)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by"),
    )
    # Whose counter time it is, for the caps on live holds and on the fair share (bookings/abuse.py,
    # bookings/fairness.py): a keyed hash of the client address that held it, or of the owner the caller
    # named instead (an employer). Kept while it is live; cleared when it is cancelled or lapses.
    client_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    # A keyed hash of the normalised mailbox it is booked for (bookings/mailboxes.py): one live booking per
    # mailbox and service, the cool-down and the fair share compare this, not the address as typed.
    mailbox_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    # How many SlotClaim rows this appointment owns while it is booked or checked in: persons times units of
    # the allocation it was given. PostgreSQL checks it at every commit (migration 0006).
    claimed_units = models.PositiveSmallIntegerField(_("claimed grid units"), default=0, editable=False)
    # How many parts the visit has (issue 13): 1 for a booking of one service, which has no AppointmentPart
    # rows; more for a visit of several services, one row each. Database default too (bulk SQL inserts).
    part_count = models.PositiveSmallIntegerField(_("parts"), default=1, db_default=1, editable=False)
    # Special needs, optional (issue 15): shown to staff on the agenda and at the call; erased with the rest of
    # the personal data (bookings/actions/privacy.py). No free text.
    # Database defaults too: the benchmark and other bulk SQL insert appointments without naming them.
    needs_wheelchair = models.BooleanField(_("wheelchair access"), default=False, db_default=False)
    interpreter_language = models.CharField(
        _("interpreter"), max_length=8, blank=True, default="", db_default="", choices=INTERPRETER_LANGUAGES
    )
    # Extra time: grid units more per person, part of the allocation (so of `end` and `claimed_units`).
    extra_units = models.PositiveSmallIntegerField(
        _("extra time (grid units per person)"), default=0, db_default=0, choices=EXTRA_UNITS_CHOICES
    )

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="appointment_start_before_end"),
            models.CheckConstraint(
                condition=Q(persons__gte=1, persons__lte=MAX_PERSONS_PER_BOOKING),
                name="appointment_persons_1_to_6",
            ),
            models.CheckConstraint(
                condition=Q(extra_units__lte=MAX_EXTRA_UNITS), name="appointment_extra_units_0_to_2"
            ),
        ]
        indexes = [
            models.Index(fields=["location", "start"], name="appointment_location_start"),
            # Live holds and the fair share per client address or owner.
            models.Index(fields=["client_key"], condition=~Q(client_key=""), name="appointment_client_key"),
            # One live booking per mailbox and service, the cool-down, the fair share per mailbox.
            models.Index(fields=["mailbox_key"], condition=~Q(mailbox_key=""), name="appointment_mailbox_key"),
            # One live booking per e-mail address and service; cool-down after repeated cancellations.
            models.Index(Upper("contact_email"), name="appointment_email_upper"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def extra_minutes(self) -> int:
        """The extra time in minutes of the location's grid, per person (0: none)."""
        return self.extra_units * self.location.grid_minutes if self.extra_units else 0

    @property
    def is_live(self) -> bool:
        """Whether it may still own claims (a lapsed hold counts until it is swept); see `is_live_at`."""
        return self.status in LIVE_STATUSES

    def is_live_at(self, now: datetime) -> bool:
        if self.status == AppointmentStatus.HELD:
            return self.hold_expires_at is not None and self.hold_expires_at > now
        return self.status in BOOKED_STATUSES


class Person(models.Model):
    """A person the appointment is for, with the names as on their ID."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="people", verbose_name=_("appointment")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    first_name = models.CharField(_("first name(s)"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)

    class Meta:
        ordering = ["appointment", "position"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [models.UniqueConstraint(fields=["appointment", "position"], name="person_unique_position")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class AppointmentPart(models.Model):
    """One part of a visit of several services (issue 13): a service for some of the visit's persons.

    A booking of one service is a visit of one part: the appointment itself (its service, start, end and
    persons), with no rows here. A visit of several parts has one row per part; its appointment carries the
    visit as a whole: the first part's service, the arrival, the end of the last part, every person, one
    reference, one manage link, and the claims of every part (so holding, confirming, cancelling and moving
    it stay all or nothing). bookings/visits.py places the parts."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="parts", verbose_name=_("appointment")
    )
    position = models.PositiveSmallIntegerField(_("order"))
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+", verbose_name=_("service"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    # Which of the visit's persons (their Person.position) this part is for, and where each is served:
    # [[person, counter id, start, end], …] with ISO times. No names: those stay on Person.
    persons = models.JSONField(_("persons"), default=list)
    seats = models.JSONField(_("counters"), default=list)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("no-show at"), null=True, blank=True)

    class Meta:
        ordering = ["appointment", "position"]
        verbose_name = _("part of a visit")
        verbose_name_plural = _("parts of a visit")
        constraints = [
            models.UniqueConstraint(fields=["appointment", "position"], name="appointment_part_unique_position"),
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="appointment_part_start_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_id}/{self.position}"


class CounterBlock(models.Model):
    """A counter taken out of service for a period (illness, a broken machine).

    Its units are claimed like an appointment's (SlotClaim rows with `block` set), so the same unique
    constraint keeps bookings off a blocked counter and availability needs no extra query.
    """

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="blocks", verbose_name=_("counter"))
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["start"]
        verbose_name = _("counter block")
        verbose_name_plural = _("counter blocks")
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="counter_block_start_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.counter} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}"


class SlotClaim(models.Model):
    """One grid unit of one counter, claimed by one appointment (or by a counter block).

    The unique constraint on (counter, unit_start) is the booking invariant: two appointments can
    never hold the same counter at the same moment, whatever races the application loses. A claim
    of a hold carries `expires_at`; an expired claim no longer blocks availability and is deleted by
    the next booking that needs its unit, or by the expiry sweep. Releasing capacity deletes claims.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="claims", null=True)
    block = models.ForeignKey(CounterBlock, on_delete=models.CASCADE, related_name="claims", null=True)
    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="claims")
    unit_start = models.DateTimeField()
    # unit_start plus the location's grid when the claim was made: the real time the claim occupies, which
    # PostgreSQL's exclusion constraint keeps from overlapping on a counter whatever the grid (migration 0006).
    unit_end = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("slot claim")
        verbose_name_plural = _("slot claims")
        constraints = [
            models.UniqueConstraint(fields=["counter", "unit_start"], name="claim_unique_counter_unit"),
            # A claim belongs to exactly one appointment or one counter block.
            models.CheckConstraint(
                condition=Q(appointment__isnull=False, block__isnull=True)
                | Q(appointment__isnull=True, block__isnull=False),
                name="claim_appointment_xor_block",
            ),
            models.CheckConstraint(condition=Q(unit_start__lt=models.F("unit_end")), name="claim_start_before_end"),
        ]
        indexes = [
            models.Index(fields=["unit_start"], name="claim_unit_start"),
            # The live holds of a range, read on every computed answer beside the kept lasting claims.
            models.Index(fields=["unit_start"], condition=Q(expires_at__isnull=False), name="claim_hold_unit_start"),
        ]

    def __str__(self) -> str:
        return f"{self.counter} @ {self.unit_start:%Y-%m-%d %H:%M}"


class EventKind(models.TextChoices):
    HELD = "held", _("held")
    BOOKED = "booked", _("booked")
    CANCELLED = "cancelled", _("cancelled")
    RESCHEDULED = "rescheduled", _("moved")
    CHECKED_IN = "checked_in", _("checked in")
    CHECK_IN_UNDONE = "check_in_undone", _("check-in undone")
    STARTED = "started", _("started")
    DONE = "done", _("done")
    NO_SHOW = "no_show", _("no-show")
    EXPIRED = "expired", _("hold expired")
    ANONYMISED = "anonymised", _("anonymised")
    # Staff downloaded the person's data (a data request); the event names who and when, no data.
    EXPORTED = "exported", _("personal data exported")
    # A part of a visit of several parts (issue 13): the detail names the part's position and service.
    PART_STARTED = "part_started", _("part started")
    PART_DONE = "part_done", _("part done")
    PART_NO_SHOW = "part_no_show", _("part no-show")


class AppointmentEvent(models.Model):
    """The audit trail: who did what to an appointment, and when. No personal data in `detail`."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="events", verbose_name=_("appointment")
    )
    at = models.DateTimeField(_("when"))
    kind = models.CharField(_("what"), max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
        help_text=_("Empty when the person did it online, or the system did."),
    )
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        ordering = ["appointment", "at", "pk"]
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class ConfigurationKind(models.TextChoices):
    LOCATION_ADDED = "location_added", _("location added")
    LOCATION_CHANGED = "location_changed", _("location changed")
    LOCATION_DELETED = "location_deleted", _("location deleted")
    COUNTER_ADDED = "counter_added", _("counter added")
    COUNTER_CHANGED = "counter_changed", _("counter changed")
    COUNTER_DELETED = "counter_deleted", _("counter deleted")
    HOURS_CHANGED = "hours_changed", _("opening hours changed")
    CLOSURE_ADDED = "closure_added", _("closure added")
    CLOSURE_CHANGED = "closure_changed", _("closure changed")
    CLOSURE_DELETED = "closure_deleted", _("closure deleted")
    BLOCK_ADDED = "block_added", _("counter blocked")
    BLOCK_ENDED = "block_ended", _("counter block ended")
    SERVICES_CHANGED = "services_changed", _("services offered changed")


class ConfigurationEvent(models.Model):
    """The audit trail of a location's configuration: who changed what, and when. No personal data.

    `location` is empty for a change that concerns every location (a closure of all locations) and after
    the location itself was deleted (the detail names it)."""

    location = models.ForeignKey(
        Location,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="configuration_events",
        verbose_name=_("location"),
    )
    at = models.DateTimeField(_("when"))
    kind = models.CharField(_("what"), max_length=20, choices=ConfigurationKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
        help_text=_("Empty when the system did it."),
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("configuration change")
        verbose_name_plural = _("configuration changes")
        indexes = [models.Index(fields=["location", "-at"], name="config_event_location_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class EmailKind(models.TextChoices):
    CONFIRMATION = "confirmation", _("confirmation")
    REMINDER = "reminder", _("reminder")
    CANCELLATION = "cancellation", _("cancellation")
    RESCHEDULE = "reschedule", _("reschedule")
    FEEDBACK = "feedback", _("feedback request")
    # "Find my booking": the manage link again; revision counts the resends (1, 2, ...).
    MANAGE_LINK = "manage_link", _("manage link")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    # Not sent because it no longer applies (e.g. a reminder for a cancelled appointment).
    SKIPPED = "skipped", _("skipped")


class OutboxEmail(models.Model):
    """One customer e-mail, written in the same transaction as the change it tells about.

    Unique per (appointment, kind, revision): a reminder is sent once; a reschedule notice once per
    move (revision is the appointment's `sequence` when it was queued).
    """

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="emails", verbose_name=_("appointment")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EmailKind.choices)
    revision = models.PositiveIntegerField(_("revision"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # Set when a failed attempt is retried later, so the sweep leaves the row to its retry until then.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    # The hash of the random manage token this e-mail's link carries, issued when it is sent (the token
    # itself is only in the e-mail); it opens the booking as the appointment's own token does.
    manage_token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        constraints = [
            models.UniqueConstraint(fields=["appointment", "kind", "revision"], name="outbox_unique_per_kind"),
        ]
        indexes = [
            models.Index(
                fields=["manage_token_hash"], condition=~Q(manage_token_hash=""), name="outbox_manage_token_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.appointment_id}"


class LinkRequest(models.Model):
    """A "find my booking" request waiting for the worker: what the person typed, and only until it is answered.

    The page writes one row and queues one task whatever was typed, so it answers the same, in the same time,
    whether or not the address has bookings; the task deletes the row and e-mails the links of the address's
    live bookings, if there are any (bookings/actions/lookup.py).
    """

    email = models.EmailField(_("e-mail"), max_length=254)
    reference = models.CharField(_("reference"), max_length=30, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("booking link request")
        verbose_name_plural = _("booking link requests")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} #{self.pk}"
