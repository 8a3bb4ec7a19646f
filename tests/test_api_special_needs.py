"""Special needs on /api/v1/ (issue 15, point 6): extra time asked with the free times and the hold, wheelchair
access and an interpreter with the booking, as on the public pages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from bookings import availability
from bookings.models import Appointment, SlotClaim

V1 = "/api/v1"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def post_json(client, path, data):
    return client.post(path, data=json.dumps(data), content_type="application/json")


def a_free_day(desk, service):
    now = timezone.now()
    today = now.astimezone(desk.tz).date()
    days = availability.free_days(
        location=desk,
        service=service,
        persons=1,
        start_date=today + timedelta(days=1),
        end_date=today + timedelta(days=20),
        now=now,
    )
    return days[0]


def times(client, desk, service, day, **query):
    url = f"{V1}/locations/{desk.short_code}/services/{service.code}/free-times/"
    response = client.get(url, {"date": day.isoformat(), **query})
    assert response.status_code == 200, response.content
    return response.json()["times"]


def test_extra_time_lengthens_the_free_times_and_the_booking(client, desk, service):
    day = a_free_day(desk, service)
    plain = times(client, desk, service, day)
    longer = times(client, desk, service, day, extra_units=2)
    assert longer and {t["start"] for t in longer} < {t["start"] for t in plain}  # the last starts no longer fit
    for slot in longer:
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        assert end - start == timedelta(minutes=service.duration_minutes + 2 * desk.grid_minutes)
    held = post_json(
        client,
        f"{V1}/holds/",
        {
            "location": desk.short_code,
            "service": service.code,
            "start": longer[0]["start"],
            "persons": 1,
            "extra_units": 1,
        },
    )
    assert held.status_code == 201, held.content
    booked = post_json(
        client,
        f"{V1}/bookings/",
        {
            "hold_token": held.json()["hold_token"],
            "names": [{"first_name": "Jan", "last_name": "Smit"}],
            "email": "jan@example.org",
            "consent": True,
            "needs_wheelchair": True,
            "interpreter_language": "pl",
        },
    )
    assert booked.status_code == 201, booked.content
    body = booked.json()
    assert (body["needs_wheelchair"], body["interpreter_language"], body["extra_units"]) == (True, "pl", 1)
    appointment = Appointment.objects.get(reference=body["reference"])
    units = service.duration_minutes // desk.grid_minutes + 1
    assert appointment.claimed_units == SlotClaim.objects.filter(appointment=appointment).count() == units


@pytest.mark.parametrize(
    "path, data",
    [
        ("holds", {"extra_units": 3}),
        ("holds", {"extra_units": -1}),
        ("bookings", {"interpreter_language": "xx"}),
    ],
)
def test_special_needs_outside_their_choices_are_refused(client, desk, service, path, data):
    day = a_free_day(desk, service)
    start = times(client, desk, service, day)[0]["start"]
    body = {"location": desk.short_code, "service": service.code, "start": start, "persons": 1}
    if path == "bookings":
        hold = post_json(client, f"{V1}/holds/", body).json()
        body = {
            "hold_token": hold["hold_token"],
            "names": [{"first_name": "Jan", "last_name": "Smit"}],
            "email": "jan@example.org",
            "consent": True,
        }
    response = post_json(client, f"{V1}/{path}/", {**body, **data})
    assert response.status_code == 400, response.content
    assert set(data) <= set(response.json()["fields"])
    url = f"{V1}/locations/{desk.short_code}/services/{service.code}/free-times/"
    assert client.get(url, {"date": day.isoformat(), "extra_units": "3"}).status_code == 400
