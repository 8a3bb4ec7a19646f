"""Phone and desk bookings for other days: staff book on behalf of a caller, with or without an e-mail address.

The same engine as every booking (bookings.actions.book_appointment): the booking rules, the horizon, one
live booking per e-mail address and service, the cool-down, and the fair share — of the caller's mailbox if
they give an e-mail address, and of their phone number (a keyed hash, as for a client address). Staff may
book inside the service's minimum notice. Without an e-mail address nothing is sent: the desk reads the
reference aloud from a printable confirmation, and finds the booking again by its reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bookings import fairness
from bookings.abuse import client_key_for_address
from bookings.actions import BookingError, BookingResult, PersonName
from bookings.actions.booking import _check_booking_input, book_in_transaction
from bookings.cache import days_around
from bookings.locking import capacity_changes
from bookings.models import Location
from services.models import Service

PHONE_REQUIRED = "phone_required"
INVALID_PHONE = "invalid_phone"
INVALID_NEEDS = BookingError.INVALID_SPECIAL_NEEDS  # the engine checks the special needs (book_in_transaction)
MIN_PHONE_DIGITS = 6


def normalise_phone(phone: str) -> str:
    """Digits only, with a leading + kept: "+31 43 350 5050" and "+31433505050" are one caller."""
    phone = (phone or "").strip()
    digits = "".join(ch for ch in phone if ch.isdigit())
    return ("+" + digits) if phone.startswith("+") and digits else digits


def phone_key(phone: str) -> str:
    """The caller's fair-share key: a keyed hash of the phone number, never the number itself."""
    normalised = normalise_phone(phone)
    return client_key_for_address(f"phone:{normalised}") if normalised else ""


def book_for_caller(
    *,
    location: Location,
    service: Service,
    start: datetime,
    names: Sequence[PersonName],
    now: datetime,
    actor: AbstractBaseUser | None,
    contact_email: str = "",
    phone: str = "",
    language: str = "en",
    municipality: str = "",
    enforce_notice: bool = False,
    needs_wheelchair: bool = False,
    interpreter_language: str = "",
    extra_units: int = 0,
) -> BookingResult:
    """Book a future time for a caller, with their special needs (wheelchair access, an interpreter language
    from the fixed list, extra time in grid units per person), in one transaction: bookings.actions
    book_appointment's steps, in its lock order. A phone number is required when there is no e-mail address."""
    phone = (phone or "").strip()
    normalised = normalise_phone(phone)
    if phone and len(normalised.lstrip("+")) < MIN_PHONE_DIGITS:
        raise BookingError(INVALID_PHONE, _("Please give a phone number of at least six digits."))
    if not contact_email and not normalised:
        raise BookingError(PHONE_REQUIRED, _("Without an e-mail address, please give the caller's phone number."))
    municipality = _check_booking_input(
        location=location, service=service, start=start, names=names, municipality=municipality
    )
    if start <= now:
        raise BookingError(BookingError.IN_PAST, _("That time has already passed."))
    owner = fairness.address_share(phone_key(phone))
    mailbox = fairness.mailbox_share(contact_email)
    with transaction.atomic(durable=True):
        capacity_changes(location_id=location.pk, days=days_around(start))
        fairness.lock_shares([owner, mailbox])
        result = book_in_transaction(
            location=location,
            service=service,
            start=start,
            names=names,
            contact_email=contact_email,
            phone=phone[:32],
            language=language,
            municipality=municipality,
            now=now,
            counter=None,
            booked_by=actor,
            enforce_notice=enforce_notice,
            enforce_customer_limits=True,
            owner=owner,
            mailbox=mailbox,
            needs_wheelchair=needs_wheelchair,
            interpreter_language=interpreter_language,
            extra_units=extra_units,
        )
    return result
