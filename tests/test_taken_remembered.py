"""A time a process has just read as taken is refused again by it for a moment without reading
(bookings/refusals.py, docs/locking.md "The read before a hold"): the same refusal, no query, only for the same
hold, forgotten at once when this process changes the location's free capacity, read again after the moment,
and never anything but "taken"."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions, refusals
from bookings.actions import BookingError, PersonName
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory, make_desk

TUESDAY = date(2026, 12, 1)


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def one_counter(db, service):
    return make_desk(services=[service], counters=1)


def booked_at(desk, service, start, now):
    return actions.book_appointment(
        location=desk, service=service, start=start, names=[PersonName("A", "B")], now=now
    ).appointment


def refused(desk, service, start, now, **kwargs) -> tuple[BookingError, int]:
    """The hold's refusal and the number of queries it cost."""
    with CaptureQueriesContext(connection) as queries, pytest.raises(BookingError) as error:
        actions.hold_slot(location=desk, service=service, start=start, now=now, **{"persons": 1, **kwargs})
    return error.value, len(queries.captured_queries)


def test_a_time_read_as_taken_is_refused_again_without_a_query(one_counter, service, monday_morning):
    booked_at(one_counter, service, at(9), monday_morning)
    first, first_queries = refused(one_counter, service, at(9), monday_morning)
    again, queries = refused(one_counter, service, at(9), monday_morning)
    assert first.code == again.code == BookingError.SLOT_TAKEN
    assert str(again) == str(first)
    assert first_queries >= 1
    assert queries == 0


def test_only_the_same_hold_is_answered_from_memory(db, one_counter, service, monday_morning):
    family = ServiceFactory(max_persons=4)
    two_counters = make_desk(services=[service, family], counters=1)
    booked_at(one_counter, service, at(9), monday_morning)
    booked_at(two_counters, family, at(9), monday_morning)
    refused(one_counter, service, at(9), monday_morning)
    for desk, what, start, kwargs in (
        (one_counter, service, at(9, 15), {}),  # another start: free, so held
        (one_counter, service, at(9), {"persons": 2}),
        (one_counter, service, at(9), {"extra_units": 1}),
        (two_counters, family, at(9), {}),  # another location and service
    ):
        with CaptureQueriesContext(connection) as queries:
            try:
                actions.hold_slot(
                    location=desk, service=what, start=start, now=monday_morning, **{"persons": 1, **kwargs}
                )
            except BookingError as error:
                assert error.code == BookingError.SLOT_TAKEN
        assert queries.captured_queries, (start, kwargs)


def test_a_change_of_free_capacity_here_forgets_at_once(one_counter, service, monday_morning):
    booking = booked_at(one_counter, service, at(9), monday_morning)
    refused(one_counter, service, at(9), monday_morning)
    actions.cancel_appointment(appointment=booking, now=monday_morning)
    held = actions.hold_slot(location=one_counter, service=service, start=at(9), persons=1, now=monday_morning)
    assert held.start == at(9)


def test_a_hold_that_goes_through_keeps_what_was_remembered_there(
    one_counter, service, monday_morning, django_capture_on_commit_callbacks
):
    """A hold only takes time: what this process read as taken stays taken through it and its commit, so a release of
    slots is not read again after every hold that goes through (the stampede of issue 10)."""
    booked_at(one_counter, service, at(9), monday_morning)
    refused(one_counter, service, at(9), monday_morning)
    with django_capture_on_commit_callbacks(execute=True):
        actions.hold_slot(location=one_counter, service=service, start=at(9, 15), persons=1, now=monday_morning)
    error, queries = refused(one_counter, service, at(9), monday_morning)
    assert (error.code, queries) == (BookingError.SLOT_TAKEN, 0)


def test_a_hold_booked_as_it_was_keeps_what_was_remembered_there(one_counter, service, monday_morning):
    booked_at(one_counter, service, at(9), monday_morning)
    held = actions.hold_slot(location=one_counter, service=service, start=at(9, 15), persons=1, now=monday_morning)
    refused(one_counter, service, at(9), monday_morning)
    actions.confirm_hold(
        appointment=held, names=[PersonName("A", "B")], contact_email="a@example.org", now=monday_morning
    )
    error, queries = refused(one_counter, service, at(9), monday_morning)
    assert (error.code, queries) == (BookingError.SLOT_TAKEN, 0)


def test_a_booking_that_claims_its_time_afresh_forgets_what_was_remembered_there(
    one_counter, service, monday_morning, django_capture_on_commit_callbacks
):
    """A hold whose claims went (another booking took its lapsed time) lets its remaining claims go and claims
    afresh: that may free time, so what this process remembered there is forgotten, now and after the commit."""
    booked_at(one_counter, service, at(9), monday_morning)
    held = actions.hold_slot(location=one_counter, service=service, start=at(9, 15), persons=1, now=monday_morning)
    SlotClaim.objects.filter(appointment=held).delete()  # its time was free again, as after a lapse and a sweep
    refused(one_counter, service, at(9), monday_morning)
    key = (one_counter.pk, service.pk, at(9), 1, 0)
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        actions.confirm_hold(
            appointment=held, names=[PersonName("A", "B")], contact_email="a@example.org", now=monday_morning
        )
        assert refusals.recent(key, now=monday_morning) is None
    refusals.remember(key, now=monday_morning, location_id=one_counter.pk, code=BookingError.SLOT_TAKEN, message="x")
    for callback in after_commit:
        callback()
    assert refusals.recent(key, now=monday_morning) is None
    assert held.claims.count() == 1


def test_what_is_read_while_a_change_runs_is_forgotten_after_its_commit(
    one_counter, service, monday_morning, django_capture_on_commit_callbacks
):
    booking = booked_at(one_counter, service, at(9), monday_morning)
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        actions.cancel_appointment(appointment=booking, now=monday_morning)
    # Read as taken by another request of this process before that commit (its read did not see it yet).
    key = (one_counter.pk, service.pk, at(9), 1, 0)
    refusals.remember(key, now=monday_morning, location_id=one_counter.pk, code=BookingError.SLOT_TAKEN, message="x")
    assert refusals.recent(key, now=monday_morning) is not None
    for callback in after_commit:
        callback()
    assert refusals.recent(key, now=monday_morning) is None


def test_a_time_freed_elsewhere_is_read_again_after_the_moment(settings, one_counter, service, monday_morning):
    settings.EXPATDESK_TAKEN_REMEMBERED_MS = 2000
    booking = booked_at(one_counter, service, at(9), monday_morning)
    refused(one_counter, service, at(9), monday_morning)
    # Another process cancels it: nothing of this process runs (its rows go, as that process's commit leaves them).
    SlotClaim.objects.filter(appointment=booking).delete()
    Appointment.objects.filter(pk=booking.pk).update(status=AppointmentStatus.CANCELLED)
    error, queries = refused(one_counter, service, at(9), monday_morning + timedelta(milliseconds=1999))
    assert (error.code, queries) == (BookingError.SLOT_TAKEN, 0)  # still remembered within the moment
    held = actions.hold_slot(
        location=one_counter, service=service, start=at(9), persons=1, now=monday_morning + timedelta(seconds=2)
    )
    assert held.start == at(9)


def test_a_now_before_the_read_reads_again(one_counter, service, monday_morning):
    booked_at(one_counter, service, at(9), monday_morning)
    refused(one_counter, service, at(9), monday_morning)
    error, queries = refused(one_counter, service, at(9), monday_morning - timedelta(milliseconds=1))
    assert error.code == BookingError.SLOT_TAKEN
    assert queries >= 1


def test_a_hold_that_lapses_within_the_moment_gives_way_when_it_ends(settings, one_counter, service, monday_morning):
    """The price, as documented: the lapse is seen when the moment ends, not at the lapse itself."""
    settings.EXPATDESK_TAKEN_REMEMBERED_MS = 2000
    held = actions.hold_slot(location=one_counter, service=service, start=at(9), persons=1, now=monday_morning)
    lapse = held.hold_expires_at
    refused(one_counter, service, at(9), lapse - timedelta(seconds=1))
    error, queries = refused(one_counter, service, at(9), lapse)
    assert (error.code, queries) == (BookingError.SLOT_TAKEN, 0)
    taker = actions.hold_slot(
        location=one_counter, service=service, start=at(9), persons=1, now=lapse + timedelta(seconds=1)
    )
    assert taker.claims.count() == 1


@pytest.mark.parametrize(
    "start, kwargs",
    [
        (at(10, day=TUESDAY + timedelta(days=6)), {}),  # not an opening day
        (at(12, 15), {"persons": 2}),  # a family past closing
        (at(10, 7), {}),  # off the grid
    ],
)
def test_a_refusal_by_the_rules_is_read_every_time(one_counter, service, monday_morning, start, kwargs):
    first, _ = refused(one_counter, service, start, monday_morning, **kwargs)
    again, queries = refused(one_counter, service, start, monday_morning, **kwargs)
    assert first.code == again.code != BookingError.SLOT_TAKEN
    assert queries >= 1


def test_nothing_is_remembered_while_the_setting_is_zero(settings, one_counter, service, monday_morning):
    settings.EXPATDESK_TAKEN_REMEMBERED_MS = 0
    booked_at(one_counter, service, at(9), monday_morning)
    refused(one_counter, service, at(9), monday_morning)
    error, queries = refused(one_counter, service, at(9), monday_morning)
    assert error.code == BookingError.SLOT_TAKEN
    assert queries >= 1
    assert refusals.contended(one_counter.pk, now=monday_morning)  # the read before still runs at a release


def test_a_location_is_contended_for_a_minute_after_its_latest_refusal_as_taken(monday_morning):
    def refuse(now):
        refusals.remember(("key", now), now=now, location_id=1, code=BookingError.SLOT_TAKEN, message="taken")

    assert not refusals.contended(1, now=monday_morning)
    refuse(monday_morning)
    refuse(monday_morning - timedelta(seconds=30))  # an older `now` does not move it back
    assert refusals.contended(1, now=monday_morning + timedelta(seconds=59))
    assert not refusals.contended(2, now=monday_morning)  # per location
    assert not refusals.contended(1, now=monday_morning - timedelta(seconds=1))
    refuse(monday_morning + timedelta(seconds=50))
    assert refusals.contended(1, now=monday_morning + timedelta(seconds=109))
    assert not refusals.contended(1, now=monday_morning + timedelta(seconds=110))
    refusals.forget(1)  # a change of free capacity there: the few holds that go through do not end it
    assert refusals.contended(1, now=monday_morning + timedelta(seconds=60))
    refusals.forget()  # as a new process
    assert not refusals.contended(1, now=monday_morning + timedelta(seconds=60))


def test_the_memory_is_bounded_and_keeps_the_newest(monkeypatch, monday_morning):
    monkeypatch.setattr(refusals, "MAX_REMEMBERED", 3)
    for number in range(5):
        refusals.remember(
            ("key", number), now=monday_morning, location_id=1, code=BookingError.SLOT_TAKEN, message="taken"
        )
    remembered = [refusals.recent(("key", number), now=monday_morning) is not None for number in range(5)]
    assert remembered == [False, False, True, True, True]
    later = monday_morning + timedelta(seconds=10)  # all lapsed: the next one takes their places
    refusals.remember(("key", 9), now=later, location_id=1, code=BookingError.SLOT_TAKEN, message="taken")
    assert len(refusals._remembered) == 1


def test_the_api_answers_a_remembered_refusal_in_the_callers_language(settings, client, one_counter, service):
    settings.EXPATDESK_TAKEN_REMEMBERED_MS = 60_000  # the requests are made at the clock's own now
    cache.clear()  # the rate-limit counters
    start = at(10, day=date(2026, 12, 8)).isoformat()  # a Tuesday after today in every run of the suite
    body = {"location": one_counter.short_code, "service": service.code, "start": start, "persons": 1}

    def post(language: str):
        return client.post(
            "/api/v1/holds/", data=json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE=language
        )

    assert post("en").status_code == 201
    english = post("en")
    with CaptureQueriesContext(connection) as queries:
        dutch = post("nl")
    assert english.status_code == dutch.status_code == 409
    assert english.json()["code"] == dutch.json()["code"] == "slot_taken"
    assert dutch.json()["message"] != english.json()["message"]
    assert "Sorry" in english.json()["message"]
    assert queries.captured_queries == []  # not even the location and the service are read again
    body["persons"] = 2  # another hold: read
    with CaptureQueriesContext(connection) as queries:
        assert post("en").status_code == 409
    assert queries.captured_queries
