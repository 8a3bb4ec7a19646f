"""Responses of the IND-compatible API: the anti-JSON-hijacking prefix and the error shape.

Every body starts with `)]}',` and a newline, as the IND's own answers do; some clients cut the first
six characters blindly, others strip the prefix, then parse JSON. Errors are
`{"status": "ERROR", "errorCode": "…", "data": {"message": "…", "fields": {…}}}` with the IND's codes
where they exist (APT_TAKEN, SIMILAR_APT_EXISTS) and our own otherwise.
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
RATE_LIMITED = "RATE_LIMITED"
# The IND's codes.
APT_TAKEN = "APT_TAKEN"
SIMILAR_APT_EXISTS = "SIMILAR_APT_EXISTS"

# BookingError.code → (errorCode, HTTP status); any other code becomes its own name in capitals, 400.
_BOOKING_ERRORS: dict[str, tuple[str, int]] = {
    BookingError.SLOT_TAKEN: (APT_TAKEN, 409),
    BookingError.SIMILAR_APPOINTMENT_EXISTS: (SIMILAR_APT_EXISTS, 409),  # one live booking per e-mail and service
    BookingError.TOO_MANY_HOLDS: ("TOO_MANY_HOLDS", 429),  # live holds per client address
    BookingError.INVALID_STATUS: ("INVALID_STATUS", 409),
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
    data: dict[str, Any] = {"message": error.message}
    if error.fields:
        data["fields"] = error.fields
    response = json_response({"status": "ERROR", "errorCode": error.code, "data": data}, status=error.status)
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
