"""Write endpoints of /api/v1/: hold a time, book it, and read, cancel or move a booking by its manage token.

Every write goes through bookings.actions; a BookingError becomes the error body with its own code
(api/v1/errors.py). The manage token travels in the Authorization header, never in the address, so it
stays out of access logs.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.v1 import selectors as api_selectors
from api.v1 import tokens
from api.v1.docs import error_responses
from api.v1.errors import ApiError
from api.v1.selectors import bookable_location
from api.v1.serializers import (
    BookingCreatedSerializer,
    BookingSerializer,
    BookRequestSerializer,
    HoldRequestSerializer,
    HoldSerializer,
    MoveRequestSerializer,
    VisitHoldRequestSerializer,
    VisitHoldSerializer,
    represented,
    validated,
)
from api.v1.throttles import PollThrottle, WriteThrottle
from api.v1.views import PublicView
from bookings import abuse, actions
from bookings import selectors as booking_selectors
from bookings.actions import BookingError, PersonName
from bookings.actions.visits import hold_visit
from bookings.models import Appointment, AppointmentStatus, Location
from bookings.visits import PartRequest

MANAGE_AUTH = [{"manageToken": []}]
# The first part of the key a hold asked over this API is remembered under (bookings/refusals.py): its raw codes.
HOLDS_ASKED = "api-v1-hold"
# What a hold asks that its answer depends on (its language does not change whether the time is taken).
HOLD_ASKS = ("location", "service", "start", "persons", "extra_units", "municipality")


def _request_language() -> str:
    return (get_language() or "en")[:2]


def _unknown(field: str, code: str, message: str) -> ApiError:
    """Well-formed, but it names nothing: 422 (a 400 is only for what the schema refuses)."""
    return ApiError(status_code=422, code=code, message=message, fields={field: [message]})


def _unknown_location() -> ApiError:
    return _unknown("location", "unknown_location", _("There is no such location."))


def _location_for_hold(short_code: str) -> Location:
    location = bookable_location(short_code=short_code)
    if location is None:
        raise _unknown_location()
    return location


def _can_change(appointment: Appointment) -> bool:
    """As on the manage page: a booking still to come can be moved or cancelled online."""
    return appointment.status == AppointmentStatus.BOOKED and appointment.start > timezone.now()


def _booking_data(appointment: Appointment, *, people: list[PersonName] | None = None) -> dict:
    """The answer about a booking, read afresh with its service, location and names; with `people`, the
    appointment is the one an action has just written (with its service and location loaded) and is answered
    as it is, with these names: nothing is read again."""
    if people is None:
        fresh = booking_selectors.appointment_with_details(appointment_id=appointment.pk)
        people = list(fresh.people.all())
    else:
        fresh = appointment
    return {
        "reference": fresh.reference,
        "status": fresh.status,
        "service": {"code": fresh.service.code, "name": fresh.service.name},
        "location": {
            "short_code": fresh.location.short_code,
            "name": fresh.location.name,
            "address": fresh.location.address,
        },
        "start": fresh.start,
        "end": fresh.end,
        "persons": fresh.persons,
        "people": people,
        "contact_email": fresh.contact_email,
        "phone": fresh.phone,
        "language": fresh.language,
        "can_change": _can_change(fresh),
        "parts": parts_data(fresh),
        "needs_wheelchair": fresh.needs_wheelchair,
        "interpreter_language": fresh.interpreter_language,
        "extra_units": fresh.extra_units,
    }


def parts_data(appointment: Appointment) -> list[dict]:
    return [
        {
            "service": part.service.code,
            "name": part.service.name,
            "persons": list(part.persons),
            "start": part.start,
            "end": part.end,
        }
        for part in booking_selectors.visit_parts(appointment)
    ]


class PrivateAnswerView(PublicView):
    """Answers about one person's hold or booking: never stored by a browser or a shared cache."""

    def finalize_response(self, request: Request, response: Response, *args: object, **kwargs: object) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class HoldView(PrivateAnswerView):
    throttle_classes = [WriteThrottle]

    @extend_schema(
        operation_id="holds_create",
        summary="Hold a free time for a few minutes",
        description=(
            "Claims the time while the person fills in their details. Answers an opaque `hold_token`: only this "
            "caller has it, and it is what POST /api/v1/bookings/ needs."
        ),
        tags=["booking"],
        request=HoldRequestSerializer,
        responses={201: HoldSerializer, **error_responses(400, 409, 415, 422, 429)},
    )
    def post(self, request: Request) -> Response:
        data = validated(HoldRequestSerializer, request.data)
        now = timezone.now()
        # The very hold this process refused as taken a moment ago: refused again before any query (not even the
        # location's and service's), as bookings/refusals.py says.
        asked = (HOLDS_ASKED, *(data[name] for name in HOLD_ASKS))
        remembered = actions.refused_a_moment_ago(asked, now=now)
        if remembered is not None:
            raise remembered
        location, service = api_selectors.hold_target(short_code=data["location"], code=data["service"])
        if location is None:
            raise _unknown_location()
        if service is None:
            raise _unknown("service", "unknown_service", _("There is no such service."))
        try:
            appointment = actions.hold_slot(
                location=location,
                service=service,
                start=data["start"],
                persons=data["persons"],
                municipality=data["municipality"],
                language=data.get("language") or _request_language(),
                now=now,
                client_key=abuse.client_key_for(request),
                extra_units=data["extra_units"],
            )
        except BookingError as refused:
            actions.remember_if_taken(asked, now=now, location_id=location.pk, refused=refused)
            raise
        hold = {
            "hold_token": tokens.hold_token(appointment_id=appointment.pk),
            "expires_at": appointment.hold_expires_at,
            "location": location.short_code,
            "service": service.code,
            "start": appointment.start,
            "end": appointment.end,
            "persons": appointment.persons,
        }
        return Response(represented(HoldSerializer, hold), status=201)


class BookView(PrivateAnswerView):
    throttle_classes = [WriteThrottle]

    @extend_schema(
        operation_id="bookings_create",
        summary="Book a held time",
        description=(
            "Turns the hold into a booking and queues the confirmation e-mail. The answer carries the "
            "`manage_token` — this once only; the e-mail has the manage link with the same token."
        ),
        tags=["booking"],
        request=BookRequestSerializer,
        responses={201: BookingCreatedSerializer, **error_responses(400, 409, 415, 422, 429)},
    )
    def post(self, request: Request) -> Response:
        data = validated(BookRequestSerializer, request.data)
        appointment_id = tokens.appointment_id_for_hold_token(token=data["hold_token"])
        if appointment_id is None:
            raise ApiError(
                status_code=422,
                code="invalid_hold_token",
                message=_("This hold token is not valid, or too old; please hold a time again."),
            )
        appointment = booking_selectors.hold_to_confirm(appointment_id=appointment_id)
        if appointment is None:
            raise ApiError(
                status_code=409,
                code="hold_not_available",
                message=_("This hold has already been booked or released; please hold a time again."),
            )
        names = [PersonName(first_name=n["first_name"], last_name=n["last_name"]) for n in data["names"]]
        result = actions.confirm_hold(
            appointment=appointment,
            names=names,
            contact_email=data["email"].strip(),
            phone=data.get("phone", "").strip(),
            language=data.get("language") or _request_language(),
            now=timezone.now(),
            needs_wheelchair=data["needs_wheelchair"],
            interpreter_language=data["interpreter_language"],
        )
        stored = [PersonName(first_name=n.first_name.strip(), last_name=n.last_name.strip()) for n in names]  # as saved
        booking = {**_booking_data(result.appointment, people=stored), "manage_token": result.manage_token}
        return Response(represented(BookingCreatedSerializer, booking), status=201)


def _booking_for_request(request: Request) -> Appointment:
    """The live booking the `Authorization: Bearer <token>` header opens; 401 without one, 404 for a wrong one."""
    scheme, _space, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            status_code=401,
            code="not_authenticated",
            message=_("Send the manage token as the header Authorization: Bearer <token>."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    appointment = booking_selectors.appointment_for_token(token=token.strip())
    if appointment is None:
        raise ApiError(status_code=404, code="booking_not_found", message=_("This token does not open a booking."))
    return appointment


class ManageView(PrivateAnswerView):
    throttle_classes = [PollThrottle]

    @extend_schema(
        operation_id="bookings_manage_retrieve",
        summary="The booking the manage token opens",
        tags=["manage"],
        auth=MANAGE_AUTH,
        responses={200: BookingSerializer, **error_responses(401, 404, 429)},
    )
    def get(self, request: Request) -> Response:
        return Response(represented(BookingSerializer, _booking_data(_booking_for_request(request))))


class CancelView(PrivateAnswerView):
    throttle_classes = [WriteThrottle]

    @extend_schema(
        operation_id="bookings_manage_cancel",
        summary="Cancel the booking",
        description="Frees its time and queues the cancellation e-mail. No request body.",
        tags=["manage"],
        auth=MANAGE_AUTH,
        request=None,
        responses={200: BookingSerializer, **error_responses(401, 404, 422, 429)},
    )
    def post(self, request: Request) -> Response:
        appointment = _booking_for_request(request)
        if not _can_change(appointment):
            raise BookingError(BookingError.INVALID_STATUS, _("This appointment can no longer be cancelled online."))
        cancelled = actions.cancel_appointment(appointment=appointment, now=timezone.now(), reason="cancelled online")
        return Response(represented(BookingSerializer, _booking_data(cancelled)))


class MoveView(PrivateAnswerView):
    throttle_classes = [WriteThrottle]

    @extend_schema(
        operation_id="bookings_manage_move",
        summary="Move the booking to another free time",
        description=(
            "The new time is claimed before the old one is let go: if it is taken (409), the booking keeps its "
            "old time. Queues the e-mail with the new time."
        ),
        tags=["manage"],
        auth=MANAGE_AUTH,
        request=MoveRequestSerializer,
        responses={200: BookingSerializer, **error_responses(400, 401, 404, 409, 415, 422, 429)},
    )
    def post(self, request: Request) -> Response:
        appointment = _booking_for_request(request)
        move = validated(MoveRequestSerializer, request.data)
        if not _can_change(appointment):
            raise BookingError(BookingError.INVALID_STATUS, _("This appointment can no longer be moved online."))
        moved = actions.reschedule_appointment(appointment=appointment, new_start=move["start"], now=timezone.now())
        return Response(represented(BookingSerializer, _booking_data(moved)))


def requested_parts(*, location: Location, parts: list[tuple[str, list[int]]], field: str) -> list[PartRequest]:
    """The visit's parts by service code, each a service `location` offers (422 naming the field if not)."""
    found = []
    for code, persons in parts:
        offer = api_selectors.offered_service(location=location, code=code)
        if offer is None:
            raise _unknown(
                field, "unknown_service", _("This location does not offer the service %(code)s.") % {"code": code}
            )
        found.append(PartRequest(offer.service, tuple(persons)))
    return found


class VisitHoldView(PrivateAnswerView):
    throttle_classes = [WriteThrottle]

    @extend_schema(
        operation_id="visits_hold",
        summary="Hold a visit of several services for a few minutes",
        description=(
            "One arrival for several services, each for some of the persons (a family: registration for all, "
            "biometrics for the adults). Every part is held, or none (409). Book it with POST /api/v1/bookings/ "
            "and the answer's `hold_token`, giving every person's name: one reference, one manage token, one "
            "confirmation e-mail for the whole visit."
        ),
        tags=["booking"],
        request=VisitHoldRequestSerializer,
        responses={201: VisitHoldSerializer, **error_responses(400, 409, 415, 422, 429)},
    )
    def post(self, request: Request) -> Response:
        data = validated(VisitHoldRequestSerializer, request.data)
        location = _location_for_hold(data["location"])
        parts = requested_parts(
            location=location, parts=[(p["service"], p["persons"]) for p in data["parts"]], field="parts"
        )
        appointment = hold_visit(
            location=location,
            parts=parts,
            start=data["start"],
            municipality=data["municipality"],
            language=data.get("language") or _request_language(),
            now=timezone.now(),
            client_key=abuse.client_key_for(request),
        )
        hold = {
            "hold_token": tokens.hold_token(appointment_id=appointment.pk),
            "expires_at": appointment.hold_expires_at,
            "location": location.short_code,
            "start": appointment.start,
            "end": appointment.end,
            "persons": appointment.persons,
            "parts": parts_data(appointment),
        }
        return Response(represented(VisitHoldSerializer, hold), status=201)
