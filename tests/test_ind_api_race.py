"""Two IND-API bookings racing for the same slot key, on PostgreSQL with real threads and commits.

Each round: a one-counter desk offers a slot; two clients (different addresses, so neither books
the other's hold) post the booking with the same listed key at the same moment, released by a
barrier once both have a database connection. Exactly one wins; the other gets APT_TAKEN (409) in
the API's error shape — never a 5xx — and the desk holds exactly one live appointment for that time.
The same race against a naive hold (check in Python, then insert) books the slot twice, so the
checks are shown able to fail.
"""

from __future__ import annotations

import json
import threading
import time as clock
import traceback
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from api.ind_keys import read_slot_key
from bookings import actions, availability
from bookings.actions import BookingError
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from bookings.tokens import new_reference
from tests.support.env import require, uses_postgresql
from tests.support.factories import make_desk

pytestmark = [pytest.mark.concurrency]

THREAD_TIMEOUT_SECONDS = 60
# How long the naive hold pauses between its check and its insert.
NAIVE_WINDOW_SECONDS = 0.3
ROUNDS = 3


@pytest.fixture
def postgresql(settings) -> None:
    require(uses_postgresql(), "the race tests need PostgreSQL: set DATABASE_URL=postgres://...")
    settings.EXPATDESK_API_POLL_RATE = "10000/m"
    settings.EXPATDESK_API_WRITE_RATE = "10000/m"
    cache.clear()
    yield
    cache.clear()


def booking(slot: dict, name: str) -> str:
    return json.dumps(
        {
            "bookableSlot": slot,
            "appointment": {
                "productKey": slot.get("productKey", ""),
                "date": slot["date"],
                "startTime": slot["startTime"],
                "parts": 1,
                "email": f"{name.lower()}@example.org",
                "language": "en",
                "customers": [{"firstName": name, "lastName": "Racer", "bsn": "123456782"}],
            },
        }
    )


def race_bookings(url: str, bodies: list[str]) -> list[tuple[int, bytes] | str]:
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, bytes] | str] = ["thread did not finish"] * len(bodies)

    def run(index: int, payload: str) -> None:
        client = Client(REMOTE_ADDR=f"10.0.1.{index + 1}")
        try:
            connection.ensure_connection()
            barrier.wait(timeout=THREAD_TIMEOUT_SECONDS)
            response = client.post(url, data=payload, content_type="application/json")
            results[index] = (response.status_code, bytes(response.content))
        except BaseException:
            results[index] = traceback.format_exc()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, payload)) for index, payload in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return results


def listed_slots(service) -> list[dict]:
    response = Client().get(f"/oap/api/desks/RACE/slots/?productKey={service.code.upper()}&persons=1")
    assert response.status_code == 200
    return json.loads(response.content[6:])["data"]


def naive_hold_slot(
    *, location, service, start, persons, now, municipality="", language="en", client_key=""
) -> Appointment:
    """A hold as a naive API would make it: check the free slots in Python, then insert — no claims, so no
    unique constraint behind the check. The pause is the window a slow request gives."""
    day = start.astimezone(location.tz).date()
    free = availability.free_slots(
        location=location, service=service, persons=persons, start_date=day, end_date=day, now=now
    )
    if not any(slot.start == start for slot in free.get(day, [])):
        raise BookingError(BookingError.SLOT_TAKEN, "taken")
    clock.sleep(NAIVE_WINDOW_SECONDS)
    return Appointment.objects.create(
        reference=new_reference(short_code=location.short_code),
        service=service,
        location=location,
        start=start,
        end=start + service.duration,
        persons=persons,
        status=AppointmentStatus.HELD,
        municipality=municipality,
        language=language,
        hold_expires_at=now + timedelta(minutes=10),
        created_at=now,
    )


def naive_confirm_hold(*, appointment: Appointment, names, contact_email: str, now, **details) -> actions.BookingResult:
    """A confirmation as a naive API would make it: the hold is taken to be ours, its claims never counted."""
    Appointment.objects.filter(pk=appointment.pk).update(
        status=AppointmentStatus.BOOKED, booked_at=now, hold_expires_at=None, contact_email=contact_email
    )
    appointment.refresh_from_db()
    return actions.BookingResult(appointment=appointment, manage_token="naive")


@pytest.mark.django_db(transaction=True)
def test_the_same_race_against_a_naive_hold_books_the_slot_twice(postgresql, service, monkeypatch):
    """The checks below are able to fail: with a check-then-insert hold (and a confirmation that trusts
    it), both bookings win."""
    desk = make_desk(services=[service], counters=1, short_code="RACE")
    slot = listed_slots(service)[0]
    monkeypatch.setattr(actions, "hold_slot", naive_hold_slot)
    monkeypatch.setattr(actions, "confirm_hold", naive_confirm_hold)
    results = race_bookings("/oap/api/desks/RACE/appointments", [booking(slot, "Ann"), booking(slot, "Bob")])
    assert [status for status, _content in results] == [200, 200], results
    start = read_slot_key(slot["key"]).start
    assert Appointment.objects.filter(location=desk, start=start, status=AppointmentStatus.BOOKED).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_api_bookings_for_the_same_key_one_wins_the_other_gets_apt_taken(postgresql, service):
    desk = make_desk(services=[service], counters=1, short_code="RACE")
    slots = listed_slots(service)
    assert len(slots) >= ROUNDS
    for slot in slots[:ROUNDS]:
        results = race_bookings("/oap/api/desks/RACE/appointments", [booking(slot, "Ann"), booking(slot, "Bob")])
        assert all(isinstance(result, tuple) for result in results), results
        statuses = sorted(status for status, _content in results)
        assert statuses == [200, 409], results
        loser = next(content for status, content in results if status == 409)
        assert loser.startswith(b")]}',\n")
        answer = json.loads(loser[6:])
        assert (answer["status"], answer["errorCode"]) == ("ERROR", "APT_TAKEN")
        start = read_slot_key(slot["key"]).start
        live = Appointment.objects.filter(location=desk, start=start).exclude(
            status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.EXPIRED]
        )
        assert [a.status for a in live] == [AppointmentStatus.BOOKED]
        assert SlotClaim.objects.filter(counter__location=desk, unit_start=start).count() == 1
    assert Appointment.objects.filter(location=desk, status=AppointmentStatus.BOOKED).count() == ROUNDS
