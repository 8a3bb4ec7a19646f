"""Read endpoints of /api/v1/: the service catalogue, locations, free days and free times.

Thin: serializers check the shape of the input, selectors and bookings.availability read.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date

from django.http import HttpResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import caching
from api.v1 import selectors
from api.v1.docs import error_responses
from api.v1.errors import ApiError
from api.v1.serializers import (
    FreeDaysQuerySerializer,
    FreeDaysSerializer,
    FreeTimesQuerySerializer,
    FreeTimesSerializer,
    LocationSerializer,
    ServiceSerializer,
    VisitTimesQuerySerializer,
    VisitTimesSerializer,
    represented,
    validated,
)
from api.v1.throttles import PollThrottle
from bookings import availability, visits
from bookings.models import Location, LocationService
from services.models import Service

JSON = "application/json"


class PublicView(APIView):
    """No session or other authentication (so no CSRF): anyone may call, within the rate limits."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


def _not_found(message: str) -> ApiError:
    return ApiError(status_code=404, code="not_found", message=message)


def _service_or_404(code: str) -> Service:
    service = selectors.active_service(code=code)
    if service is None:
        raise _not_found(_("There is no such service, or it cannot be booked at the moment."))
    return service


def _offer_or_404(*, location: Location, code: str) -> LocationService:
    """The location's offer of the active service `code`: 404 for an unknown or inactive service, and for
    one this location does not offer."""
    return _offered(selectors.offered_service(location=location, code=code), code=code)


def _offered(offer: LocationService | None, *, code: str) -> LocationService:
    if offer is None:
        _service_or_404(code)  # unknown or inactive: that answer
        raise _not_found(_("This location does not offer this service."))
    return offer


def _location_offer_and_version_or_404(*, short_code: str, code: str) -> tuple[Location, LocationService, object]:
    """`_location_or_404` and `_offer_or_404` in one query, with the location's configuration version (for
    availability's `version`)."""
    location, offer, version = selectors.bookable_offer(short_code=short_code, code=code)
    if location is None:
        raise _unknown_location_error()
    return location, _offered(offer, code=code), version


def _location_or_404(short_code: str) -> Location:
    location = selectors.bookable_location(short_code=short_code)
    if location is None:
        raise _unknown_location_error()
    return location


def _unknown_location_error() -> ApiError:
    return _not_found(_("There is no such location."))


def _check_persons(*, service: Service, persons: int) -> None:
    """More persons than this service takes: 422, the booking rule's own code (the schema allows up to 6)."""
    if persons > service.max_persons:
        message = _("This service can be booked for at most %(max)d persons at once.") % {"max": service.max_persons}
        raise ApiError(status_code=422, code="too_many_persons", message=message, fields={"persons": [message]})


# ---- catalogue ------------------------------------------------------------------------------


class ServiceListView(PublicView):
    @extend_schema(
        operation_id="services_list",
        summary="The services that can be booked",
        tags=["catalogue"],
        responses={200: ServiceSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(ServiceSerializer(selectors.catalogue(), many=True).data)


class ServiceDetailView(PublicView):
    @extend_schema(
        operation_id="services_retrieve",
        summary="One service, by its code",
        tags=["catalogue"],
        responses={200: ServiceSerializer, **error_responses(404)},
    )
    def get(self, request: Request, code: str) -> Response:
        return Response(ServiceSerializer(_service_or_404(code)).data)


class LocationListView(PublicView):
    @extend_schema(
        operation_id="locations_list",
        summary="The locations, with opening hours and the services offered",
        tags=["catalogue"],
        responses={200: LocationSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        today = timezone.localdate()
        return Response(LocationSerializer(selectors.active_locations(today=today), many=True).data)


class LocationDetailView(PublicView):
    @extend_schema(
        operation_id="locations_retrieve",
        summary="One location, by its short code",
        tags=["catalogue"],
        responses={200: LocationSerializer, **error_responses(404)},
    )
    def get(self, request: Request, short_code: str) -> Response:
        location = selectors.active_location(short_code=short_code, today=timezone.localdate())
        if location is None:
            raise _not_found(_("There is no such location."))
        return Response(LocationSerializer(location).data)


# ---- free days and times --------------------------------------------------------------------


class CachedPollView(PublicView):
    """A read-only answer shared between clients (api/caching.py): a cached answer costs no database
    query and no rate count; only a request that computes is counted at EXPATDESK_API_POLL_RATE.
    Any origin may read it (CORS, GET only, no credentials)."""

    throttle_classes = [PollThrottle]
    answer_name = ""

    def check_throttles(self, request: Request) -> None:
        """Counted in `count_poll`, on a miss only."""

    def count_poll(self, request: Request) -> None:
        super().check_throttles(request)

    def question(self, request: Request, **kwargs: str) -> caching.Question:
        return self.question_for(request.query_params, **kwargs)

    @classmethod
    def question_for(cls, query: QueryDict, **kwargs: str) -> caching.Question:
        """The question a request asks, from its query and path alone (also api/middleware.py's, before the
        request reaches the view)."""
        asked = tuple(sorted((key, tuple(values)) for key, values in query.lists()))
        return caching.Question(name=cls.answer_name, alias=(*sorted(kwargs.items()), asked))

    def options(self, request: Request, *args: object, **kwargs: object) -> HttpResponse:
        return caching.cors_preflight()

    def finalize_response(self, request: Request, response: HttpResponse, *args: object, **kwargs: object):
        return caching.with_cors(super().finalize_response(request, response, *args, **kwargs))


def _json(data: dict) -> bytes:
    return JSONRenderer().render(data)


class FreeDaysView(CachedPollView):
    answer_name = "v1-free-days"

    @extend_schema(
        operation_id="free_days",
        summary="Days with a free time for a service and a number of persons",
        description=(
            "Days in the month, or in [start_date, end_date], or in the whole booking horizon, that have at least "
            "one free time. Days before today or beyond the service's booking horizon never have one."
        ),
        tags=["availability"],
        parameters=[FreeDaysQuerySerializer],
        responses={200: FreeDaysSerializer, **error_responses(400, 404, 422, 429)},
    )
    def get(self, request: Request, short_code: str, code: str) -> HttpResponse:
        question = self.question(request, short_code=short_code, code=code)
        cached = caching.cached_answer(question)
        if cached is not None:
            return caching.shared_response(request, cached)
        self.count_poll(request)
        location, offer, version = _location_offer_and_version_or_404(short_code=short_code, code=code)
        service = offer.service
        query = validated(FreeDaysQuerySerializer, request.query_params)
        persons, extra = query["persons"], query["extra_units"]
        _check_persons(service=service, persons=persons)
        now = timezone.now()
        today = now.astimezone(location.tz).date()
        last_day = date.fromordinal(today.toordinal() + offer.horizon_days)
        if "month" in query:
            month: date = query["month"]
            start_date, end_date = month, month.replace(day=monthrange(month.year, month.month)[1])
        elif "start_date" in query:
            start_date, end_date = query["start_date"], query["end_date"]
        else:
            start_date, end_date = today, last_day
        first, last = max(start_date, today), min(end_date, last_day)

        def compute() -> bytes:
            days = (
                availability.free_days(
                    location=location,
                    service=service,
                    persons=persons,
                    start_date=first,
                    end_date=last,
                    now=now,
                    extra_units=extra,
                    version=version,
                )
                if first <= last
                else []
            )
            data = {
                "location": location.short_code,
                "service": service.code,
                "persons": persons,
                "start_date": start_date,
                "end_date": end_date,
                "days": days,
            }
            return _json(represented(FreeDaysSerializer, data))

        found = caching.answer(
            question,
            location_id=location.pk,
            parts=(service.pk, persons, extra, first, last, start_date, end_date),
            compute=compute,
            content_type=JSON,
        )
        return caching.shared_response(request, found)


class FreeTimesView(CachedPollView):
    answer_name = "v1-free-times"

    @extend_schema(
        operation_id="free_times",
        summary="The free times on one day for a service and a number of persons",
        description="Hold one by passing its `start` to POST /api/v1/holds/.",
        tags=["availability"],
        parameters=[FreeTimesQuerySerializer],
        responses={200: FreeTimesSerializer, **error_responses(400, 404, 422, 429)},
    )
    def get(self, request: Request, short_code: str, code: str) -> HttpResponse:
        question = self.question(request, short_code=short_code, code=code)
        cached = caching.cached_answer(question)
        if cached is not None:
            return caching.shared_response(request, cached)
        self.count_poll(request)
        location, offer, version = _location_offer_and_version_or_404(short_code=short_code, code=code)
        service = offer.service
        query = validated(FreeTimesQuerySerializer, request.query_params)
        persons, day = query["persons"], query["date"]
        extra = query["extra_units"]
        _check_persons(service=service, persons=persons)
        now = timezone.now()
        today = now.astimezone(location.tz).date()

        def compute() -> bytes:
            slots: list[availability.Slot] = []
            if today <= day <= date.fromordinal(today.toordinal() + offer.horizon_days):
                slots = availability.free_slots(
                    location=location,
                    service=service,
                    persons=persons,
                    start_date=day,
                    end_date=day,
                    now=now,
                    extra_units=extra,
                    version=version,
                ).get(day, [])
            data = {
                "location": location.short_code,
                "service": service.code,
                "persons": persons,
                "date": day,
                "times": [
                    {"start": slot.start, "end": slot.end, "time": slot.start.astimezone(location.tz).strftime("%H:%M")}
                    for slot in slots
                ],
            }
            return _json(represented(FreeTimesSerializer, data))

        found = caching.answer(
            question,
            location_id=location.pk,
            parts=(service.pk, persons, extra, day, today),
            compute=compute,
            day=day,
            content_type=JSON,
        )
        return caching.shared_response(request, found)


class VisitTimesView(CachedPollView):
    answer_name = "v1-visit-times"

    @extend_schema(
        operation_id="visit_times",
        summary="The free arrival times on one day for a visit of several services",
        description=(
            "Arrival times at which every part of the visit fits: each person on a counter that serves the "
            "part, nobody at two counters at once, nobody waiting longer than the location's `max_wait_minutes` "
            "between two of their parts. Hold one by passing its `start` to POST /api/v1/visits/holds/."
        ),
        tags=["availability"],
        parameters=[VisitTimesQuerySerializer],
        responses={200: VisitTimesSerializer, **error_responses(400, 404, 422, 429)},
    )
    def get(self, request: Request, short_code: str) -> HttpResponse:
        question = self.question(request, short_code=short_code)
        cached = caching.cached_answer(question)
        if cached is not None:
            return caching.shared_response(request, cached)
        self.count_poll(request)
        location = _location_or_404(short_code)
        query = validated(VisitTimesQuerySerializer, request.query_params)
        day = query["date"]
        asked = []
        for value in query["part"]:
            code, _colon, persons = value.partition(":")
            asked.append((code, [int(person) for person in persons.split(",")]))
        parts = ordered_parts(location=location, asked=asked)
        now = timezone.now()
        today = now.astimezone(location.tz).date()

        def compute() -> bytes:
            slots = visits.free_arrivals(
                location=location,
                parts=parts,
                start_date=day,
                end_date=day,
                now=now,
            ).get(day, [])
            data = {
                "location": location.short_code,
                "parts": [{"service": part.service.code, "persons": list(part.persons)} for part in parts],
                "date": day,
                "times": [
                    {"start": slot.start, "end": slot.end, "time": slot.start.astimezone(location.tz).strftime("%H:%M")}
                    for slot in slots
                ],
            }
            return _json(represented(VisitTimesSerializer, data))

        found = caching.answer(
            question,
            location_id=location.pk,
            parts=(";".join(f"{p.service.pk}-{'.'.join(map(str, p.persons))}" for p in parts), day, today),
            compute=compute,
            day=day,
            content_type=JSON,
        )
        return caching.shared_response(request, found)


def ordered_parts(*, location: Location, asked: list[tuple[str, list[int]]]) -> list[visits.PartRequest]:
    """The asked parts as the desk orders them; 404 for a service the location does not offer, 422 for a
    visit of the wrong shape (a service twice, persons not numbered from 1, too many for a service)."""
    parts = []
    for code, persons in asked:
        parts.append(visits.PartRequest(_offer_or_404(location=location, code=code).service, tuple(persons)))
    try:
        visits.check_parts(parts)
    except visits.VisitError as error:
        raise ApiError(
            status_code=422, code="invalid_visit", message=str(error), fields={"part": [str(error)]}
        ) from error
    return visits.in_desk_order(parts)
