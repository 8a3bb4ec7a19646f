"""Claims of past days are pruned (bookings/actions/claims.py), so the claims table grows with the horizon,
not with history; appointments keep their rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction

from bookings import actions, availability, tasks
from bookings.models import Appointment, AppointmentStatus, ClaimsVersion, SlotClaim
from bookings.tokens import new_reference
from tests.support.factories import make_desk


def claim(location, counter, start: datetime, units: int = 2, status=AppointmentStatus.DONE) -> Appointment:
    grid = timedelta(minutes=location.grid_minutes)
    with transaction.atomic():  # one commit: a booked appointment owns its claims at every commit
        return _claim(location, counter, start, units, status, grid)


def _claim(location, counter, start, units, status, grid) -> Appointment:
    appointment = Appointment.objects.create(
        reference=new_reference(short_code=location.short_code),
        service=counter.services.first(),
        location=location,
        start=start,
        end=start + grid * units,
        persons=1,
        status=status,
        claimed_units=units,
        created_at=start - timedelta(days=1),
    )
    SlotClaim.objects.bulk_create(
        SlotClaim(
            appointment=appointment, counter=counter, unit_start=start + grid * i, unit_end=start + grid * (i + 1)
        )
        for i in range(units)
    )
    return appointment


def test_claims_that_ended_before_the_locations_day_began_are_deleted_and_the_rest_kept(service):
    amsterdam = make_desk(services=[service], short_code="AMS", time_zone="Europe/Amsterdam")
    helsinki = make_desk(services=[service], short_code="HEL", time_zone="Europe/Helsinki")
    ams, hel = ZoneInfo("Europe/Amsterdam"), ZoneInfo("Europe/Helsinki")
    # 23:30 in Amsterdam on 1 December is already 00:30 on 2 December in Helsinki.
    now = datetime(2026, 12, 1, 23, 30, tzinfo=ams)
    ams_counter, hel_counter = amsterdam.counters.first(), helsinki.counters.first()
    old = claim(amsterdam, ams_counter, datetime(2026, 11, 3, 9, 0, tzinfo=ams))
    yesterday_late = claim(amsterdam, ams_counter, datetime(2026, 11, 30, 23, 30, tzinfo=ams))  # ends 00:00
    today_done = claim(amsterdam, ams_counter, datetime(2026, 12, 1, 9, 0, tzinfo=ams))
    future = claim(amsterdam, ams_counter, datetime(2026, 12, 8, 9, 0, tzinfo=ams))
    helsinki_yesterday = claim(helsinki, hel_counter, datetime(2026, 12, 1, 22, 0, tzinfo=hel))
    helsinki_today = claim(helsinki, hel_counter, datetime(2026, 12, 2, 0, 0, tzinfo=hel))
    appointments = Appointment.objects.count()

    assert actions.prune_past_claims(now=now) == 6
    left = set(SlotClaim.objects.values_list("appointment_id", flat=True))
    assert left == {today_done.pk, future.pk, helsinki_today.pk}
    assert not {old.pk, yesterday_late.pk, helsinki_yesterday.pk} & left
    assert Appointment.objects.count() == appointments  # the appointments keep their rows
    assert actions.prune_past_claims(now=now) == 0
    # The claims versions of the days before yesterday (UTC) went with their claims (ClaimsVersion).
    days = set(ClaimsVersion.objects.values_list("day", flat=True))
    yesterday = day_of(now) - 1  # kept a day longer, its claims gone all the same
    assert days == {yesterday, day_of(today_done.start), day_of(future.start), day_of(helsinki_today.start)}
    assert day_of(old.start) < yesterday


def day_of(moment: datetime) -> int:
    return int(moment.timestamp()) // 86400


def test_the_free_times_of_today_and_later_do_not_change(desk, service, monday_morning):
    counter = desk.counters.first()
    for days in (-14, -7, -1, 1, 2):
        claim(desk, counter, datetime.combine(monday_morning.date() + timedelta(days=days), time(10), tzinfo=desk.tz))
    end = monday_morning.date() + timedelta(days=14)
    kwargs = {"location": desk, "service": service, "persons": 2, "now": monday_morning}
    before = availability.free_slots(start_date=monday_morning.date(), end_date=end, **kwargs)
    assert actions.prune_past_claims(now=monday_morning) == 6
    assert availability.free_slots(start_date=monday_morning.date(), end_date=end, **kwargs) == before


def test_the_beat_task_prunes_in_batches_until_done(desk, monkeypatch):
    counter = desk.counters.first()
    for days in range(1, 6):
        claim(desk, counter, datetime.combine(date(2026, 11, 1) + timedelta(days=days), time(10), tzinfo=desk.tz))
    monkeypatch.setattr(actions, "PRUNE_BATCH", 3)
    assert tasks.prune_past_claims_task() == 10
    assert not SlotClaim.objects.exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["prune-past-claims"]
    assert schedule["task"] == "bookings.tasks.prune_past_claims_task"


@pytest.mark.django_db(transaction=True)
def test_a_past_booking_never_marked_done_loses_its_claims_and_the_commit_stands(postgresql, service):
    """The database checks at every commit that a booked appointment owns its claims (migration 0006):
    pruning a past day's booking (never marked done or no-show) records that it owns none any more."""
    desk = make_desk(services=[service], short_code="PRU")
    counter = desk.counters.first()
    forgotten = claim(
        desk, counter, datetime(2026, 11, 3, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam")), status=AppointmentStatus.BOOKED
    )

    assert actions.prune_past_claims(now=datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))) == 2

    forgotten.refresh_from_db()
    assert (forgotten.status, forgotten.claimed_units) == (AppointmentStatus.BOOKED, 0)
    assert not SlotClaim.objects.filter(appointment=forgotten).exists()
