"""OpenAPI helpers for the views: the error responses each endpoint documents."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from api.v1.errors import ErrorSerializer

_DESCRIPTIONS = {
    400: (
        "Input this schema does not allow (`validation_error`, with `fields`) or a body that is not JSON "
        "(`parse_error`). A request the schema allows is never a 400."
    ),
    401: "No manage token: send `Authorization: Bearer <token>` (`not_authenticated`).",
    404: "Unknown code or short code, or a token that opens no booking (`not_found`, `booking_not_found`).",
    405: "Method not allowed here (`method_not_allowed`).",
    406: "Only application/json is answered (`not_acceptable`).",
    409: (
        "The time was taken meanwhile (`slot_taken`), the hold was already booked or released "
        "(`hold_not_available`), or this e-mail address already has a booking for the service "
        "(`similar_appointment_exists`)."
    ),
    415: "The body must be application/json (`unsupported_media_type`).",
    422: (
        "Well-formed, but refused; `code` says why: a location, service or hold token that names nothing "
        "(`unknown_location`, `unknown_service`, `invalid_hold_token`), days that do not go together "
        "(`invalid_range`), or a booking rule: `too_many_persons`, `too_soon`, `in_past`, `closed`, "
        "`outside_horizon`, `off_grid`, `municipality_required`, `municipality_not_participating`, "
        "`names_mismatch`, `invalid_status`, `service_inactive`, `counter_inactive`, `too_many_holds` (live holds "
        "from one address), `cooldown` (after repeated cancellations), `fair_share_exceeded` (the counter time "
        "one address, mailbox or employer may hold and book), ..."
    ),
    429: "Too many requests from this address; see the Retry-After header (`throttled`).",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error responses, all with the one error shape."""
    return {
        status: OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[status])
        for status in sorted({*statuses, *COMMON})
    }


# Every endpoint may answer these: an Accept header that excludes JSON.
COMMON = (406,)
