"""One JSON shape for every error of /api/v1/: `{"code": ..., "message": ..., "fields": {...}}`.

`code` is stable, for programs; `message` is translated (the request's language), for people;
`fields` maps each rejected input (dotted for nested input, e.g. `names.1.last_name`) to its messages.
400 is for input the OpenAPI schema itself refuses (so a request the schema allows is never a 400,
issue 11); well-formed input that the rules refuse is 422: a location or service that does not exist,
a range of days that does not go together, more persons than the service takes, a hold token that
opens no hold. BookingError keeps its own code: 409 when the time was taken or the person already has
a booking for the service, 422 for every other rule it enforces.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from bookings.actions import BookingError


class ApiError(exceptions.APIException):
    """An error of our own with a stable code, e.g. a token that opens nothing."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.headers = headers or {}
        self.fields = fields or {}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable error code, e.g. `validation_error`, `not_found`, `slot_taken`.")
    message = serializers.CharField(help_text="What went wrong, in the request's language (Accept-Language).")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="For `validation_error`: the messages per rejected input; empty otherwise.",
    )


def error_body(*, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": str(message), "fields": fields or {}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"a.0.b": ["message", ...]}; errors about the whole input: "non_field_errors"."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]} if detail else {}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


BOOKING_ERROR_STATUS = {
    BookingError.SLOT_TAKEN: status.HTTP_409_CONFLICT,
    BookingError.SIMILAR_APPOINTMENT_EXISTS: status.HTTP_409_CONFLICT,
}


def _describe(exc: Exception, *, method: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """(status, body, headers) for an exception a view let through; None for a real bug (a 500)."""
    if isinstance(exc, BookingError):
        status_code = BOOKING_ERROR_STATUS.get(exc.code, status.HTTP_422_UNPROCESSABLE_ENTITY)
        return status_code, error_body(code=exc.code, message=exc.message), {}
    if isinstance(exc, ApiError):
        return exc.status_code, error_body(code=exc.error_code, message=exc.message, fields=exc.fields), exc.headers
    if isinstance(exc, Http404 | exceptions.NotFound):
        return 404, error_body(code="not_found", message=_("There is nothing at this address.")), {}
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        return 400, error_body(code="validation_error", message=_("Some of the input is not valid."), fields=fields), {}
    if isinstance(exc, exceptions.ParseError):
        return 400, error_body(code="parse_error", message=_("The request body is not valid JSON.")), {}
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return (
            415,
            error_body(code="unsupported_media_type", message=_("Send the request body as application/json.")),
            {},
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        message = _("The method %(method)s is not allowed at this address.") % {"method": method}
        return 405, error_body(code="method_not_allowed", message=message), {}
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, error_body(code="not_acceptable", message=_("This API answers in application/json only.")), {}
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, int(exc.wait or 1))
        message = _("Too many requests; please try again in %(seconds)d seconds.") % {"seconds": wait}
        return 429, error_body(code="throttled", message=message), {"Retry-After": str(wait)}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return 401, error_body(code="not_authenticated", message=str(exc.detail)), {}
    if isinstance(exc, PermissionDenied | exceptions.PermissionDenied):
        return 403, error_body(code="permission_denied", message=_("You may not do this.")), {}
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        return (
            exc.status_code,
            error_body(code=codes if isinstance(codes, str) else "error", message=str(exc.detail)),
            {},
        )
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST framework's EXCEPTION_HANDLER: every error as one JSON shape (None lets a real bug be a 500)."""
    request = context.get("request")
    described = _describe(exc, method=getattr(request, "method", "") or "")
    if described is None:
        return None
    status_code, body, headers = described
    return Response(body, status=status_code, headers=headers)


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any address under /api/v1/ that names no endpoint: the same JSON 404 as an unknown code."""
    return JsonResponse(error_body(code="not_found", message=_("There is nothing at this address.")), status=404)
