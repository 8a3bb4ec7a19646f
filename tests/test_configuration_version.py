"""A location's configuration is kept by each process under its ConfigurationVersion, which database triggers draw
anew on every change of the rows it covers, whoever writes them (bookings/models.py, migration 0016,
docs/locking.md §2): on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bookings import availability
from bookings.models import Closure, ConfigurationVersion, Counter, LocationService, OpeningHours
from tests.support.factories import CounterFactory, OpeningHoursFactory, ServiceFactory, make_desk

TUESDAY = date(2026, 12, 1)


def version_of(location) -> int | None:
    return ConfigurationVersion.objects.filter(location_id=location.pk).values_list("version", flat=True).first()


def free_starts(location, service, monday_morning) -> list[datetime]:
    slots = availability.free_slots(
        location=location, service=service, persons=1, start_date=TUESDAY, end_date=TUESDAY, now=monday_morning
    )
    return [slot.start for slot in slots.get(TUESDAY, [])]


def change_counter_activity(desk, service):
    Counter.objects.filter(location=desk).update(is_active=False)


def add_counter(desk, service):
    CounterFactory(location=desk, name="New", services=[service])


def delete_counter(desk, service):
    counter = desk.counters.first()
    counter.services.clear()
    counter.delete()


def stop_serving(desk, service):
    desk.counters.first().services.remove(service)


def serve_another(desk, service):
    desk.counters.first().services.add(ServiceFactory())


def add_hours(desk, service):
    OpeningHoursFactory(location=desk, weekday=0, start_time=time(9, 0), end_time=time(12, 0))


def shorten_hours(desk, service):
    OpeningHours.objects.filter(location=desk, start_time=time(13, 30)).update(end_time=time(15, 0))


def delete_hours(desk, service):
    OpeningHours.objects.filter(location=desk, weekday=2).delete()


def close_the_desk(desk, service):
    Closure.objects.create(location=desk, start_date=TUESDAY, end_date=TUESDAY, reason="Training")


def close_every_location(desk, service):
    Closure.objects.create(location=None, start_date=TUESDAY, end_date=TUESDAY, reason="King's Day")


def change_notice(desk, service):
    LocationService.objects.filter(location=desk, service=service).update(minimum_notice_minutes=600)


def stop_offering(desk, service):
    LocationService.objects.filter(location=desk, service=service).delete()


CHANGES = [
    change_counter_activity,
    add_counter,
    delete_counter,
    stop_serving,
    serve_another,
    add_hours,
    shorten_hours,
    delete_hours,
    close_the_desk,
    close_every_location,
    change_notice,
    stop_offering,
]


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__ for change in CHANGES])
def test_every_change_of_the_configuration_draws_a_new_version(desk, service, change):
    """Made with the ORM, around the actions: the triggers see it all the same."""
    before = version_of(desk)
    assert before is not None
    change(desk, service)
    assert version_of(desk) not in (None, before)


def test_a_closure_of_every_location_draws_a_new_version_for_each(desk, service):
    other = make_desk(services=[service])
    before = {location.pk: version_of(location) for location in (desk, other)}
    close_every_location(desk, service)
    assert all(version_of(location) != before[location.pk] for location in (desk, other))


def test_appointments_and_claims_draw_no_new_version(desk, service, monday_morning):
    from bookings import actions
    from bookings.actions import PersonName

    before = version_of(desk)
    start = free_starts(desk, service, monday_morning)[0]
    actions.book_appointment(
        location=desk, service=service, start=start, names=[PersonName("Jane", "Doe")], now=monday_morning
    )
    assert version_of(desk) == before


def test_a_kept_configuration_costs_one_query_and_a_change_is_seen_at_once(desk, service, monday_morning):
    free_starts(desk, service, monday_morning)  # read and kept by this process
    with CaptureQueriesContext(connection) as kept:
        before = free_starts(desk, service, monday_morning)
    assert len(kept) == 2  # the version and the claims
    shorten_hours(desk, service)
    with CaptureQueriesContext(connection) as read:
        after = free_starts(desk, service, monday_morning)
    assert len(read) == 5  # the version, counters, opening hours, closures, claims
    assert after == [start for start in before if start.astimezone(desk.tz).time() < time(15, 0)]
    assert after != before


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__ for change in CHANGES])
def test_after_any_change_the_engine_answers_as_if_it_had_never_kept_anything(desk, service, monday_morning, change):
    free_starts(desk, service, monday_morning)
    change(desk, service)
    kept_after = free_starts(desk, service, monday_morning)
    availability.forget_kept_configurations()
    assert kept_after == free_starts(desk, service, monday_morning)


def test_a_change_rolled_back_leaves_the_configuration_as_it_was(desk, service, monday_morning):
    before = free_starts(desk, service, monday_morning)
    with pytest.raises(RuntimeError), transaction.atomic():
        close_the_desk(desk, service)
        assert free_starts(desk, service, monday_morning) == []  # read (and kept) inside the transaction
        raise RuntimeError("refused")
    assert free_starts(desk, service, monday_morning) == before


def test_deleting_a_location_deletes_it_whole(desk, service, monday_morning):
    from bookings.actions.configuration import delete_location

    delete_location(location=desk, now=monday_morning - timedelta(days=1))
    assert not Counter.objects.filter(location_id=desk.pk).exists()
