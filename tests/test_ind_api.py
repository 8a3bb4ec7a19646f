"""The IND-compatible API under /oap/api/ (issue 6, point 1) and its load control (point 3).

The views use timezone.now(); the tests read free slots from the API itself, so they do not depend on
the day they run. Where the API is compared with availability, the expectation is computed just
before and just after the request, and the answer must equal one of them (a grid point may pass).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from io import StringIO
from urllib.parse import quote

import pytest
from django.apps import apps
from django.core.cache import cache, caches
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils import timezone

from api.ind_forms import book_input
from api.ind_keys import read_slot_key
from api.ind_responses import PREFIX, ApiError
from bookings import actions, availability
from bookings.models import Appointment, AppointmentStatus, EmailKind, OutboxEmail, Person, SlotClaim
from services.models import Service
from tests.support.configuration import forget_kept_configurations
from tests.support.factories import ServiceFactory, make_desk, offer
from tests.support.public_flow import DAY_IN_LINK, details_data, first_times_url, starts_on
from tests.support.urls import reverse

IND_DESK_KEY = "6c5280823686521552efe85094e607cf"
BSN = "123456782"
V_NUMBER = "9876543210"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Every test starts with an empty cache (slot answers, versions, rate counters) and generous limits."""
    settings.EXPATDESK_API_POLL_RATE = "10000/m"
    settings.EXPATDESK_API_WRITE_RATE = "10000/m"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bio(db) -> Service:
    return Service.objects.get(ind_product_key="BIO")


@pytest.fixture
def maastricht(db, bio):
    """The demo desk: IND key and short code MAA, three counters serving every service."""
    return make_desk(services=list(Service.objects.all()), short_code="MAA", ind_desk_key=IND_DESK_KEY)


def body(response) -> dict:
    content = response.content.decode()
    assert content.startswith(PREFIX)
    return json.loads(content[len(PREFIX) :])


def slots_url(desk: str, product: str = "BIO", persons: int | str = 1, *, slash: bool = True) -> str:
    return f"/oap/api/desks/{desk}/slots{'/' if slash else ''}?productKey={product}&persons={persons}"


def get_slots(client, desk: str = IND_DESK_KEY, product: str = "BIO", persons: int = 1) -> list[dict]:
    response = client.get(slots_url(desk, product, persons))
    assert response.status_code == 200
    answer = body(response)
    assert answer["status"] == "OK"
    return answer["data"]


def post_json(client, url: str, payload, **extra):
    raw = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(url, data=raw, content_type="application/json", **extra)


def booking_payload(slot: dict, *, persons: int = 1, **appointment) -> dict:
    return {
        "bookableSlot": slot,
        "appointment": {
            "date": slot["date"],
            "startTime": slot["startTime"],
            "endTime": slot["endTime"],
            "parts": slot["parts"],
            "productKey": "BIO",
            "email": "jane@example.org",
            "phone": "+31 6 12345678",
            "language": "en",
            "customers": [
                {"firstName": f"Jane{n}", "lastName": f"Doe-{n}", "bsn": BSN, "vNumber": V_NUMBER}
                for n in range(1, persons + 1)
            ],
            **appointment,
        },
    }


def expected_slots(*, location, service, persons, now) -> list[tuple[str, str, str, int]]:
    today = now.astimezone(location.tz).date()
    by_day = availability.free_slots(
        location=location,
        service=service,
        persons=persons,
        start_date=today,
        end_date=today + timedelta(days=service.booking_horizon_days),
        now=now,
    )
    tz = location.tz
    return [
        (day.isoformat(), s.start.astimezone(tz).strftime("%H:%M"), s.end.astimezone(tz).strftime("%H:%M"), persons)
        for day in sorted(by_day)
        for s in by_day[day]
    ]


def as_tuples(data: list[dict]) -> list[tuple[str, str, str, int]]:
    return [(s["date"], s["startTime"], s["endTime"], s["parts"]) for s in data]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.content.startswith(b")]}',\n")
    answer = body(response)
    assert answer == {"status": "ERROR", "errorCode": code}  # exactly the IND's shape (issue 11): no `data`
    return answer


def refused_fields(payload: dict) -> dict[str, str]:
    """The fields the booking input check names (the IND's error shape carries only the code)."""
    with pytest.raises(ApiError) as refused:
        book_input(payload)
    assert refused.value.code == "INVALID_INPUT"
    return refused.value.fields


# ---- the prefix and the way public scripts parse -------------------------------------------------


def test_every_answer_starts_with_the_exact_prefix_bytes(client, maastricht):
    responses = [
        client.get("/oap/api/desks/?productKey=BIO"),
        client.get(slots_url(IND_DESK_KEY)),
        client.get(slots_url("NOPE")),
        client.get("/oap/api/nothing/here"),
    ]
    slot = body(responses[1])["data"][0]
    responses.append(post_json(client, f"/oap/api/desks/{IND_DESK_KEY}/slots/{slot['key']}", slot))
    held = body(responses[-1])["data"]
    responses.append(post_json(client, f"/oap/api/desks/{IND_DESK_KEY}/appointments", booking_payload(held)))
    for response in responses:
        assert response.content[:6] == b")]}',\n"
        assert bytes(response.content[:6]) == bytes([0x29, 0x5D, 0x7D, 0x27, 0x2C, 0x0A])
    assert [r.status_code for r in responses] == [200, 200, 404, 404, 200, 200]


def test_a_script_written_for_the_ind_finds_the_earliest_slot(client, maastricht, bio):
    """Parsed as the public scripts do: cut six characters (or strip the prefix), json.loads, data[0]."""
    before = timezone.now()
    response = client.get(f"/oap/api/desks/{IND_DESK_KEY}/slots/?productKey=BIO&persons=1")
    after = timezone.now()
    text = response.content.decode("utf-8")
    cut = json.loads(text[6:])
    stripped = json.loads(text.removeprefix(")]}',").lstrip())
    assert cut == stripped
    assert cut["status"] == "OK"
    earliest = cut["data"][0]
    everything = [(s["date"], s["startTime"]) for s in cut["data"]]
    assert (earliest["date"], earliest["startTime"]) == min(everything)
    assert everything == sorted(everything)
    assert set(earliest) == {"key", "date", "startTime", "endTime", "parts"}
    first_expected = [expected_slots(location=maastricht, service=bio, persons=1, now=t)[0] for t in (before, after)]
    assert as_tuples([earliest])[0] in first_expected


# ---- desks -------------------------------------------------------------------------------------


def test_desks_by_product_key(client, maastricht, bio):
    other = make_desk(services=[ServiceFactory()], short_code="HRL")  # does not offer BIO
    response = client.get("/oap/api/desks/?productKey=BIO")
    assert response.status_code == 200
    assert body(response) == {"status": "OK", "data": [{"key": IND_DESK_KEY, "version": 1, "name": maastricht.name}]}
    assert client.get("/oap/api/desks?productKey=BIO").content == response.content
    # A desk without an IND key is named by its short code; a service without an IND key by its code.
    own = Service.objects.get(code="registration-eu")
    for counter in other.counters.all():
        counter.services.add(own)
        offer(counter.location, [own])
    data = body(client.get("/oap/api/desks/?productKey=REGISTRATION-EU"))["data"]
    assert {desk["key"] for desk in data} == {IND_DESK_KEY, "HRL"}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "PRODUCT_KEY_REQUIRED"),
        ("?productKey=", 400, "PRODUCT_KEY_REQUIRED"),
    ],
)
def test_desks_bad_product(client, maastricht, query, status, code):
    assert_error(client.get(f"/oap/api/desks/{query}"), status, code)


@pytest.mark.parametrize("product", ["TKV", "XYZ", "%00"])
def test_desks_for_a_product_nobody_offers_is_the_empty_list(client, maastricht, product):
    """As the IND answers (issue 11): an empty list, not a 404 (a client iterating over it crashed)."""
    response = client.get(f"/oap/api/desks/?productKey={product}")
    assert response.status_code == 200
    assert body(response) == {"status": "OK", "data": []}


# ---- slots -------------------------------------------------------------------------------------


def test_slots_answer_to_the_ind_key_and_the_short_code_with_and_without_the_slash(client, maastricht):
    answers = {
        client.get(slots_url(desk, slash=slash)).content for desk in (IND_DESK_KEY, "MAA") for slash in (True, False)
    }
    assert len(answers) == 1
    data = json.loads(answers.pop()[6:])["data"]
    assert data
    for slot in data:
        ref = read_slot_key(slot["key"])
        assert ref is not None
        assert (ref.location_id, ref.persons, ref.hold_id) == (maastricht.pk, 1, None)
        local = ref.start.astimezone(maastricht.tz)
        assert (local.date().isoformat(), local.strftime("%H:%M")) == (slot["date"], slot["startTime"])


def test_a_slot_keeps_its_key_from_one_answer_to_the_next(client, maastricht, settings, monkeypatch):
    """Keys carry no signing time: a minute later (per the clock signatures read) the answer is the same."""
    settings.EXPATDESK_SLOT_CACHE_SECONDS = 0  # computed afresh each time
    first = client.get(slots_url(IND_DESK_KEY))
    cache.clear()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 60)
    second = client.get(slots_url(IND_DESK_KEY))
    assert first.content == second.content
    assert first["ETag"] == second["ETag"]


def test_the_persons_parameter_changes_the_answer(client, maastricht):
    answers = {persons: get_slots(client, persons=persons) for persons in range(1, 7)}
    for persons, data in answers.items():
        assert data
        assert {slot["parts"] for slot in data} == {persons}
    # Three counters: four or more persons need a second round, so their slots end later.
    assert as_tuples(answers[1]) != as_tuples(answers[4])
    assert answers[1][0]["endTime"] != answers[4][0]["endTime"]
    assert len(answers[6]) < len(answers[1])  # the last start of each opening interval no longer fits 6


def test_the_slots_offered_are_exactly_the_times_the_web_flow_offers(client, maastricht):
    for service in Service.objects.all():
        key = service.ind_product_key or service.code.upper()
        for persons in range(1, 7):
            before = timezone.now()
            response = client.get(slots_url("MAA", quote(key), persons))
            after = timezone.now()
            assert response.status_code == 200, (service.code, persons)
            offered = as_tuples(body(response)["data"])
            expected = [
                expected_slots(location=maastricht, service=service, persons=persons, now=t) for t in (before, after)
            ]
            assert offered in expected, (service.code, persons)
            if persons > service.max_persons:
                assert offered == []


@pytest.mark.parametrize("persons", [1, 2, 6])
def test_the_first_day_of_the_api_matches_the_web_times_page(client, maastricht, bio, persons):
    """The web flow's own pages (questions → calendar → times) list the same starts for a day as the API."""
    response = client.post(reverse("bookings:questions", kwargs={"service_code": bio.code}), {"persons": persons})
    times_url = first_times_url(client, response["Location"])
    web_starts = starts_on(client, times_url)
    data = get_slots(client, persons=persons)
    day = DAY_IN_LINK.search(times_url).group(1)  # the web flow's first day after today (tests/support)
    api_starts = [read_slot_key(slot["key"]).start for slot in data if slot["date"] == day]
    assert api_starts
    assert [timezone.datetime.fromisoformat(value) for value in web_starts] == api_starts


# ---- bad input: the error shape and a 4xx, never a 5xx --------------------------------------------


def _a_slot(client) -> dict:
    return get_slots(client)[0]


def test_slots_bad_input(client, maastricht):
    assert_error(client.get(slots_url("NOPE")), 404, "UNKNOWN_DESK")
    assert_error(client.get(slots_url(IND_DESK_KEY, "XYZ")), 404, "UNKNOWN_PRODUCT")
    assert_error(client.get(f"/oap/api/desks/{IND_DESK_KEY}/slots/"), 400, "PRODUCT_KEY_REQUIRED")
    for persons in ("0", "7", "x", "-1", "1.5", "", "%C2%B2"):
        assert_error(client.get(slots_url(IND_DESK_KEY, persons=persons)), 400, "INVALID_PERSONS")
    assert_error(client.post(slots_url(IND_DESK_KEY)), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.delete(slots_url(IND_DESK_KEY)), 405, "METHOD_NOT_ALLOWED")


def test_an_inactive_desk_or_product_is_unknown(client, maastricht, bio):
    Service.objects.filter(pk=bio.pk).update(is_active=False)
    assert_error(client.get(slots_url(IND_DESK_KEY)), 404, "UNKNOWN_PRODUCT")
    Service.objects.filter(pk=bio.pk).update(is_active=True)
    type(maastricht).objects.filter(pk=maastricht.pk).update(is_active=False)
    assert_error(client.get(slots_url(IND_DESK_KEY)), 404, "UNKNOWN_DESK")


def test_hold_bad_input(client, maastricht):
    slot = _a_slot(client)
    key = slot["key"]
    url = f"/oap/api/desks/{IND_DESK_KEY}/slots/{key}"
    tampered = key[:-3] + ("AAA" if not key.endswith("AAA") else "BBB")
    assert_error(post_json(client, f"/oap/api/desks/NOPE/slots/{key}", slot), 404, "UNKNOWN_DESK")
    assert_error(post_json(client, f"/oap/api/desks/{IND_DESK_KEY}/slots/garbage", slot), 400, "INVALID_KEY")
    assert_error(post_json(client, f"/oap/api/desks/{IND_DESK_KEY}/slots/{tampered}", slot), 400, "INVALID_KEY")
    assert_error(post_json(client, url, "{not json"), 400, "INVALID_JSON")
    assert_error(post_json(client, url, "[1, 2]"), 400, "INVALID_JSON")
    assert_error(client.post(url, CONTENT_TYPE="application/json"), 400, "INVALID_JSON")  # an empty body
    assert_error(client.post(url), 415, "UNSUPPORTED_MEDIA_TYPE")  # an empty body, no Content-Type
    assert_error(post_json(client, url, {**slot, "key": "other"}), 400, "INVALID_INPUT")
    assert_error(post_json(client, url, {**slot, "language": "fr"}), 400, "INVALID_INPUT")
    assert_error(client.get(url), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.put(url), 405, "METHOD_NOT_ALLOWED")
    assert_error(post_json(client, f"/oap/api/desks/XYZ/{IND_DESK_KEY}/slots/{key}", slot), 404, "UNKNOWN_PRODUCT")
    assert_error(post_json(client, f"/oap/api/desks/DOC/{IND_DESK_KEY}/slots/{key}", slot), 404, "UNKNOWN_SLOT")
    # A key of another desk is no slot of this one.
    other = make_desk(services=list(Service.objects.all()), short_code="HRL")
    assert_error(post_json(client, f"/oap/api/desks/{other.short_code}/slots/{key}", slot), 404, "UNKNOWN_SLOT")
    assert not Appointment.objects.exists()


def test_a_taken_slot(client, service):
    """One counter: once the slot is held (through the API or the web), the next hold gets APT_TAKEN."""
    single = make_desk(services=[service], counters=1, short_code="ONE")
    data = get_slots(client, desk="ONE", product=service.code.upper())
    slot = data[0]
    url = f"/oap/api/desks/ONE/slots/{slot['key']}"
    assert post_json(client, url, slot).status_code == 200
    other = Client(REMOTE_ADDR="10.0.0.7")  # another client: the first one's hold is not theirs
    assert_error(post_json(other, url, slot), 409, "APT_TAKEN")
    booked = post_json(other, "/oap/api/desks/ONE/appointments", booking_payload(slot, productKey=""))
    assert_error(booked, 409, "APT_TAKEN")
    assert Appointment.objects.filter(location=single, status=AppointmentStatus.HELD).count() == 1
    assert not Appointment.objects.filter(status=AppointmentStatus.BOOKED).exists()


def test_book_bad_input(client, maastricht):
    slot = _a_slot(client)
    url = f"/oap/api/desks/{IND_DESK_KEY}/appointments"
    good = booking_payload(slot)
    assert_error(post_json(client, "/oap/api/desks/NOPE/appointments", good), 404, "UNKNOWN_DESK")
    assert_error(post_json(client, url, "{"), 400, "INVALID_JSON")
    assert_error(post_json(client, url, b"\xff\xfe"), 400, "INVALID_JSON")
    assert_error(post_json(client, url, "null"), 400, "INVALID_JSON")
    assert_error(post_json(client, url, {}), 400, "INVALID_INPUT")
    assert_error(post_json(client, url, {**good, "bookableSlot": {**slot, "key": "garbage"}}), 400, "INVALID_KEY")
    assert_error(post_json(client, url, {**good, "bookableSlot": "x"}), 400, "INVALID_INPUT")
    for change in (
        {"email": "not-an-address"},
        {"email": None},
        {"phone": "call me"},
        {"language": "xx"},
        {"customers": []},
        {"customers": [{"firstName": "", "lastName": "Doe"}]},
        {"customers": [{"firstName": "Jane"}]},
        {"customers": ["Jane Doe"]},
        {"customers": [{"firstName": "J" * 101, "lastName": "Doe"}]},
        {"parts": "one"},
    ):
        assert_error(post_json(client, url, booking_payload(slot, **change)), 400, "INVALID_INPUT")
        assert refused_fields(booking_payload(slot, **change))
    assert_error(post_json(client, url, booking_payload(slot, parts=2)), 400, "SLOT_MISMATCH")
    assert_error(post_json(client, url, booking_payload(slot, productKey="DOC")), 400, "SLOT_MISMATCH")
    assert_error(post_json(client, url, booking_payload(slot, date="2000-01-01")), 400, "SLOT_MISMATCH")
    assert_error(post_json(client, url, booking_payload(slot, persons=2)), 400, "NAMES_MISMATCH")
    assert_error(client.get(url), 405, "METHOD_NOT_ALLOWED")
    assert not Appointment.objects.exists()


def test_unknown_addresses_under_the_api(client, maastricht):
    for url in ("/oap/api/", "/oap/api/desks/x/y", "/oap/api/desks/x/slots/k/more"):
        assert_error(client.get(url), 404, "NOT_FOUND")


def test_a_service_that_needs_a_municipality(client, maastricht):
    slot = get_slots(client, product="REGISTRATION-EU")[0]
    url = f"/oap/api/desks/MAA/slots/{slot['key']}"
    assert_error(post_json(client, url, slot), 400, "MUNICIPALITY_REQUIRED")
    response = post_json(client, url, {**slot, "municipality": "Maastricht"})
    assert response.status_code == 200
    assert Appointment.objects.get().municipality == "Maastricht"


# ---- hold and book: the same appointment as the web flow ----------------------------------------


def appointment_shape(appointment: Appointment) -> dict:
    return {
        "location": appointment.location_id,
        "service": appointment.service_id,
        "start": appointment.start,
        "end": appointment.end,
        "persons": appointment.persons,
        "status": appointment.status,
        "email": appointment.contact_email,
        "phone": appointment.phone,
        "language": appointment.language,
        "municipality": appointment.municipality,
        "people": list(
            Person.objects.filter(appointment=appointment)
            .order_by("position")
            .values_list("position", "first_name", "last_name")
        ),
        "claims": SlotClaim.objects.filter(appointment=appointment, expires_at__isnull=True).count(),
        "has_manage_token": bool(appointment.manage_token_hash),
        "emails": list(OutboxEmail.objects.filter(appointment=appointment).values_list("kind", flat=True)),
        "reference_prefix": appointment.reference.split("-")[0],
    }


@pytest.mark.parametrize("persons", [1, 3])
def test_hold_and_book_through_the_api_make_the_same_appointment_as_the_web_flow(
    client, maastricht, bio, persons, django_capture_on_commit_callbacks
):
    # The web flow: questions → calendar → times → hold → details.
    web = client.post(reverse("bookings:questions", kwargs={"service_code": bio.code}), {"persons": persons})
    times_url = first_times_url(client, web["Location"])
    start = starts_on(client, times_url)[0]
    client.post(reverse("bookings:hold", kwargs={"service_code": bio.code}), {"persons": persons, "start": start})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bookings:details"), details_data(persons))
    assert response.status_code == 302
    by_web = Appointment.objects.get(status=AppointmentStatus.BOOKED)
    actions.cancel_appointment(appointment=by_web, now=timezone.now())  # its time is free again for the API

    # The API: the same slot, held, then booked with the hold's key.
    slot = next(s for s in get_slots(client, persons=persons) if read_slot_key(s["key"]).start == by_web.start)
    held = post_json(client, f"/oap/api/desks/{IND_DESK_KEY}/slots/{slot['key']}", slot)
    assert held.status_code == 200
    assert held["Cache-Control"] == "no-store"
    held_slot = body(held)["data"]
    assert read_slot_key(held_slot["key"]).hold_id is not None
    assert {k: held_slot[k] for k in ("date", "startTime", "endTime", "parts")} == {
        k: slot[k] for k in ("date", "startTime", "endTime", "parts")
    }
    payload = booking_payload(held_slot, persons=persons)
    for n, customer in enumerate(payload["appointment"]["customers"], start=1):
        customer.update(firstName=f"Jane{n}", lastName=f"Doe-{n}")
    with django_capture_on_commit_callbacks(execute=True):
        booked = post_json(client, f"/oap/api/desks/{IND_DESK_KEY}/appointments", payload)
    assert booked.status_code == 200
    assert booked["Cache-Control"] == "no-store"
    data = body(booked)["data"]
    by_api = Appointment.objects.get(status=AppointmentStatus.BOOKED)
    assert by_api.pk != by_web.pk
    assert data["code"] == by_api.reference
    assert {k: data[k] for k in ("productKey", "date", "startTime", "endTime", "parts", "status")} == {
        "productKey": "BIO",
        "date": slot["date"],
        "startTime": slot["startTime"],
        "endTime": slot["endTime"],
        "parts": persons,
        "status": "BOOKED",
    }
    assert len(data["key"]) == 32
    web_shape = appointment_shape(by_web)
    web_shape.update(status=AppointmentStatus.BOOKED, emails=[EmailKind.CONFIRMATION])  # before its cancellation
    web_shape["claims"] = persons * availability.units_per_person(location=maastricht, service=bio)
    assert appointment_shape(by_api) == web_shape
    confirmation = OutboxEmail.objects.get(appointment=by_api, kind=EmailKind.CONFIRMATION)
    assert confirmation.status == "sent"


def test_booking_with_a_plain_slot_key_holds_and_confirms(client, maastricht, django_capture_on_commit_callbacks):
    slot = _a_slot(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, "/oap/api/desks/MAA/appointments", booking_payload(slot))
    assert response.status_code == 200
    appointment = Appointment.objects.get()
    assert appointment.status == AppointmentStatus.BOOKED
    assert OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.CONFIRMATION).exists()


def test_a_script_that_holds_then_books_the_listed_slot_books_its_own_hold(client, service):
    """Some scripts post the listed slot (not the hold's answer) to book: from the same address, that
    books their hold instead of racing against it on a one-counter desk."""
    make_desk(services=[service], counters=1, short_code="ONE")
    slot = get_slots(client, desk="ONE", product=service.code.upper())[0]
    assert post_json(client, f"/oap/api/desks/ONE/slots/{slot['key']}", slot).status_code == 200
    response = post_json(client, "/oap/api/desks/ONE/appointments", booking_payload(slot, productKey=""))
    assert response.status_code == 200
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED
    # Booking the listed slot again: the hold is used, the one counter is taken: the IND's APT_TAKEN
    # (issue 11: not our INVALID_STATUS).
    again = post_json(client, "/oap/api/desks/ONE/appointments", booking_payload(slot, productKey=""))
    assert_error(again, 409, "APT_TAKEN")
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 1


def test_the_listed_slot_still_free_after_ones_own_booking_is_booked_afresh(client, maastricht, settings):
    """Issue 11: right after one's own booking from the same address, a slot still listed as free (another
    counter at that time) is held and booked afresh, not refused as INVALID_STATUS; with the rule of one
    booking per mailbox and product it is the IND's SIMILAR_APT_EXISTS."""
    slot = _a_slot(client)
    url = "/oap/api/desks/MAA/appointments"
    assert post_json(client, f"/oap/api/desks/MAA/slots/{slot['key']}", slot).status_code == 200
    assert post_json(client, url, booking_payload(slot)).status_code == 200
    assert slot in get_slots(client)  # two counters left at that time
    second = post_json(client, url, booking_payload(slot, email="john@example.org"))
    assert second.status_code == 200, second.content
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 2
    settings.EXPATDESK_ONE_BOOKING_PER_EMAIL = True
    assert_error(post_json(client, url, booking_payload(slot, email="john@example.org")), 409, "SIMILAR_APT_EXISTS")


def test_a_failed_confirmation_lets_the_new_hold_go(client, maastricht, monkeypatch):
    slot = _a_slot(client)

    def refuse(**kwargs):
        raise actions.BookingError("similar_appointment_exists", "You already have an appointment like this.")

    monkeypatch.setattr(actions, "confirm_hold", refuse)
    response = post_json(client, "/oap/api/desks/MAA/appointments", booking_payload(slot))
    assert_error(response, 409, "SIMILAR_APT_EXISTS")
    appointment = Appointment.objects.get()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert not SlotClaim.objects.filter(appointment=appointment).exists()


def test_bsn_and_v_number_are_accepted_and_dropped(client, maastricht, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    slot = _a_slot(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            client, f"/oap/api/desks/{IND_DESK_KEY}/appointments", booking_payload(slot, bsn=BSN, vNumber=V_NUMBER)
        )
    assert response.status_code == 200
    assert BSN.encode() not in response.content and V_NUMBER.encode() not in response.content
    for model in apps.get_models():
        text_fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
        ]
        for name in text_fields:
            if isinstance(model._meta.get_field(name), models.JSONField):  # no `contains` of text on SQLite
                stored = repr(list(model._default_manager.values_list(name, flat=True)))
                assert BSN not in stored and V_NUMBER not in stored, (model, name)
                continue
            for secret in (BSN, V_NUMBER):
                assert not model._default_manager.filter(**{f"{name}__contains": secret}).exists(), (model, name)
    for record in caplog.records:
        logged = record.getMessage() + repr(record.args) + repr(getattr(record, "__dict__", {}))
        assert BSN not in logged and V_NUMBER not in logged
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


# ---- caching, ETag, rate limits --------------------------------------------------------------------


def test_slot_answers_are_shared_for_a_few_seconds_with_an_etag(client, maastricht, settings):
    first = client.get(slots_url(IND_DESK_KEY))
    assert first["Cache-Control"] == f"public, max-age={settings.EXPATDESK_SLOT_CACHE_SECONDS}"
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    # Another client, same question: the same bytes from the cache, no new computation.
    other = Client(REMOTE_ADDR="10.0.0.2")
    second = other.get(slots_url("MAA"))
    assert second.content == first.content and second["ETag"] == etag
    not_modified = other.get(slots_url(IND_DESK_KEY), HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert other.get(slots_url(IND_DESK_KEY), HTTP_IF_NONE_MATCH='"stale"').status_code == 200
    # Another number of persons is another answer.
    assert client.get(slots_url(IND_DESK_KEY, persons=4))["ETag"] != etag


def test_a_cached_answer_is_served_without_queries(client, maastricht, django_assert_num_queries):
    client.get(slots_url(IND_DESK_KEY))
    with django_assert_num_queries(0):  # desk, product and slots: all from the cache
        client.get(slots_url(IND_DESK_KEY))


def test_after_a_booking_the_cached_answer_no_longer_offers_that_slot(
    client, service, django_capture_on_commit_callbacks
):
    make_desk(services=[service], counters=1, short_code="ONE")
    product = service.code.upper()
    first = client.get(slots_url("ONE", product))
    slot = body(first)["data"][0]
    assert body(client.get(slots_url("ONE", product))) == body(first)  # cached
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, "/oap/api/desks/ONE/appointments", booking_payload(slot, productKey=product))
    assert response.status_code == 200
    after = client.get(slots_url("ONE", product))
    assert slot["key"] not in {s["key"] for s in body(after)["data"]}
    assert client.get(slots_url("ONE", product), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_a_cancellation_elsewhere_drops_the_cached_answer(client, service, django_capture_on_commit_callbacks):
    desk = make_desk(services=[service], counters=1, short_code="ONE")
    product = service.code.upper()
    slot = body(client.get(slots_url("ONE", product)))["data"][0]
    start = read_slot_key(slot["key"]).start
    with django_capture_on_commit_callbacks(execute=True):
        result = actions.book_appointment(
            location=desk, service=service, start=start, names=[actions.PersonName("A", "B")], now=timezone.now()
        )
    assert slot["key"] not in {s["key"] for s in body(client.get(slots_url("ONE", product)))["data"]}
    with django_capture_on_commit_callbacks(execute=True):
        actions.cancel_appointment(appointment=result.appointment, now=timezone.now())
    assert slot["key"] in {s["key"] for s in body(client.get(slots_url("ONE", product)))["data"]}


def test_polling_is_rate_limited_per_client_with_retry_after(client, maastricht, settings):
    """Computed answers are counted; a cached one is not (issue 11: checkers poll cached answers)."""
    settings.EXPATDESK_API_POLL_RATE = "3/m"
    for persons in (1, 2, 3):
        assert client.get(slots_url(IND_DESK_KEY, persons=persons)).status_code == 200
    assert client.get(slots_url(IND_DESK_KEY, persons=1)).status_code == 200  # cached: not counted
    limited = client.get(slots_url(IND_DESK_KEY, persons=4))
    assert_error(limited, 429, "RATE_LIMITED")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["Cache-Control"] == "no-store"
    assert_error(client.get("/oap/api/desks/?productKey=BIO"), 429, "RATE_LIMITED")
    # Another client is not limited by this one.
    assert Client(REMOTE_ADDR="10.0.0.9").get(slots_url(IND_DESK_KEY, persons=4)).status_code == 200


def test_writes_are_rate_limited_separately(client, maastricht, settings):
    settings.EXPATDESK_API_WRITE_RATE = "1/m"
    slot = _a_slot(client)
    url = f"/oap/api/desks/{IND_DESK_KEY}/slots/{slot['key']}"
    assert post_json(client, url, slot).status_code == 200
    limited = post_json(client, url, slot)
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited["Retry-After"]) >= 1
    assert Appointment.objects.count() == 1
    assert client.get(slots_url(IND_DESK_KEY)).status_code == 200  # polling has its own budget


def test_the_api_and_the_actions_keep_working_while_the_cache_is_down(
    client, maastricht, monkeypatch, django_capture_on_commit_callbacks
):
    slot = _a_slot(client)  # a version of the location is now in the cache
    backend = caches["default"]

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in ("get", "set", "add", "incr", "get_many", "delete"):
        monkeypatch.setattr(backend, method, down)
    assert client.get(slots_url(IND_DESK_KEY)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, f"/oap/api/desks/{IND_DESK_KEY}/appointments", booking_payload(slot))
    assert response.status_code == 200
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_a_second_booking_for_the_same_email_and_service_is_similar_apt_exists(
    client, maastricht, settings, django_capture_on_commit_callbacks
):
    settings.EXPATDESK_ONE_BOOKING_PER_EMAIL = True  # off in the test settings
    first, second = get_slots(client)[:2]
    url = f"/oap/api/desks/{IND_DESK_KEY}/appointments"
    with django_capture_on_commit_callbacks(execute=True):
        assert post_json(client, url, booking_payload(first)).status_code == 200
    assert_error(post_json(client, url, booking_payload(second)), 409, "SIMILAR_APT_EXISTS")
    # The hold made for it was let go: only the first booking holds counter time.
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 1
    assert not Appointment.objects.filter(status=AppointmentStatus.HELD).exists()


def test_holds_per_client_are_capped_with_too_many_holds(client, maastricht, settings):
    settings.EXPATDESK_MAX_HOLDS_PER_IP = 2
    data = get_slots(client)[:3]
    for slot in data[:2]:
        assert post_json(client, f"/oap/api/desks/MAA/slots/{slot['key']}", slot).status_code == 200
    refused = post_json(client, f"/oap/api/desks/MAA/slots/{data[2]['key']}", data[2])
    assert_error(refused, 429, "TOO_MANY_HOLDS")
    assert int(refused["Retry-After"]) == settings.EXPATDESK_HOLD_MINUTES * 60
    assert (
        Client(REMOTE_ADDR="10.0.0.3")
        .post(f"/oap/api/desks/MAA/slots/{data[2]['key']}", data=json.dumps(data[2]), content_type="application/json")
        .status_code
        == 200
    )


def test_a_fresh_slot_answer_costs_the_same_few_queries_however_many_bookings(
    client, maastricht, bio, django_assert_num_queries
):
    # The desk, its product and the configuration's version in one; then availability's five as in a new
    # process (counters, opening hours, closures; the days' claims versions and holds, and their lasting claims).
    forget_kept_configurations()
    with django_assert_num_queries(6):
        data = get_slots(client)
    for slot in data[:8]:
        actions.book_appointment(
            location=maastricht,
            service=bio,
            start=read_slot_key(slot["key"]).start,
            names=[actions.PersonName("A", "B")] * 3,  # all three counters at that time
            now=timezone.now(),
        )
    cache.clear()
    forget_kept_configurations()
    with django_assert_num_queries(6):  # as many, however many bookings
        changed = get_slots(client)
    assert changed != data
    cache.clear()
    with django_assert_num_queries(2):  # the configuration and the days' lasting claims kept
        assert get_slots(client) == changed


def test_a_script_for_the_ind_finds_the_demo_desks_biometrics_slots(client, db):
    """Done-when of issue 6: the seeded demo desk answers to the IND's Maastricht key; a script that asks
    for the desks offering BIO and then their slots finds free biometrics times."""
    call_command("seed_demo", "--force", stdout=StringIO())
    desks = json.loads(client.get("/oap/api/desks/?productKey=BIO").content.decode()[6:])["data"]
    assert IND_DESK_KEY in [desk["key"] for desk in desks]
    answer = json.loads(client.get(f"/oap/api/desks/{IND_DESK_KEY}/slots/?productKey=BIO&persons=1").content[6:])
    assert answer["status"] == "OK"
    assert answer["data"], "the demo desk offers no biometrics slot"
    assert answer["data"][0]["parts"] == 1


def test_nul_characters_and_deep_json_are_refused_not_crashed_on(client, maastricht):
    """PostgreSQL refuses NUL in text: such input must be a 4xx, never a query that fails with a 500."""
    assert_error(client.get(slots_url("%00")), 404, "UNKNOWN_DESK")
    assert_error(client.get(slots_url(IND_DESK_KEY, "B%00IO")), 404, "UNKNOWN_PRODUCT")
    assert body(client.get("/oap/api/desks/?productKey=%00")) == {"status": "OK", "data": []}
    slot = _a_slot(client)
    url = f"/oap/api/desks/{IND_DESK_KEY}/appointments"
    nul_name = booking_payload(slot, customers=[{"firstName": "Ja\x00ne", "lastName": "Doe"}])
    assert_error(post_json(client, url, nul_name), 400, "INVALID_INPUT")
    assert "appointment.customers[0].firstName" in refused_fields(nul_name)
    nul_municipality = booking_payload(slot, municipality="Maas\x00tricht")
    assert_error(post_json(client, url, nul_municipality), 400, "INVALID_INPUT")
    assert list(refused_fields(nul_municipality)) == ["appointment.municipality"]
    hold_url = f"/oap/api/desks/{IND_DESK_KEY}/slots/{slot['key']}"
    assert_error(post_json(client, hold_url, {**slot, "municipality": "\x00"}), 400, "INVALID_INPUT")
    assert_error(post_json(client, url, "[" * 100_000 + "]" * 100_000), 400, "INVALID_JSON")
    assert not Appointment.objects.exists()


def test_the_json_posts_need_no_csrf_token(maastricht, django_capture_on_commit_callbacks):
    """No cookies, session or login in this API: a script posts without a CSRF token and is not refused."""
    strict = Client(enforce_csrf_checks=True)
    slot = get_slots(strict)[0]
    held = post_json(strict, f"/oap/api/desks/{IND_DESK_KEY}/slots/{slot['key']}", slot)
    assert held.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        booked = post_json(strict, f"/oap/api/desks/{IND_DESK_KEY}/appointments", booking_payload(body(held)["data"]))
    assert booked.status_code == 200
    assert "sessionid" not in booked.cookies and "csrftoken" not in booked.cookies
