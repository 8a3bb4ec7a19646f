"""IND-compatible endpoints under /oap/api/: the shape of the IND's online appointment system, so that
scripts written for it work against the desk by changing only the base URL.

Views are thin: api.ind_forms checks input, bookings.actions books, bookings.availability reads, and
api.caching shares slot answers and limits polling. Every answer starts with the `)]}',` prefix and
errors have one shape (api.ind_responses).

CSRF: these JSON POSTs are exempt. The API uses no cookies and no session or login: a request carries
everything it needs in its body, so a forged cross-site request gains nothing a script could not do
directly, and CSRF protection (which defends cookie-authenticated sessions) has nothing to protect. But a
web page could still make each of its visitors' browsers hold and book (from the visitor's own address,
past any per-address limit): the POSTs accept only `Content-Type: application/json`, which a page on
another site cannot send without the browser asking first (a CORS preflight, which this API never grants),
and answer 415 to anything else (issue 9).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import suppress
from datetime import date, datetime, timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from api import caching
from api.ind_forms import (
    book_input,
    check_matches_slot,
    desk_offer_and_version,
    hold_input,
    json_object,
    persons_from_query,
    product_from_query,
    slot_from_key,
    unknown_desk,
)
from api.ind_keys import SlotRef, desk_key, find_desk, find_product, product_key, slot_key, slot_keys
from api.ind_responses import (
    CONTENT_TYPE,
    PREFIX,
    UNKNOWN_PRODUCT,
    UNKNOWN_SLOT,
    UNSUPPORTED_MEDIA_TYPE,
    ApiError,
    error_response,
    method_not_allowed,
    not_found,
    ok_body,
)
from bookings import abuse, actions, availability
from bookings.actions import BookingError
from bookings.models import Appointment, AppointmentStatus, Counter, Location
from services.models import Service

View = Callable[..., HttpResponse]


JSON_CHARSETS = frozenset({"", "utf-8", "utf8"})


def is_json(request: HttpRequest) -> bool:
    """`Content-Type: application/json`, with or without `charset=utf-8` (JSON is UTF-8, RFC 8259)."""
    charset = request.content_params.get("charset", "").strip().lower()
    return request.content_type.lower() == "application/json" and charset in JSON_CHARSETS


def api_view(*, methods: list[str], group: str | None, cors: bool = False) -> Callable[[View], View]:
    """Method check (405), JSON bodies only (415), rate limit (429; `group` None: the view counts itself, on
    cache misses), ApiError/BookingError → the error shape, and CORS for read-only endpoints (api/caching.py)."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if cors and request.method == "OPTIONS":
                return caching.cors_preflight()
            response = _answer(request, *args, **kwargs)
            return caching.with_cors(response) if cors else response

        def _answer(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if request.method not in methods:
                return method_not_allowed(methods)
            if request.method == "POST" and not is_json(request):
                return error_response(
                    ApiError(UNSUPPORTED_MEDIA_TYPE, 415, _("Send the request body as application/json."))
                )
            if group is not None:
                limited = caching.rate_limited(request, group=group)
                if limited is not None:
                    return limited
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error_response(error)
            except BookingError as error:
                response = error_response(ApiError.from_booking_error(error))
                if error.code == BookingError.TOO_MANY_HOLDS:  # a hold lapses by then at the latest
                    response["Retry-After"] = str(settings.EXPATDESK_HOLD_MINUTES * 60)
                return response

        return wrapper

    return decorate


def _desk(key: str) -> Location:
    location = find_desk(key)
    if location is None:
        raise unknown_desk()
    return location


def _unknown_slot() -> ApiError:
    return ApiError(UNKNOWN_SLOT, 404, _("There is no such slot at this desk; take a key from its list of slots."))


def _slot_service(*, ref: SlotRef, location: Location) -> Service:
    """The active service of a slot key that belongs to `location`."""
    if ref.location_id != location.pk:
        raise _unknown_slot()
    service = Service.objects.active().filter(pk=ref.service_id).first()
    if service is None:
        raise _unknown_slot()
    return service


def _slot_data(*, location: Location, service: Service, ref: SlotRef, end: datetime) -> dict:
    tz = location.tz
    start, end = ref.start.astimezone(tz), end.astimezone(tz)
    return {
        "key": slot_key(ref),
        "date": start.date().isoformat(),
        "startTime": f"{start.hour:02d}:{start.minute:02d}",  # not strftime: hundreds of slots an answer
        "endTime": f"{end.hour:02d}:{end.minute:02d}",
        "parts": ref.persons,
    }


_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(24 * 60)]  # "HH:MM" by minute of the day


# The written-out slots of this process's lists: list (secret, location, service, persons) → slot (epoch, day,
# start, end) → its text. A slot's text is a function of these alone (its key's HMAC is most of its cost), so a
# list computed afresh after a change writes out only the slots it had not listed before. Bounded: past
# _WRITTEN_KEPT slots in all, every list is forgotten at once (about 150 bytes a slot).
_WRITTEN: dict[tuple[str, int, int, int], dict[tuple[int, str, int, int], str]] = {}
_WRITTEN_KEPT = 50_000
_written_count = 0


def slot_list_body(
    *, location: Location, service: Service, persons: int, by_day: dict[date, list[tuple[int, int, int]]]
) -> bytes:
    """ok_body() of the _slot_data() of the slots of availability.free_slot_times() (day by day, in time
    order), byte for byte, written out directly: a list has hundreds of slots, and building a Slot and a dict
    a slot for json.dumps cost more than the engine's search. Every value is made of digits, hexadecimal and
    base64url characters, '-', ':' and '.' only, so nothing needs escaping. Each slot's text is kept
    (_WRITTEN) for the next list of the same desk, product and persons."""
    global _written_count
    parts = int(persons)
    listed = (settings.SECRET_KEY, location.pk, service.pk, parts)
    written = _WRITTEN.setdefault(listed, {})
    key = None
    items = []
    for day in sorted(by_day):
        iso = day.isoformat()
        for epoch, start, end in by_day[day]:
            item = written.get((epoch, iso, start, end))
            if item is None:
                if key is None:
                    key = slot_keys(location_id=location.pk, service_id=service.pk, persons=parts)
                if _written_count >= _WRITTEN_KEPT:
                    _WRITTEN.clear()
                    _written_count = 0
                    written = _WRITTEN.setdefault(listed, {})
                item = written[epoch, iso, start, end] = (
                    f'{{"key": "{key(epoch)}", "date": "{iso}", "startTime": "{_CLOCK[start]}", '
                    f'"endTime": "{_CLOCK[end]}", "parts": {parts}}}'
                )
                _written_count += 1
            items.append(item)
    return f'{PREFIX}{{"status": "OK", "data": [{", ".join(items)}]}}'.encode()


# ---- desks and slots (polled; shared and cached) ----------------------------------------------------


@api_view(methods=["GET"], group=caching.POLL, cors=True)
def desks(request: HttpRequest) -> HttpResponse:
    try:
        service = product_from_query(request.GET)
    except ApiError as error:
        if error.code != UNKNOWN_PRODUCT:
            raise
        # A product nobody offers here: as the IND, an empty list of desks (clients iterate over it).
        return caching.shared_response(request, ok_body([]))
    # Every location that offers the product and has an active counter serving it, each with its own key.
    locations = Location.objects.filter(
        is_active=True,
        offers__service=service,
        pk__in=Counter.objects.filter(is_active=True, services=service).values("location_id"),
    ).order_by("name", "pk")
    body = ok_body([{"key": desk_key(loc), "version": 1, "name": loc.name} for loc in locations])
    return caching.shared_response(request, body)


def slots_question(query: QueryDict, *, desk: str) -> caching.Question:
    """What a slot list asks, from the path and query alone (also api/middleware.py's)."""
    return caching.Question(name="ind-slots", alias=(desk, query.get("productKey", ""), query.get("persons", "1")))


@api_view(methods=["GET"], group=None, cors=True)
def slots(request: HttpRequest, desk: str) -> HttpResponse:
    question = slots_question(request.GET, desk=desk)
    cached = caching.cached_answer(question)  # no database, no rate count: polling a cached answer is cheap
    if cached is not None:
        return caching.shared_response(request, cached)
    limited = caching.rate_limited(request, group=caching.POLL)
    if limited is not None:
        return limited
    location, offer, version = desk_offer_and_version(request.GET, desk=desk)  # no such desk or product: 404
    service = offer.service
    persons = persons_from_query(request.GET)
    horizon_days = offer.horizon_days  # the desk's own horizon of the product, else the product's

    def compute() -> bytes:
        now = timezone.now()
        today = now.astimezone(location.tz).date()
        by_day = availability.free_slot_times(
            location=location,
            service=service,
            persons=persons,
            start_date=today,
            end_date=today + timedelta(days=horizon_days),
            now=now,
            version=version,
        )
        return slot_list_body(location=location, service=service, persons=persons, by_day=by_day)

    found = caching.answer(question, location_id=location.pk, parts=(service.pk, persons), compute=compute)
    return caching.shared_response(request, found)


# ---- hold and book (never cached) -------------------------------------------------------------------


def _remembered_hold_key(request: HttpRequest, key: str) -> str:
    """Where a hold made through a plain slot key is remembered for the same client, so that a script
    which holds and then books with the listed slot (not the hold's key) books its own hold."""
    digest = hashlib.sha256(f"{abuse.client_key_for(request)}|{key}".encode()).hexdigest()
    return f"api:ind-hold:{digest}"


@api_view(methods=["POST"], group=caching.WRITE)
def hold(request: HttpRequest, desk: str, key: str, product: str | None = None) -> HttpResponse:
    location = _desk(desk)
    ref = slot_from_key(key)
    service = _slot_service(ref=ref, location=location)
    if product is not None:
        named = find_product(product)
        if named is None:
            raise ApiError(UNKNOWN_PRODUCT, 404, _("There is no such product at this desk."))
        if named.pk != service.pk:
            raise _unknown_slot()
    given = hold_input(json_object(request), key=key)
    appointment = actions.hold_slot(
        location=location,
        service=service,
        start=ref.start,
        persons=ref.persons,
        municipality=given.municipality,
        language=given.language,
        now=timezone.now(),
        client_key=abuse.client_key_for(request),
    )
    if ref.hold_id is None:
        with suppress(Exception):  # a cache that is down only loses this convenience
            cache.set(_remembered_hold_key(request, key), appointment.pk, timeout=settings.EXPATDESK_HOLD_MINUTES * 60)
    held = SlotRef(
        location_id=location.pk,
        service_id=service.pk,
        start=appointment.start,
        persons=appointment.persons,
        hold_id=appointment.pk,
    )
    body = ok_body(_slot_data(location=location, service=service, ref=held, end=appointment.end))
    return caching.private_response(HttpResponse(body, content_type=CONTENT_TYPE))


def _appointment_key(appointment: Appointment) -> str:
    return salted_hmac("expatdesk.api.ind.appointment", appointment.reference).hexdigest()[:32]


@api_view(methods=["POST"], group=caching.WRITE)
def book(request: HttpRequest, desk: str) -> HttpResponse:
    location = _desk(desk)
    given = book_input(json_object(request))
    ref = slot_from_key(given.key)
    service = _slot_service(ref=ref, location=location)
    check_matches_slot(given=given, ref=ref, location=location, service=service)
    now = timezone.now()
    details = {
        "names": given.names,
        "contact_email": given.email,
        "phone": given.phone,
        "language": given.language,
    }
    hold_id = ref.hold_id
    if hold_id is None:
        remembered = None
        with suppress(Exception):  # a cache that is down only loses this convenience
            remembered = cache.get(_remembered_hold_key(request, given.key))
        # Only a hold still to be booked: once booked or let go, the listed slot (perhaps still free on
        # another counter) is held afresh, as if nothing had been remembered.
        if (
            isinstance(remembered, int)
            and Appointment.objects.filter(
                pk=remembered, status__in=(AppointmentStatus.HELD, AppointmentStatus.EXPIRED)
            ).exists()
        ):
            hold_id = remembered
    if hold_id is not None:
        held = Appointment.objects.filter(pk=hold_id, location=location, service=service).first()
        if held is None:
            raise _unknown_slot()
        result = actions.confirm_hold(appointment=held, now=now, **details)
    else:
        # No hold yet: hold, then confirm, each its own durable action; a failed confirm lets the hold go.
        held = actions.hold_slot(
            location=location,
            service=service,
            start=ref.start,
            persons=ref.persons,
            municipality=given.municipality,
            language=given.language,
            now=now,
            client_key=abuse.client_key_for(request),
        )
        try:
            result = actions.confirm_hold(appointment=held, now=now, **details)
        except BookingError:
            with suppress(BookingError):
                actions.cancel_appointment(appointment=held, now=now, reason="API booking not completed")
            raise
    return caching.private_response(
        HttpResponse(ok_body(appointment_data(result.appointment, service=service)), content_type=CONTENT_TYPE)
    )


def appointment_data(appointment: Appointment, *, service: Service) -> dict:
    """The IND's appointment object, as its booking answer has it and its clients read it (the fields a
    client type-checks: key, version, code, productKey, date, startTime, endTime, email, hasEmail,
    phone, language, status, hasDetail, customers with firstName, lastName and fullName) plus `parts`.
    Without what the desk never keeps: no BSN, no V-number, no date of birth."""
    tz = appointment.location.tz
    people = list(appointment.people.order_by("position"))
    return {
        "key": _appointment_key(appointment),
        "version": appointment.sequence + 1,
        "code": appointment.reference,
        "productKey": product_key(service),
        "date": appointment.start.astimezone(tz).date().isoformat(),
        "startTime": appointment.start.astimezone(tz).strftime("%H:%M"),
        "endTime": appointment.end.astimezone(tz).strftime("%H:%M"),
        "parts": appointment.persons,
        "email": appointment.contact_email,
        "hasEmail": bool(appointment.contact_email),
        "phone": appointment.phone,
        "hasPhone": bool(appointment.phone),
        "language": appointment.language,
        "status": appointment.status.upper(),
        "hasDetail": True,
        "customers": [
            {
                "firstName": person.first_name,
                "lastName": person.last_name,
                "fullName": f"{person.first_name} {person.last_name}",
            }
            for person in people
        ],
    }


@csrf_exempt
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other address under /oap/api/: 404 in the error shape."""
    return error_response(not_found())
