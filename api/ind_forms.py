"""Input of the IND-compatible API: parse and check the shape of queries and JSON bodies.

Like the forms of the web pages, this checks shape only; the actions enforce the booking rules.
Fields the desk must not keep (`bsn`, `vNumber`, anything else a client sends, DESIGN.md §6) are
never read: they are dropped with the parsed body and appear in no result, log or error message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from api.ind_keys import SlotRef, find_desk_and_offer, find_product, read_slot_key
from api.ind_responses import (
    INVALID_INPUT,
    INVALID_JSON,
    INVALID_KEY,
    INVALID_PERSONS,
    PRODUCT_KEY_REQUIRED,
    SLOT_MISMATCH,
    UNKNOWN_DESK,
    UNKNOWN_PRODUCT,
    ApiError,
)
from bookings.actions import BookingError, PersonName
from bookings.forms import phone_validator
from bookings.models import Location, LocationService
from bookings.text import has_control_characters
from services.models import MAX_PERSONS_PER_BOOKING, Service

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
PHONE_MAX_LENGTH = 32
MUNICIPALITY_MAX_LENGTH = 100


def product_from_query(query: QueryDict) -> Service:
    key = query.get("productKey", "").strip()
    if not key:
        raise ApiError(PRODUCT_KEY_REQUIRED, 400, _("Give the product with ?productKey=, for example BIO."))
    service = find_product(key)
    if service is None:
        raise ApiError(UNKNOWN_PRODUCT, 404, _("There is no such product at this desk."))
    return service


def unknown_desk() -> ApiError:
    return ApiError(UNKNOWN_DESK, 404, _("There is no such desk."))


def desk_offer_and_version(query: QueryDict, *, desk: str) -> tuple[Location, LocationService, object]:
    """The desk `desk` names (404 for no such desk), its offer of the product `productKey` names (400 without
    one, 404 for a product the desk does not offer) and the desk's configuration version, for availability's
    `version`: one query (find_desk_and_offer)."""
    key = query.get("productKey", "").strip()
    location, offer, version = find_desk_and_offer(desk_key=desk, product_key=key)
    if location is None:
        raise unknown_desk()
    if not key:
        raise ApiError(PRODUCT_KEY_REQUIRED, 400, _("Give the product with ?productKey=, for example BIO."))
    if offer is None:
        raise ApiError(UNKNOWN_PRODUCT, 404, _("There is no such product at this desk."))
    return location, offer, version


def persons_from_query(query: QueryDict) -> int:
    """`persons`, 1 to 6; 1 when it is not given."""
    raw = query.get("persons", "1").strip()
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PERSONS_PER_BOOKING:
        raise ApiError(
            INVALID_PERSONS,
            400,
            _("The number of persons must be a whole number from 1 to %(max)d.") % {"max": MAX_PERSONS_PER_BOOKING},
        )
    return int(raw)


def slot_from_key(key: str) -> SlotRef:
    ref = read_slot_key(key)
    if ref is None:
        raise ApiError(INVALID_KEY, 400, _("This slot key is not valid; take the key from the list of slots."))
    return ref


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; anything else is refused."""
    try:
        body = request.body
    except RequestDataTooBig as error:
        raise ApiError(INVALID_JSON, 400, _("The request body is too large.")) from error
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ApiError(INVALID_JSON, 400, _("The request body is not valid JSON.")) from error
    if not isinstance(data, dict):
        raise ApiError(INVALID_JSON, 400, _("The request body must be a JSON object."))
    return data


def _invalid(fields: dict[str, str]) -> ApiError:
    return ApiError(INVALID_INPUT, 400, _("Some fields are missing or not valid."), fields=fields)


def _optional_text(
    data: dict[str, Any], name: str, *, max_length: int, errors: dict[str, str], prefix: str = ""
) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[prefix + name] = _("This must be text.")
        return ""
    value = value.strip()
    if has_control_characters(value):
        errors[prefix + name] = _("This contains characters that are not allowed.")
        return ""
    if len(value) > max_length:
        errors[prefix + name] = _("This is too long (at most %(max)d characters).") % {"max": max_length}
        return ""
    return value


def _language(data: dict[str, Any], errors: dict[str, str], prefix: str = "") -> str:
    value = data.get("language")
    if value is None or value == "":
        return "en"
    codes = [code for code, _name in settings.LANGUAGES]
    if not isinstance(value, str) or value.strip().lower()[:2] not in codes:
        errors[prefix + "language"] = _("The language must be one of: %(codes)s.") % {"codes": ", ".join(codes)}
        return "en"
    return value.strip().lower()[:2]


@dataclass(frozen=True)
class HoldInput:
    """The body of a hold: the slot as listed (its `key`, if given, must be the key in the address)."""

    municipality: str
    language: str


def hold_input(data: dict[str, Any], *, key: str) -> HoldInput:
    errors: dict[str, str] = {}
    if "key" in data and data["key"] != key:
        errors["key"] = _("The key in the body is not the key in the address.")
    municipality = _optional_text(data, "municipality", max_length=MUNICIPALITY_MAX_LENGTH, errors=errors)
    language = _language(data, errors)
    if errors:
        raise _invalid(errors)
    return HoldInput(municipality=municipality, language=language)


@dataclass(frozen=True)
class BookInput:
    """The body of a booking; only what the desk keeps (names, e-mail, phone, language) is taken."""

    key: str
    names: list[PersonName]
    email: str
    phone: str
    language: str
    municipality: str
    product_key: str
    parts: int | None
    date: str
    start_time: str
    end_time: str


def _customers(value: Any, errors: dict[str, str]) -> list[PersonName]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PERSONS_PER_BOOKING:
        errors["appointment.customers"] = _("Give from 1 to %(max)d customers, each with firstName and lastName.") % {
            "max": MAX_PERSONS_PER_BOOKING
        }
        return []
    names = []
    for index, customer in enumerate(value):
        if not isinstance(customer, dict):
            errors[f"appointment.customers[{index}]"] = _("Each customer must be an object.")
            continue
        parts: dict[str, str] = {}
        for field in ("firstName", "lastName"):
            part = customer.get(field)
            if not isinstance(part, str) or not part.strip() or has_control_characters(part):
                errors[f"appointment.customers[{index}].{field}"] = _("Give the name as on the ID.")
            elif len(part.strip()) > NAME_MAX_LENGTH:
                errors[f"appointment.customers[{index}].{field}"] = _(
                    "This is too long (at most %(max)d characters)."
                ) % {"max": NAME_MAX_LENGTH}
            else:
                parts[field] = part.strip()
        if len(parts) == 2:
            names.append(PersonName(first_name=parts["firstName"], last_name=parts["lastName"]))
    return names


def book_input(data: dict[str, Any]) -> BookInput:
    errors: dict[str, str] = {}
    slot = data.get("bookableSlot")
    appointment = data.get("appointment")
    key = slot.get("key") if isinstance(slot, dict) else None
    if not isinstance(key, str) or not key:
        errors["bookableSlot.key"] = _("Give the slot as listed, with its key.")
    if not isinstance(appointment, dict):
        errors["appointment"] = _("Give the appointment: customers, email, phone and language.")
        raise _invalid(errors)
    names = _customers(appointment.get("customers"), errors)
    email = appointment.get("email")
    if not isinstance(email, str) or not email.strip():
        errors["appointment.email"] = _("Give an e-mail address for the confirmation.")
        email = ""
    else:
        email = email.strip()
        try:
            if len(email) > EMAIL_MAX_LENGTH:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            errors["appointment.email"] = _("Enter an e-mail address like name@example.com.")
    phone = _optional_text(appointment, "phone", max_length=PHONE_MAX_LENGTH, errors=errors, prefix="appointment.")
    if phone:
        try:
            phone_validator(phone)
        except ValidationError:
            errors["appointment.phone"] = _("Enter a phone number with digits only, for example +31 6 12345678.")
    parts = appointment.get("parts")
    if parts is not None and (isinstance(parts, bool) or not isinstance(parts, int)):
        errors["appointment.parts"] = _("This must be a whole number.")
        parts = None
    texts = {
        name: _optional_text(appointment, name, max_length=40, errors=errors, prefix="appointment.")
        for name in ("productKey", "date", "startTime", "endTime")
    }
    municipality = _optional_text(
        appointment, "municipality", max_length=MUNICIPALITY_MAX_LENGTH, errors=errors, prefix="appointment."
    )
    language = _language(appointment, errors, prefix="appointment.")
    if errors:
        raise _invalid(errors)
    return BookInput(
        key=key,
        names=names,
        email=email,
        phone=phone,
        language=language,
        municipality=municipality,
        product_key=texts["productKey"],
        parts=parts,
        date=texts["date"],
        start_time=texts["startTime"],
        end_time=texts["endTime"],
    )


def check_matches_slot(*, given: BookInput, ref: SlotRef, location: Location, service: Service) -> None:
    """The appointment's own copy of the slot (all optional) must say what the key says."""
    local = ref.start.astimezone(location.tz)
    mismatched = []
    if given.product_key and find_product(given.product_key) != service:
        mismatched.append("appointment.productKey")
    if given.parts is not None and given.parts != ref.persons:
        mismatched.append("appointment.parts")
    if given.date and given.date != local.date().isoformat():
        mismatched.append("appointment.date")
    if given.start_time and given.start_time[:5] != local.strftime("%H:%M"):
        mismatched.append("appointment.startTime")
    if mismatched:
        message = _("This does not match the slot of the key.")
        raise ApiError(
            SLOT_MISMATCH,
            400,
            _("The appointment does not match the slot it books."),
            fields=dict.fromkeys(mismatched, message),
        )
    if len(given.names) != ref.persons:
        raise ApiError(
            BookingError.NAMES_MISMATCH.upper(),
            400,
            _("Give one customer for each of the %(count)d persons of the slot.") % {"count": ref.persons},
        )
