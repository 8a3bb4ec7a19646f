"""Visits of several parts on /api/v1/ (issue 13, point 3): free arrival times, a hold of the whole visit,
its booking with the one endpoint every booking uses, and the manage endpoints on the whole visit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from bookings import visits
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from services.models import ServiceOrder
from tests.support.visits import family_desk

V1 = "/api/v1"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visit_desk(db):
    desk = family_desk()
    ServiceOrder.objects.create(earlier=desk.registration, later=desk.biometrics)
    return desk


def parts_query(desk) -> list[tuple[str, str]]:
    # Asked biometrics first: the desk's rule puts registration first.
    return [("part", f"{desk.biometrics.code}:1,2"), ("part", f"{desk.registration.code}:1,2,3,4")]


def first_arrivals(desk):
    now = timezone.now()
    today = now.astimezone(desk.location.tz).date()
    found = visits.free_arrivals(
        location=desk.location,
        parts=desk.family(),
        start_date=today + timedelta(days=1),
        end_date=today + timedelta(days=14),
        now=now,
    )
    day = min(found)
    return day, found[day]


def times_url(desk, day) -> str:
    query = "&".join(f"{key}={value}" for key, value in [("date", day.isoformat()), *parts_query(desk)])
    return f"{V1}/locations/{desk.location.short_code}/visits/free-times/?{query}"


def post_json(client, path, data, **extra):
    return client.post(path, data=json.dumps(data), content_type="application/json", **extra)


def test_the_free_arrival_times_of_a_visit(client, visit_desk, django_assert_num_queries):
    day, expected = first_arrivals(visit_desk)
    response = client.get(times_url(visit_desk, day))
    assert response.status_code == 200, response.content
    body = response.json()
    assert [part["service"] for part in body["parts"]] == [visit_desk.registration.code, visit_desk.biometrics.code]
    tz = visit_desk.location.tz
    assert [t["time"] for t in body["times"]] == [f"{slot.start.astimezone(tz):%H:%M}" for slot in expected]
    assert [t["end"] for t in body["times"]][0].startswith(f"{expected[0].end.astimezone(tz):%Y-%m-%dT%H:%M}")
    # Shared between clients: the same question again is answered from the cache, without the database.
    with django_assert_num_queries(0):
        assert client.get(times_url(visit_desk, day)).content == response.content


@pytest.mark.parametrize(
    "part, status, code",
    [
        ("nonexistent:1", 404, "not_found"),
        ("{registration}:1,3", 422, "invalid_visit"),
        ("{registration}:1,1", 422, "invalid_visit"),
        ("not a part", 400, None),
        ("{registration}:7", 400, None),
    ],
)
def test_bad_visit_questions_are_refused_with_a_clear_error(client, visit_desk, part, status, code):
    day, _ = first_arrivals(visit_desk)
    value = part.format(registration=visit_desk.registration.code)
    response = client.get(
        f"{V1}/locations/{visit_desk.location.short_code}/visits/free-times/", {"date": day.isoformat(), "part": value}
    )
    assert response.status_code == status, response.content
    body = response.json()
    assert body["message"]
    if code:
        assert body["code"] == code


def test_hold_book_manage_move_and_cancel_a_whole_visit(client, visit_desk):
    day, arrivals = first_arrivals(visit_desk)
    request = {
        "location": visit_desk.location.short_code,
        "parts": [
            {"service": visit_desk.biometrics.code, "persons": [1, 2]},
            {"service": visit_desk.registration.code, "persons": [1, 2, 3, 4]},
        ],
        "start": arrivals[0].start.isoformat(),
    }
    response = post_json(client, f"{V1}/visits/holds/", request)
    assert response.status_code == 201, response.content
    held = response.json()
    assert [p["service"] for p in held["parts"]] == [visit_desk.registration.code, visit_desk.biometrics.code]
    assert held["persons"] == 4 and held["end"] > held["start"]
    names = [{"first_name": f"Person {n}", "last_name": "Jansen"} for n in range(1, 5)]
    response = post_json(
        client,
        f"{V1}/bookings/",
        {"hold_token": held["hold_token"], "names": names, "email": "jansen@example.org", "consent": True},
    )
    assert response.status_code == 201, response.content
    booked = response.json()
    visit = Appointment.objects.get(reference=booked["reference"])
    assert visit.status == AppointmentStatus.BOOKED and visit.part_count == 2
    assert len(booked["parts"]) == 2 and booked["parts"][1]["persons"] == [1, 2]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {booked['manage_token']}"}
    assert client.get(f"{V1}/bookings/manage/", **auth).json()["parts"] == booked["parts"]
    later = arrivals[-1].start
    response = post_json(client, f"{V1}/bookings/manage/move/", {"start": later.isoformat()}, **auth)
    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert visit.start == later and SlotClaim.objects.filter(appointment=visit).count() == 6
    response = client.post(f"{V1}/bookings/manage/cancel/", **auth)
    assert response.status_code == 200
    assert not SlotClaim.objects.filter(appointment=visit).exists()


def test_a_visit_hold_for_a_service_the_location_does_not_offer_is_refused(client, visit_desk):
    day, arrivals = first_arrivals(visit_desk)
    request = {
        "location": visit_desk.location.short_code,
        "parts": [{"service": "nonexistent", "persons": [1]}],
        "start": arrivals[0].start.isoformat(),
    }
    response = post_json(client, f"{V1}/visits/holds/", request)
    assert response.status_code == 422 and response.json()["code"] == "unknown_service"
    assert not Appointment.objects.exists()


def test_a_booking_of_one_service_shows_one_part(client, visit_desk):
    day, _ = first_arrivals(visit_desk)
    now = timezone.now()
    start = visits.free_arrivals(
        location=visit_desk.location,
        parts=[visits.PartRequest(visit_desk.registration, (1,))],
        start_date=day,
        end_date=day,
        now=now,
    )[day][0].start
    held = post_json(
        client,
        f"{V1}/holds/",
        {
            "location": visit_desk.location.short_code,
            "service": visit_desk.registration.code,
            "start": start.isoformat(),
            "persons": 1,
        },
    ).json()
    booked = post_json(
        client,
        f"{V1}/bookings/",
        {
            "hold_token": held["hold_token"],
            "names": [{"first_name": "Anna", "last_name": "Jansen"}],
            "email": "anna@example.org",
            "consent": True,
        },
    ).json()
    assert [(p["service"], p["persons"]) for p in booked["parts"]] == [(visit_desk.registration.code, [1])]
