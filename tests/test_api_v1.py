"""Our own API at /api/v1/: every endpoint's answer, its bad input, and the booking round trip.

Views use timezone.now(); the tests ask availability for the same days with their own `now` and use days
after today, so the answers do not depend on the minute the test runs.
"""

import json
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.utils import timezone

from api.v1 import tokens
from bookings import actions, availability
from bookings.actions import PersonName
from bookings.models import Appointment, AppointmentStatus, EmailKind, OutboxEmail, SlotClaim
from tests.support.factories import ServiceFactory, offer
from tests.support.urls import reverse

V1 = "/api/v1"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # the rate-limit counters live in the cache
    yield
    cache.clear()


def error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def post_json(client, path: str, data, **extra):
    return client.post(path, data=json.dumps(data), content_type="application/json", **extra)


def future_days(desk, service, persons: int = 1) -> list:
    now = timezone.now()
    today = now.astimezone(desk.tz).date()
    days = availability.free_days(
        location=desk,
        service=service,
        persons=persons,
        start_date=today + timedelta(days=1),
        end_date=today + timedelta(days=service.booking_horizon_days),
        now=now,
    )
    assert days, "the desk offers no day"
    return days


def free_starts(desk, service, day, persons: int = 1) -> list:
    slots = availability.free_slots(
        location=desk, service=service, persons=persons, start_date=day, end_date=day, now=timezone.now()
    )[day]
    return [slot.start for slot in slots]


def hold(client, desk, service, start, persons: int = 1, **extra):
    data = {"location": desk.short_code, "service": service.code, "start": start.isoformat(), "persons": persons}
    return post_json(client, f"{V1}/holds/", {**data, **extra})


def hold_with(client, desk, service, start, change: dict):
    data = {"location": desk.short_code, "service": service.code, "start": start.isoformat(), "persons": 1}
    return post_json(client, f"{V1}/holds/", {**data, **change})


def names(persons: int) -> list[dict]:
    return [{"first_name": f"Jane{n}", "last_name": f"Doe-{n}"} for n in range(1, persons + 1)]


def book(client, hold_token: str, persons: int = 1, **extra):
    data = {
        "hold_token": hold_token,
        "names": names(persons),
        "email": "jane@example.org",
        "phone": "+31 6 12345678",
        "language": "en",
        "consent": True,
    }
    return post_json(client, f"{V1}/bookings/", {**data, **extra})


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# ---- catalogue ------------------------------------------------------------------------------


def test_services_list_and_detail(client, desk, service):
    inactive = ServiceFactory(is_active=False)
    response = client.get(f"{V1}/services/")
    assert response.status_code == 200
    codes = [item["code"] for item in response.json()]
    assert service.code in codes and inactive.code not in codes
    detail = client.get(f"{V1}/services/{service.code}/").json()
    assert detail["name"] == service.name_en and detail["max_persons"] == service.max_persons
    assert client.get(f"{V1}/services/{service.code}/", HTTP_ACCEPT_LANGUAGE="nl").json()["name"] == service.name_nl
    error_shape(client.get(f"{V1}/services/no-such-service/"), 404, "not_found")
    error_shape(client.get(f"{V1}/services/{inactive.code}/"), 404, "not_found")


def test_locations_list_and_detail(client, desk, service):
    response = client.get(f"{V1}/locations/")
    assert response.status_code == 200
    [location] = response.json()
    assert location["short_code"] == desk.short_code
    assert location["services"] == [service.code]
    assert len(location["opening_hours"]) == 6
    assert client.get(f"{V1}/locations/{desk.short_code}/").json() == location
    error_shape(client.get(f"{V1}/locations/NOPE/"), 404, "not_found")


def test_catalogue_costs_a_constant_number_of_queries(client, desk, service, django_assert_max_num_queries):
    for extra in range(3):
        ServiceFactory()
    with django_assert_max_num_queries(4):
        assert client.get(f"{V1}/locations/").status_code == 200
    with django_assert_max_num_queries(1):
        assert client.get(f"{V1}/services/").status_code == 200


# ---- free days and times --------------------------------------------------------------------


def test_free_days_match_availability(client, desk, service):
    now = timezone.now()
    today = now.astimezone(desk.tz).date()
    last = today + timedelta(days=service.booking_horizon_days)
    response = client.get(f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/", {"persons": 2})
    assert response.status_code == 200
    body = response.json()
    expected = availability.free_days(
        location=desk, service=service, persons=2, start_date=today + timedelta(days=1), end_date=last, now=now
    )
    assert [d for d in body["days"] if d > today.isoformat()] == [d.isoformat() for d in expected]
    assert body["start_date"] == today.isoformat() and body["end_date"] == last.isoformat()
    month = expected[0].strftime("%Y-%m")
    by_month = client.get(
        f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/", {"persons": 2, "month": month}
    ).json()
    assert by_month["days"] and all(day.startswith(month) for day in by_month["days"])
    in_range = client.get(
        f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/",
        {"start_date": expected[0].isoformat(), "end_date": expected[0].isoformat()},
    ).json()
    assert in_range["days"] == [expected[0].isoformat()]
    far = client.get(
        f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/", {"month": "2199-01"}
    ).json()
    assert far["days"] == []


@pytest.mark.parametrize("persons", [1, 2, 3, 6])
def test_free_times_equal_free_slots(client, desk, service, persons):
    day = future_days(desk, service, persons)[0]
    response = client.get(
        f"{V1}/locations/{desk.short_code}/services/{service.code}/free-times/",
        {"date": day.isoformat(), "persons": persons},
    )
    assert response.status_code == 200
    slots = availability.free_slots(
        location=desk, service=service, persons=persons, start_date=day, end_date=day, now=timezone.now()
    )[day]
    times = response.json()["times"]
    assert [(t["start"], t["end"]) for t in times] == [
        (timezone.localtime(s.start).isoformat(), timezone.localtime(s.end).isoformat()) for s in slots
    ]
    assert times[0]["time"] == slots[0].start.astimezone(desk.tz).strftime("%H:%M")


@pytest.mark.parametrize(
    "params, field",
    [
        ({"persons": 0}, "persons"),
        ({"persons": 7}, "persons"),
        ({"persons": "two"}, "persons"),
        ({"month": "2026-13"}, "month"),
        ({"month": "december"}, "month"),
        ({"month": "0000-01"}, "month"),
        ({"month": "1999-12"}, "month"),
        ({"start_date": "2026-02-30", "end_date": "2026-03-01"}, "start_date"),
        ({"start_date": "0001-01-01", "end_date": "0001-01-02"}, "start_date"),
        ({"start_date": "9999-12-30", "end_date": "9999-12-31"}, "start_date"),
    ],
)
def test_free_days_bad_input(client, desk, service, params, field):
    response = client.get(f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/", params)
    assert field in error_shape(response, 400, "validation_error")["fields"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"start_date": "2026-12-01"}, "end_date"),
        ({"start_date": "2026-12-10", "end_date": "2026-12-01"}, "end_date"),
        ({"start_date": "2026-01-01", "end_date": "2026-12-31"}, "end_date"),
        ({"month": "2026-12", "start_date": "2026-12-01", "end_date": "2026-12-02"}, "month"),
    ],
)
def test_free_days_parameters_that_do_not_go_together_are_422(client, desk, service, params, field):
    """Each parameter is as the schema allows; together they ask for no range: 422, not 400 (issue 11)."""
    response = client.get(f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/", params)
    assert field in error_shape(response, 422, "invalid_range")["fields"]


def test_free_times_bad_input(client, desk, service):
    url = f"{V1}/locations/{desk.short_code}/services/{service.code}/free-times/"
    assert "date" in error_shape(client.get(url), 400, "validation_error")["fields"]
    assert "date" in error_shape(client.get(url, {"date": "2026-12-32"}), 400)["fields"]
    assert "date" in error_shape(client.get(url, {"date": "9999-12-31"}), 400)["fields"]
    assert "persons" in error_shape(client.get(url, {"date": "2026-12-01", "persons": 7}), 400)["fields"]
    small = ServiceFactory(max_persons=2)
    offer(desk, [small])
    small_url = f"{V1}/locations/{desk.short_code}/services/{small.code}/free-times/"
    too_many = client.get(small_url, {"date": "2026-12-01", "persons": 3})
    assert "persons" in error_shape(too_many, 422, "too_many_persons")["fields"]
    error_shape(client.get(f"{V1}/locations/NOPE/services/{service.code}/free-times/", {"date": "2026-12-01"}), 404)
    error_shape(client.get(f"{V1}/locations/{desk.short_code}/services/nope/free-times/", {"date": "2026-12-01"}), 404)
    past = client.get(url, {"date": "2001-01-01"})
    assert past.status_code == 200 and past.json()["times"] == []


def test_wrong_method_unknown_address_and_accept(client, desk, service):
    body = error_shape(client.post(f"{V1}/services/"), 405, "method_not_allowed")
    assert "POST" in body["message"]
    error_shape(client.get(f"{V1}/holds/"), 405, "method_not_allowed")
    error_shape(client.delete(f"{V1}/bookings/manage/"), 405, "method_not_allowed")
    error_shape(client.get(f"{V1}/no-such-endpoint/"), 404, "not_found")
    error_shape(client.get(f"{V1}/services/", HTTP_ACCEPT="text/html"), 406, "not_acceptable")


def test_polling_is_rate_limited_with_retry_after(client, desk, service, settings):
    """Counted when the answer is computed (issue 11: polling a cached answer is not limited)."""
    settings.EXPATDESK_API_POLL_RATE = "2/m"
    url = f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/"
    assert client.get(url, {"persons": 1}).status_code == 200
    assert client.get(url, {"persons": 2}).status_code == 200
    assert client.get(url, {"persons": 1}).status_code == 200  # cached: not counted
    response = client.get(url, {"persons": 3})
    error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


# ---- hold, book, manage ---------------------------------------------------------------------


def test_hold_book_manage_round_trip_matches_the_web_flow(client, desk, service, django_capture_on_commit_callbacks):
    day = future_days(desk, service, 2)[0]
    start = free_starts(desk, service, day, 2)[0]

    # The web flow books the time first ...
    web = client.__class__()
    web.post(
        reverse("bookings:hold", kwargs={"service_code": service.code}), {"persons": "2", "start": start.isoformat()}
    )
    details = {"email": "jane@example.org", "phone": "+31 6 12345678", "language": "en", "consent": "on"}
    for number, person in enumerate(names(2), start=1):
        details[f"first_name_{number}"] = person["first_name"]
        details[f"last_name_{number}"] = person["last_name"]
    assert web.post(reverse("bookings:details"), details).status_code == 302
    web_booking = Appointment.objects.get(status=AppointmentStatus.BOOKED)
    web_claims = sorted(SlotClaim.objects.filter(appointment=web_booking).values_list("counter_id", "unit_start"))
    actions.cancel_appointment(appointment=web_booking, now=timezone.now())

    # ... then, cancelled, the API books the same time.
    response = hold(client, desk, service, start, persons=2)
    assert response.status_code == 201, response.content
    held = response.json()
    assert set(held) == {"hold_token", "expires_at", "location", "service", "start", "end", "persons"}
    # Nothing in the answer names the appointment: only the token's holder can book it.
    assert Appointment.objects.get(status=AppointmentStatus.HELD).reference not in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, held["hold_token"], persons=2)
    assert response.status_code == 201, response.content
    booked = response.json()
    api_booking = Appointment.objects.get(status=AppointmentStatus.BOOKED)
    assert booked["reference"] == api_booking.reference and booked["status"] == "booked"
    assert booked["names"] == names(2) and booked["can_change"] is True
    for field in ("service_id", "location_id", "start", "end", "persons", "contact_email", "phone", "language"):
        assert getattr(api_booking, field) == getattr(web_booking, field), field
    assert [(p.first_name, p.last_name) for p in api_booking.people.all()] == [
        (p.first_name, p.last_name) for p in web_booking.people.all()
    ]
    assert (
        sorted(SlotClaim.objects.filter(appointment=api_booking).values_list("counter_id", "unit_start")) == web_claims
    )
    assert list(OutboxEmail.objects.filter(appointment=api_booking).values_list("kind", flat=True)) == [
        EmailKind.CONFIRMATION
    ]
    assert any(api_booking.reference in message.body for message in mail.outbox)
    token = booked["manage_token"]
    assert api_booking.manage_token_hash and token not in api_booking.manage_token_hash

    # The token is given once: a second booking with the same hold is refused.
    error_shape(book(client, held["hold_token"], persons=2), 409, "hold_not_available")

    # Manage: read, move, cancel.
    manage = client.get(f"{V1}/bookings/manage/", **bearer(token))
    assert manage.status_code == 200 and "manage_token" not in manage.json()
    assert manage["Cache-Control"] == "no-store" and response["Cache-Control"] == "no-store"
    assert manage.json()["reference"] == api_booking.reference
    new_start = free_starts(desk, service, day, 2)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        moved = post_json(client, f"{V1}/bookings/manage/move/", {"start": new_start.isoformat()}, **bearer(token))
    assert moved.status_code == 200, moved.content
    api_booking.refresh_from_db()
    assert api_booking.start == new_start and moved.json()["start"] == timezone.localtime(new_start).isoformat()
    assert OutboxEmail.objects.filter(appointment=api_booking, kind=EmailKind.RESCHEDULE).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = client.post(f"{V1}/bookings/manage/cancel/", **bearer(token))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert not SlotClaim.objects.filter(appointment=api_booking).exists()
    assert OutboxEmail.objects.filter(appointment=api_booking, kind=EmailKind.CANCELLATION).count() == 1
    error_shape(client.get(f"{V1}/bookings/manage/", **bearer(token)), 404, "booking_not_found")


def test_a_taken_time_is_a_409(client, desk, service):
    day = future_days(desk, service, 3)[0]
    start = free_starts(desk, service, day, 3)[0]
    for counter in range(3):  # the three counters: one person each
        actions.book_appointment(
            location=desk, service=service, start=start, names=[PersonName("A", "B")], now=timezone.now()
        )
    error_shape(hold(client, desk, service, start), 409, "slot_taken")


@pytest.mark.parametrize(
    "change, status, code, field",
    [
        ({"persons": 0}, 400, "validation_error", "persons"),
        ({"persons": 7}, 400, "validation_error", "persons"),
        ({"location": "0"}, 400, "validation_error", "location"),
        ({"location": "NOPE"}, 422, "unknown_location", "location"),
        ({"service": "no-such-service"}, 422, "unknown_service", "service"),
        ({"start": "2026-12-01T09:00:00+16:00"}, 422, None, None),  # a real instant, not a 500
        ({"start": "tomorrow"}, 400, "validation_error", "start"),
        ({"start": "0001-01-01T00:00:00+00:00"}, 400, "validation_error", "start"),
        ({"start": "9999-12-31T23:59:59+00:00"}, 400, "validation_error", "start"),
        ({"language": "de"}, 400, "validation_error", "language"),
        ({"start": "2020-01-07T09:00:00+01:00"}, 422, "in_past", None),
    ],
)
def test_hold_bad_input(client, desk, service, change, status, code, field):
    start = free_starts(desk, service, future_days(desk, service)[0])[0]
    body = error_shape(hold_with(client, desk, service, start, change), status, code)
    if field:
        assert field in body["fields"]


def test_hold_off_grid_and_too_many_persons_for_the_service(client, desk, service):
    start = free_starts(desk, service, future_days(desk, service)[0])[0]
    error_shape(hold(client, desk, service, start + timedelta(minutes=7)), 422, "off_grid")
    small = ServiceFactory(max_persons=1)
    error_shape(hold(client, desk, small, start, persons=2), 422, "too_many_persons")


def test_bad_json_and_wrong_content_type(client, desk, service):
    for path in ("holds/", "bookings/", "bookings/manage/move/"):
        response = client.post(f"{V1}/{path}", data="{not json", content_type="application/json", **bearer("0" * 64))
        error_shape(response, 400 if path != "bookings/manage/move/" else 404)
    error_shape(client.post(f"{V1}/holds/", data="{not json", content_type="application/json"), 400, "parse_error")
    error_shape(client.post(f"{V1}/holds/", data="a=1", content_type="application/x-www-form-urlencoded"), 415)
    error_shape(post_json(client, f"{V1}/holds/", [1, 2]), 400, "validation_error")


def test_book_bad_input(client, desk, service):
    start = free_starts(desk, service, future_days(desk, service)[0])[0]
    token = hold(client, desk, service, start, persons=2).json()["hold_token"]
    error_shape(book(client, "nonsense", persons=2), 422, "invalid_hold_token")
    forged = signing.dumps({"hold": 1}, salt="another-salt")
    error_shape(book(client, forged, persons=2), 422, "invalid_hold_token")
    assert "names" in error_shape(book(client, token, persons=2, names=[]), 400, "validation_error")["fields"]
    assert "consent" in error_shape(book(client, token, persons=2, consent=False), 400)["fields"]
    assert "email" in error_shape(book(client, token, persons=2, email="not-an-address"), 400)["fields"]
    assert "phone" in error_shape(book(client, token, persons=2, phone="call me"), 400)["fields"]
    body = error_shape(book(client, token, persons=2, names=[{"first_name": "A"}, {}]), 400, "validation_error")
    assert "names.0.last_name" in body["fields"] and "names.1.first_name" in body["fields"]
    error_shape(book(client, token, persons=1), 422, "names_mismatch")
    assert Appointment.objects.get().status == AppointmentStatus.HELD


def test_an_old_hold_token_is_refused(client, desk, service, monkeypatch):
    start = free_starts(desk, service, future_days(desk, service)[0])[0]
    token = hold(client, desk, service, start).json()["hold_token"]
    assert tokens.appointment_id_for_hold_token(token=token) == Appointment.objects.get().pk
    monkeypatch.setattr(tokens, "HOLD_TOKEN_MAX_AGE", timedelta(seconds=-1))
    error_shape(book(client, token), 422, "invalid_hold_token")


def test_manage_needs_a_valid_token(client, desk, service):
    for method, path in (("get", "bookings/manage/"), ("post", "bookings/manage/cancel/")):
        call = getattr(client, method)
        response = call(f"{V1}/{path}")
        error_shape(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Bearer"
        error_shape(call(f"{V1}/{path}", HTTP_AUTHORIZATION="Basic abc"), 401, "not_authenticated")
        error_shape(call(f"{V1}/{path}", **bearer("a" * 64)), 404, "booking_not_found")
        error_shape(call(f"{V1}/{path}", **bearer("not-a-token")), 404, "booking_not_found")


def test_move_bad_input_keeps_the_booking(client, desk, service):
    start = free_starts(desk, service, future_days(desk, service)[0])[0]
    result = actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[PersonName("A", "B")],
        contact_email="a@example.org",
        now=timezone.now(),
    )
    url = f"{V1}/bookings/manage/move/"
    auth = bearer(result.manage_token)
    assert "start" in error_shape(post_json(client, url, {}, **auth), 400, "validation_error")["fields"]
    assert "start" in error_shape(post_json(client, url, {"start": "noon"}, **auth), 400)["fields"]
    error_shape(post_json(client, url, {"start": (start + timedelta(minutes=5)).isoformat()}, **auth), 422, "off_grid")
    result.appointment.refresh_from_db()
    assert result.appointment.start == start and result.appointment.status == AppointmentStatus.BOOKED


def test_a_past_booking_cannot_be_cancelled_online(client, desk, service):
    start = free_starts(desk, service, future_days(desk, service)[0])[0]
    result = actions.book_appointment(
        location=desk, service=service, start=start, names=[PersonName("A", "B")], now=timezone.now()
    )
    Appointment.objects.filter(pk=result.appointment.pk).update(
        start=timezone.now() - timedelta(hours=2), end=timezone.now() - timedelta(hours=1)
    )
    error_shape(client.post(f"{V1}/bookings/manage/cancel/", **bearer(result.manage_token)), 422, "invalid_status")
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_errors_are_translated(client, desk, service):
    english = error_shape(client.get(f"{V1}/services/nope/"), 404, "not_found")["message"]
    response = client.get(f"{V1}/services/nope/", HTTP_ACCEPT_LANGUAGE="nl")
    dutch = error_shape(response, 404, "not_found")["message"]
    assert response["Content-Language"] == "nl"
    assert english == "There is no such service, or it cannot be booked at the moment." and dutch != english


def test_the_abuse_rules_apply_to_the_api(client, desk, service, settings):
    settings.EXPATDESK_MAX_HOLDS_PER_IP = 2
    settings.EXPATDESK_ONE_BOOKING_PER_EMAIL = True
    starts = free_starts(desk, service, future_days(desk, service)[0])
    held = [hold(client, desk, service, start) for start in starts[:2]]
    assert [response.status_code for response in held] == [201, 201]
    error_shape(hold(client, desk, service, starts[2]), 422, "too_many_holds")
    # A hold from another address is not counted with these.
    data = {"location": desk.short_code, "service": service.code, "start": starts[2].isoformat(), "persons": 1}
    other = post_json(client, f"{V1}/holds/", data, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 201
    assert book(client, held[0].json()["hold_token"]).status_code == 201
    error_shape(book(client, held[1].json()["hold_token"]), 409, "similar_appointment_exists")


def test_free_days_and_times_cost_the_same_queries_however_many_bookings(
    client, desk, service, django_assert_num_queries
):
    day = future_days(desk, service)[0]
    days_url = f"{V1}/locations/{desk.short_code}/services/{service.code}/free-days/"
    times_url = f"{V1}/locations/{desk.short_code}/services/{service.code}/free-times/"
    # future_days kept the configuration and the claims of the days from tomorrow (docs/locking.md §2); the
    # answer starts today, whose claims may be read once more (tests/test_availability_kept.py).
    assert client.get(days_url).status_code == 200
    cache.clear()
    # The location, its offer of the service and the configuration's version in one; the claims' versions.
    with django_assert_num_queries(2):
        assert client.get(days_url).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(times_url, {"date": day.isoformat()}).status_code == 200
    for start in free_starts(desk, service, day)[:6]:
        actions.book_appointment(
            location=desk, service=service, start=start, names=[PersonName("A", "B")], now=timezone.now()
        )
    cache.clear()  # computed again (a cached answer costs no query at all: tests/test_api_caching.py)
    # One more: the lasting claims of the day the bookings changed (its claims version is new), read once.
    with django_assert_num_queries(3):
        assert client.get(days_url).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(times_url, {"date": day.isoformat()}).status_code == 200
