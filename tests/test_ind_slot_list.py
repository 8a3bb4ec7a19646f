"""The IND slot list's body (api.ind_views.slot_list_body of availability.free_slot_times) is, byte for
byte, ok_body() of the _slot_data() of availability.free_slots() it replaced: every key, date and time, on
ordinary days and across both daylight-saving nights, for one person and several, with extra-long
appointments ending in another hour."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from api.ind_keys import SlotRef, read_slot_key, slot_key, slot_keys
from api.ind_responses import ok_body
from api.ind_views import _slot_data, slot_list_body
from bookings import availability
from tests.support.factories import OpeningHoursFactory, ServiceFactory, make_desk

pytestmark = pytest.mark.django_db


def old_body(*, location, service, persons, slots) -> bytes:
    return ok_body(
        [
            _slot_data(
                location=location,
                service=service,
                ref=SlotRef(location_id=location.pk, service_id=service.pk, start=slot.start, persons=persons),
                end=slot.end,
            )
            for slot in slots
        ]
    )


@pytest.mark.parametrize(
    ("now", "days"),
    [
        (datetime(2026, 3, 26, 7, 0, tzinfo=UTC), 5),  # over the night of 29 March
        (datetime(2026, 10, 22, 7, 0, tzinfo=UTC), 5),  # over the night of 25 October
        (datetime(2026, 12, 1, 10, 7, tzinfo=UTC), 20),
    ],
)
@pytest.mark.parametrize(("duration", "persons"), [(15, 1), (15, 3), (50, 2)])
def test_the_slot_list_body_is_the_dict_encoding_byte_for_byte(now, days, duration, persons):
    service = ServiceFactory(duration_minutes=duration, minimum_notice_minutes=0)
    location = make_desk(services=[service], weekdays=tuple(range(7)), grid_minutes=10)
    OpeningHoursFactory(location=location, weekday=6, start_time=time(1, 0), end_time=time(4, 0))  # the night
    today = now.astimezone(location.tz).date()
    asked = {
        "location": location,
        "service": service,
        "persons": persons,
        "start_date": today,
        "end_date": today + timedelta(days=days),
        "now": now,
    }
    by_day = availability.free_slots(**asked)
    slots = [slot for day in sorted(by_day) for slot in by_day[day]]
    assert len(slots) > 50
    times = availability.free_slot_times(**asked)
    assert sorted(times) == sorted(by_day)
    shared = {"location": location, "service": service, "persons": persons}
    assert slot_list_body(**shared, by_day=times) == old_body(**shared, slots=slots)
    assert slot_list_body(**shared, by_day={}) == old_body(**shared, slots=[])


def test_the_batch_keys_are_the_keys():
    rng = random.Random(10)
    for _ in range(200):
        ref = SlotRef(
            location_id=rng.randint(1, 10**6),
            service_id=rng.randint(1, 10**6),
            start=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=5 * rng.randint(0, 10**6)),
            persons=rng.randint(1, 6),
        )
        key = slot_keys(location_id=ref.location_id, service_id=ref.service_id, persons=ref.persons)
        assert key(int(ref.start.timestamp())) == slot_key(ref)
        assert read_slot_key(key(int(ref.start.timestamp()))) == ref


def test_the_dates_are_the_local_days():
    service = ServiceFactory(minimum_notice_minutes=0)
    location = make_desk(services=[service], weekdays=(1,), grid_minutes=15)
    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    asked = {"start_date": date(2026, 12, 1), "end_date": date(2026, 12, 1), "now": now}
    by_day = availability.free_slot_times(location=location, service=service, persons=1, **asked)
    body = slot_list_body(location=location, service=service, persons=1, by_day=by_day)
    assert body.count(b'"date": "2026-12-01"') == len(by_day[date(2026, 12, 1)]) > 0
    assert b'"startTime": "09:00", "endTime": "09:15"' in body


def test_the_written_slots_kept_for_the_next_list_give_the_same_bytes(settings, monkeypatch):
    """slot_list_body keeps each slot's text for the next list of the same desk, product and persons: a list
    written again (a slot taken meanwhile, the keeping bounded, the secret changed) is the list written afresh."""
    from api import ind_views

    service = ServiceFactory(minimum_notice_minutes=0)
    location = make_desk(services=[service], weekdays=(1, 2), grid_minutes=15)
    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    asked = {"location": location, "service": service, "persons": 1}
    days = {"start_date": date(2026, 12, 1), "end_date": date(2026, 12, 2), "now": now}
    by_day = availability.free_slot_times(**asked, **days)
    slots = [slot for day, found in sorted(availability.free_slots(**asked, **days).items()) for slot in found]
    assert len(slots) > 40 and len(by_day) == 2

    ind_views._WRITTEN.clear()
    first = slot_list_body(**asked, by_day=by_day)
    assert first == old_body(**asked, slots=slots)
    assert ind_views._written_count >= len(slots)
    fewer = {day: times[1:] for day, times in by_day.items()}  # the first slot of each day taken meanwhile
    taken = {slots[0].start, next(s.start for s in slots if s.start.date() != slots[0].start.date())}
    assert slot_list_body(**asked, by_day=fewer) == old_body(**asked, slots=[s for s in slots if s.start not in taken])
    monkeypatch.setattr(ind_views, "_WRITTEN_KEPT", 10)
    ind_views._WRITTEN.clear()
    assert slot_list_body(**asked, by_day=by_day) == first  # all forgotten every 10 slots on the way
    assert ind_views._written_count <= 10
    settings.SECRET_KEY = "another-secret-key-0123456789-0123456789-0123456789"
    other = slot_list_body(**asked, by_day=by_day)
    assert other == old_body(**asked, slots=slots) != first  # other keys: nothing kept under the old secret
