"""Responses of the IND-compatible API: the anti-JSON-hijacking prefix and the error shape.

Every body starts with `)]}',` and a newline, as the IND's own answers do; some clients cut the first
six characters blindly, others strip the prefix, then parse JSON. Errors have exactly the IND's shape,
`{"status": "ERROR", "errorCode": "…"}` (issue 11: clients that find a `data` object read it as a result).
A refusal by the booking rules uses the IND's own codes: APT_TAKEN when the slot cannot be had (taken,
closed, too soon, a hold already used), SIMILAR_APT_EXISTS when the person or address already has what
they may have (one booking per mailbox and product, the cool-down, the fair share). Refusals of input the
IND's system has no code for keep our own codes (INVALID_JSON, INVALID_INPUT, ...).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from bookings.actions import BookingError

PREFIX = ")]}',\n"
CONTENT_TYPE = "application/json; charset=utf-8"

# Our own error codes (the IND's system has none for these).
INVALID_JSON = "INVALID_JSON"
INVALID_INPUT = "INVALID_INPUT"
INVALID_KEY = "INVALID_KEY"
INVALID_PERSONS = "INVALID_PERSONS"
PRODUCT_KEY_REQUIRED = "PRODUCT_KEY_REQUIRED"
SLOT_MISMATCH = "SLOT_MISMATCH"
UNKNOWN_DESK = "UNKNOWN_DESK"
UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
UNKNOWN_SLOT = "UNKNOWN_SLOT"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
RATE_LIMITED = "RATE_LIMITED"
# The IND's codes.
APT_TAKEN = "APT_TAKEN"
SIMILAR_APT_EXISTS = "SIMILAR_APT_EXISTS"

# BookingError.code → (errorCode, HTTP status); any other code becomes its own name in capitals, 400.
_BOOKING_ERRORS: dict[str, tuple[str, int]] = {
    # The listed slot cannot be had (any more): the IND's APT_TAKEN, "pick another slot".
    BookingError.SLOT_TAKEN: (APT_TAKEN, 409),
    BookingError.INVALID_STATUS: (APT_TAKEN, 409),  # the hold of this key was booked or let go already
    BookingError.CLOSED: (APT_TAKEN, 409),
    BookingError.TOO_SOON: (APT_TAKEN, 409),
    BookingError.IN_PAST: (APT_TAKEN, 409),
    BookingError.OUTSIDE_HORIZON: (APT_TAKEN, 409),
    BookingError.COUNTER_INACTIVE: (APT_TAKEN, 409),
    # The person or address already has what they may have: the IND's SIMILAR_APT_EXISTS.
    BookingError.SIMILAR_APPOINTMENT_EXISTS: (SIMILAR_APT_EXISTS, 409),  # one live booking per mailbox and service
    BookingError.COOLDOWN: (SIMILAR_APT_EXISTS, 409),
    BookingError.FAIR_SHARE_EXCEEDED: (SIMILAR_APT_EXISTS, 409),
    BookingError.TOO_MANY_HOLDS: ("TOO_MANY_HOLDS", 429),  # live holds per client address
}


class ApiError(Exception):
    """A refusal: a stable `code`, an HTTP `status`, a translated `message`, and per-field messages."""

    def __init__(self, code: str, status: int, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.fields = fields or {}

    @classmethod
    def from_booking_error(cls, error: BookingError) -> ApiError:
        code, status = _BOOKING_ERRORS.get(error.code, (error.code.upper(), 400))
        return cls(code, status, str(error.message))


def json_response(payload: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(PREFIX + json.dumps(payload), status=status, content_type=CONTENT_TYPE)


def ok_body(data: Any) -> bytes:
    return (PREFIX + json.dumps({"status": "OK", "data": data})).encode()


def error_response(error: ApiError) -> HttpResponse:
    """The IND's error shape, exactly: the status and the code. (The message and the fields stay in the
    ApiError for our logs and tests; the IND's answers carry neither.)"""
    response = json_response({"status": "ERROR", "errorCode": error.code}, status=error.status)
    response["Cache-Control"] = "no-store"
    return response


def not_found() -> ApiError:
    return ApiError(NOT_FOUND, 404, _("There is no such address in this API."))


def method_not_allowed(allowed: list[str]) -> HttpResponse:
    response = error_response(
        ApiError(
            METHOD_NOT_ALLOWED,
            405,
            _("This address does not accept that method; use %(methods)s.") % {"methods": ", ".join(allowed)},
        )
    )
    response["Allow"] = ", ".join(allowed)
    return response
