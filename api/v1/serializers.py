"""Input and output shapes of /api/v1/. Input serializers check shape only; actions enforce the rules."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.ind_keys import desk_key
from api.v1 import selectors
from api.v1.errors import ApiError
from bookings.forms import phone_validator
from bookings.models import INTERPRETER_LANGUAGES, MAX_EXTRA_UNITS
from bookings.text import is_refused, validate_name_characters
from services.models import MAX_PERSONS_PER_BOOKING

# Dates and times outside these years are refused as input: nothing can be booked there, and date
# arithmetic near year 1 or 9999 would overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2200
# The longest range of days one request may ask about.
MAX_RANGE_DAYS = 92

LANGUAGE_CHOICES = [code for code, _name in settings.LANGUAGES]


# The schema says it too (issue 11: schema and server agree), as a pattern on the year.
YEAR_PATTERN = r"^(2[01][0-9]{2}|2200)-"
MONTH_PATTERN = r"^(2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$"


def _check_year(value: date | datetime) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise serializers.ValidationError(
            _("Use a date between the years %(first)d and %(last)d.") % {"first": FIRST_YEAR, "last": LAST_YEAR}
        )


@extend_schema_field({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN})
class BoundedDateTimeField(serializers.DateTimeField):
    """A date and time with its UTC offset, in the years FIRST_YEAR to LAST_YEAR as written (the year is
    checked before the time moves to the location's zone, so the schema's pattern is the whole rule)."""

    def enforce_timezone(self, value: datetime) -> datetime:
        _check_year(value)
        return super().enforce_timezone(value)


@extend_schema_field({"type": "string", "format": "date", "pattern": YEAR_PATTERN})
class BoundedDateField(serializers.DateField):
    """A day, YYYY-MM-DD, in the years FIRST_YEAR to LAST_YEAR."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(validators=[_check_year], **kwargs)


def _excluded_class() -> str:
    """The characters a name may not hold (bookings/text.py, all below U+FFFF) as a character class body."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x10000):
        if is_refused(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


# Not blank, and no control or format characters (what the server refuses, bookings/text.py).
NAME_PATTERN = "^[^{x}]*[^\\s{x}][^{x}]*$".format(x=_excluded_class())


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 100, "pattern": NAME_PATTERN})
class NameField(serializers.CharField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=100, validators=[validate_name_characters], **kwargs)


@extend_schema_field({"type": "boolean", "enum": [True]})
class ConsentField(serializers.BooleanField):
    """Must be true: the person agrees to the privacy statement."""

    def to_internal_value(self, data: object) -> bool:
        value = super().to_internal_value(data)
        if value is not True:
            raise serializers.ValidationError(_("Please agree to the privacy statement to book the appointment."))
        return value


def persons_field(**kwargs: object) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=MAX_PERSONS_PER_BOOKING,
        help_text=f"Number of persons, 1 to {MAX_PERSONS_PER_BOOKING} (and at most the service's `max_persons`).",
        **kwargs,
    )


def extra_units_field(**kwargs: object) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0,
        max_value=MAX_EXTRA_UNITS,
        required=False,
        default=0,
        help_text=(
            f"Extra time, a special need: 0 to {MAX_EXTRA_UNITS} grid units more per person (the location's "
            "`grid_minutes` each). The free times are those at which the longer appointment fits."
        ),
        **kwargs,
    )


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"})
class ClockField(serializers.TimeField):
    """A clock time as HH:MM, in the location's time zone."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(format="%H:%M", **kwargs)


# ---- catalogue ------------------------------------------------------------------------------


class ServiceSerializer(serializers.Serializer):
    code = serializers.SlugField(help_text="Stable identifier of the service.")
    name = serializers.CharField(help_text="In the request's language.")
    description = serializers.CharField()
    what_to_bring = serializers.CharField(allow_blank=True)
    duration_minutes = serializers.IntegerField(help_text="Time per person.")
    max_persons = serializers.IntegerField()
    requires_municipality = serializers.BooleanField(
        help_text="A hold needs `municipality`: one of the participating municipalities."
    )
    ind_product_key = serializers.CharField(allow_blank=True, help_text="BIO, DOC or VAA; empty if the IND has none.")
    minimum_notice_minutes = serializers.IntegerField()
    booking_horizon_days = serializers.IntegerField()


class OpeningHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 is Monday, 6 is Sunday.")
    start_time = ClockField()
    end_time = ClockField()
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)


class OfferSerializer(serializers.Serializer):
    code = serializers.SlugField(source="service.code", help_text="The service's code.")
    name = serializers.CharField(source="service.name", help_text="In the request's language.")
    minimum_notice_minutes = serializers.IntegerField(
        source="notice_minutes", help_text="How long before its start a time can still be booked here."
    )
    booking_horizon_days = serializers.IntegerField(
        source="horizon_days", help_text="How many days ahead it can be booked here."
    )


class LocationSerializer(serializers.Serializer):
    short_code = serializers.CharField(help_text="Stable identifier of the location, e.g. MAA.")
    slug = serializers.CharField(help_text="The location's part of the public booking pages' addresses.")
    name = serializers.CharField()
    public_name = serializers.CharField(source="display_name", help_text="What the booking pages call it.")
    street = serializers.CharField()
    postcode = serializers.CharField()
    city = serializers.CharField()
    time_zone = serializers.CharField()
    grid_minutes = serializers.IntegerField(help_text="Appointments start on this grid.")
    contact_email = serializers.CharField(allow_blank=True)
    contact_phone = serializers.CharField(allow_blank=True)
    desk_key = serializers.SerializerMethodField(
        help_text="The key of this desk in /oap/api/ (its IND desk key, else the short code)."
    )
    services = serializers.SerializerMethodField(help_text="Codes of the services that can be booked here.")
    offers = serializers.SerializerMethodField(
        help_text="The services that can be booked here, with this location's own minimum notice and horizon."
    )
    participating_municipalities = serializers.ListField(
        child=serializers.CharField(),
        source="municipality_list",
        help_text="Services with `requires_municipality` are for new residents of these municipalities only.",
    )
    opening_hours = OpeningHoursSerializer(many=True, source="current_opening_hours")

    def get_services(self, location: object) -> list[str]:
        return [service.code for service in selectors.services_offered(location)]

    def get_desk_key(self, location: object) -> str:
        return desk_key(location)

    @extend_schema_field(OfferSerializer(many=True))
    def get_offers(self, location: object) -> list[dict]:
        return OfferSerializer(selectors.offers(location), many=True).data


class ServiceRefSerializer(serializers.Serializer):
    code = serializers.SlugField()
    name = serializers.CharField()


class LocationRefSerializer(serializers.Serializer):
    short_code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()


# ---- free days and times --------------------------------------------------------------------


class FreeDaysQuerySerializer(serializers.Serializer):
    persons = persons_field(default=1)
    extra_units = extra_units_field()
    month = serializers.CharField(
        required=False,
        validators=[RegexValidator(MONTH_PATTERN, _("Use a month like 2026-12."))],
        help_text="A month, YYYY-MM. Or give start_date and end_date; with neither, the whole booking horizon.",
    )
    start_date = BoundedDateField(required=False, help_text="First day, YYYY-MM-DD.")
    end_date = BoundedDateField(required=False, help_text="Last day, YYYY-MM-DD.")

    def validate_month(self, value: str) -> date:
        try:
            month = datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise serializers.ValidationError(_("Use a month like 2026-12.")) from None
        _check_year(month)
        return month

    def validate(self, attrs: dict) -> dict:
        """How the parameters go together, which the schema cannot say: a well-formed request that asks for
        an impossible range is 422 `invalid_range` (400 is for input the schema itself refuses)."""
        has_range = "start_date" in attrs or "end_date" in attrs
        if "month" in attrs and has_range:
            raise _invalid_range("month", _("Give either a month or start_date and end_date."))
        if has_range:
            if "start_date" not in attrs or "end_date" not in attrs:
                raise _invalid_range("end_date", _("Give both start_date and end_date."))
            if attrs["end_date"] < attrs["start_date"]:
                raise _invalid_range("end_date", _("The last day comes before the first day."))
            if (attrs["end_date"] - attrs["start_date"]).days >= MAX_RANGE_DAYS:
                raise _invalid_range("end_date", _("Ask for at most %(days)d days at once.") % {"days": MAX_RANGE_DAYS})
        return attrs


def _invalid_range(field: str, message: str) -> ApiError:
    return ApiError(status_code=422, code="invalid_range", message=message, fields={field: [str(message)]})


class FreeTimesQuerySerializer(serializers.Serializer):
    persons = persons_field(default=1)
    extra_units = extra_units_field()
    date = BoundedDateField(help_text="The day, YYYY-MM-DD.")


class FreeDaysSerializer(serializers.Serializer):
    location = serializers.CharField(help_text="The location's short code.")
    service = serializers.SlugField(help_text="The service's code.")
    persons = serializers.IntegerField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    days = serializers.ListField(child=serializers.DateField(), help_text="Days with a free time, in order.")


class FreeTimeSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Pass this value as `start` to hold the time.")
    end = serializers.DateTimeField(help_text="When the last person is expected to be done.")
    time = serializers.CharField(help_text="The start as HH:MM in the location's time zone.")


class FreeTimesSerializer(serializers.Serializer):
    location = serializers.CharField()
    service = serializers.SlugField()
    persons = serializers.IntegerField()
    date = serializers.DateField()
    times = FreeTimeSerializer(many=True)


# ---- hold and book --------------------------------------------------------------------------


class HoldRequestSerializer(serializers.Serializer):
    location = serializers.RegexField(
        r"^[A-Z]{2,5}$", max_length=5, help_text="The location's short code: 2 to 5 capital letters, e.g. MAA."
    )
    service = serializers.SlugField(max_length=40, help_text="The service's code.")
    start = BoundedDateTimeField(help_text="A free time's `start`, ISO 8601 with its UTC offset.")
    persons = persons_field()
    extra_units = extra_units_field()
    municipality = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where the persons live or are moving to; required by services with `requires_municipality`.",
    )
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)


class HoldSerializer(serializers.Serializer):
    hold_token = serializers.CharField(
        help_text="Opaque; pass it to POST /api/v1/bookings/. Only you have it: keep it to yourself."
    )
    expires_at = serializers.DateTimeField(help_text="Book before this moment; later only if the time is still free.")
    location = serializers.CharField()
    service = serializers.SlugField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    persons = serializers.IntegerField()


class PersonNameSerializer(serializers.Serializer):
    first_name = NameField(help_text="As on the passport or ID card; no line breaks, tabs or other control characters.")
    last_name = NameField()


class BookRequestSerializer(serializers.Serializer):
    hold_token = serializers.CharField(max_length=300)
    # A ListField, so that the schema states the 1 to 6 entries as minItems/maxItems (issue 11).
    names = serializers.ListField(
        child=PersonNameSerializer(),
        min_length=1,
        max_length=MAX_PERSONS_PER_BOOKING,
        help_text="One entry per person of the hold.",
    )
    email = serializers.EmailField(max_length=254, help_text="The confirmation and the manage link are sent here.")
    # No `default` in the schema: an empty default would break the field's own pattern (issue 11).
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, validators=[phone_validator])
    language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES,
        required=False,
        help_text="Language of the e-mails; the request's language if left out.",
    )
    consent = ConsentField(help_text="Must be true: the person agrees to the privacy statement.")
    needs_wheelchair = serializers.BooleanField(
        required=False, default=False, help_text="A special need: wheelchair access at the desk."
    )
    interpreter_language = serializers.ChoiceField(
        choices=[""] + [code for code, _name in INTERPRETER_LANGUAGES],
        required=False,
        default="",
        help_text="A special need: an interpreter for this language (one of the fixed list; empty: none).",
    )


class MoveRequestSerializer(serializers.Serializer):
    start = BoundedDateTimeField(help_text="A free time's `start` for the same persons.")


class VisitPartSerializer(serializers.Serializer):
    service = serializers.SlugField()
    name = serializers.CharField(help_text="The service's name in the request's language.")
    persons = serializers.ListField(child=serializers.IntegerField())
    start = serializers.DateTimeField(help_text="When the part's first person is served.")
    end = serializers.DateTimeField(help_text="When the part's last person is done.")


class BookingSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="Quote it at the desk, e.g. MAA-7KQ4-9XD2.")
    status = serializers.CharField(help_text="booked, checked_in, cancelled, ...")
    service = ServiceRefSerializer()
    location = LocationRefSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    persons = serializers.IntegerField()
    names = PersonNameSerializer(many=True, source="people")
    email = serializers.CharField(source="contact_email", allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    language = serializers.CharField()
    can_change = serializers.BooleanField(help_text="Whether it can still be moved or cancelled online.")
    needs_wheelchair = serializers.BooleanField()
    interpreter_language = serializers.CharField(allow_blank=True)
    extra_units = serializers.IntegerField(help_text="Extra time: grid units more per person.")
    parts = VisitPartSerializer(
        many=True, help_text="The visit's parts in order: one for a booking of one service, more for a visit."
    )


class BookingCreatedSerializer(BookingSerializer):
    manage_token = serializers.CharField(
        help_text=(
            "Shown only in this response: send it as `Authorization: Bearer <token>` to /api/v1/bookings/manage/. "
            "The same token is in the manage link of the confirmation e-mail."
        )
    )


# ---- visits of several parts (issue 13) ---------------------------------------------------------

PART_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}:[1-6](,[1-6]){0,5}$"


class VisitTimesQuerySerializer(serializers.Serializer):
    date = BoundedDateField(help_text="The day, YYYY-MM-DD.")
    part = serializers.ListField(
        child=serializers.RegexField(PART_PATTERN, max_length=60),
        min_length=1,
        max_length=6,
        help_text=(
            "One per service of the visit: the service's code, a colon and the persons (numbered from 1) who "
            "need it, e.g. `part=registration-eu:1,2,3,4&part=biometrics:1,2`. The desk decides the order."
        ),
    )


class VisitPartRequestSerializer(serializers.Serializer):
    service = serializers.SlugField(max_length=40, help_text="The service's code.")
    persons = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_PERSONS_PER_BOOKING),
        min_length=1,
        max_length=MAX_PERSONS_PER_BOOKING,
        help_text="The persons (numbered from 1) who need this service.",
    )


class VisitPartRefSerializer(serializers.Serializer):
    service = serializers.SlugField()
    persons = serializers.ListField(child=serializers.IntegerField())


class VisitTimeSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The arrival: pass this value as `start` to hold the visit.")
    end = serializers.DateTimeField(help_text="When the visit's last part is expected to be done.")
    time = serializers.CharField(help_text="The arrival as HH:MM in the location's time zone.")


class VisitTimesSerializer(serializers.Serializer):
    location = serializers.CharField()
    parts = VisitPartRefSerializer(many=True, help_text="The visit's parts in the desk's order.")
    date = serializers.DateField()
    times = VisitTimeSerializer(many=True)


class VisitHoldRequestSerializer(serializers.Serializer):
    location = serializers.RegexField(
        r"^[A-Z]{2,5}$", max_length=5, help_text="The location's short code: 2 to 5 capital letters, e.g. MAA."
    )
    parts = serializers.ListField(
        child=VisitPartRequestSerializer(),
        min_length=1,
        max_length=6,
        help_text="One entry per service; every person from 1 to the number of persons needs at least one.",
    )
    start = BoundedDateTimeField(help_text="A free arrival time's `start`, ISO 8601 with its UTC offset.")
    municipality = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where the persons live or are moving to; required when a service has `requires_municipality`.",
    )
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)


class VisitHoldSerializer(serializers.Serializer):
    hold_token = serializers.CharField(
        help_text="Opaque; pass it to POST /api/v1/bookings/ with every person's name. Keep it to yourself."
    )
    expires_at = serializers.DateTimeField(help_text="Book before this moment; later only if the time is still free.")
    location = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    persons = serializers.IntegerField()
    parts = VisitPartSerializer(many=True)


# ---- serializers kept per process ----------------------------------------------------------------------------


@cache
def _kept(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    return serializer_class()


def validated(serializer_class: type[serializers.Serializer], data: object) -> dict:
    """`data` validated by `serializer_class` (ValidationError, a 400, as is_valid(raise_exception=True) raises
    it), with one instance of it kept for the process. A serializer built for each request deep-copies all of its
    declared fields first (REST framework's Serializer.get_fields): about half of its cost on the booking path.
    Validation keeps nothing on the instance; is_valid is what stores data and errors on it."""
    return _kept(serializer_class).run_validation(data)


def represented(serializer_class: type[serializers.Serializer], value: object) -> dict:
    """`value` as `serializer_class` represents it, with one instance of it kept for the process (`validated`)."""
    return _kept(serializer_class).to_representation(value)
