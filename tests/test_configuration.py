"""A location's configuration goes through actions (issue 9 §1): grid and time-zone changes, overlapping
opening hours, counters that still serve appointments, the audit trail, and the cache bump from every
path that changes free capacity. The races of the same rules are in tests/test_engine_races.py."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from bookings import actions
from bookings.actions import BookingError, ConfigurationRefused, CounterSpec, HoursRow, PersonName
from bookings.cache import version_token
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    ConfigurationEvent,
    ConfigurationKind,
    Counter,
    EventKind,
    Location,
    OpeningHours,
    SlotClaim,
)
from services.models import Service
from tests.support.admin import admin_url, location_post_data, management_forms_for_existing
from tests.support.desk import desk_admin, sign_in
from tests.support.env import AMSTERDAM, weekday_ahead
from tests.support.factories import ServiceFactory, offer

pytestmark = pytest.mark.django_db

TUESDAY = date(2026, 12, 1)
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=AMSTERDAM)


def book(desk, service, now, *, start=TUESDAY_9, persons=1):
    names = [PersonName(first_name=f"Ann{index}", last_name="Example") for index in range(persons)]
    return actions.book_appointment(location=desk, service=service, start=start, names=names, now=now).appointment


def hours_of(location: Location) -> list[HoursRow]:
    return actions.configuration.hours_rows_of(location.opening_hours.order_by("weekday", "start_time"))


@pytest.fixture
def admin_client(client):
    return sign_in(client, desk_admin())


def next_tuesday_9() -> datetime:
    """The admin reads the real clock: a Tuesday 09:00 at least a day ahead of it."""
    return datetime.combine(weekday_ahead(1, days=1), time(9, 0), tzinfo=AMSTERDAM)


# ---- the grid and the time zone -------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"grid_minutes": 10}, {"time_zone": "Europe/London"}])
def test_a_grid_or_time_zone_change_is_refused_while_counter_time_is_booked_or_blocked(
    desk, service, monday_morning, change
):
    booked = book(desk, service, monday_morning, persons=2)
    counter = desk.counters.order_by("name").last()
    actions.block_counter(
        counter=counter,
        start=TUESDAY_10,
        end=TUESDAY_10 + timedelta(hours=1),
        reason="Ill",
        now=monday_morning,
        actor=None,
    )

    with pytest.raises(ConfigurationRefused) as refused:
        actions.configure_location(location=desk, fields=change, now=monday_morning)

    assert refused.value.code == actions.CLAIMS_ON_GRID
    assert [a.pk for a in refused.value.appointments] == [booked.pk]
    assert len(refused.value.blocks) == 1
    assert booked.reference in refused.value.message and counter.name in refused.value.message
    desk.refresh_from_db()
    assert (desk.grid_minutes, desk.time_zone) == (15, "Europe/Amsterdam")


def test_a_grid_change_releases_lapsed_holds_and_their_confirmation_is_refused_off_the_grid(
    desk, service, monday_morning
):
    held = actions.hold_slot(
        location=desk, service=service, start=TUESDAY_9 + timedelta(minutes=15), persons=1, now=monday_morning
    )
    later = held.hold_expires_at + timedelta(minutes=1)

    actions.configure_location(location=desk, fields={"grid_minutes": 10}, now=later)

    desk.refresh_from_db()
    assert desk.grid_minutes == 10
    assert not SlotClaim.objects.filter(appointment=held).exists()
    with pytest.raises(BookingError) as refused:
        actions.confirm_hold(appointment=held, names=[PersonName("Ann", "E")], contact_email="a@example.org", now=later)
    assert refused.value.code == BookingError.OFF_GRID


def test_the_admin_shows_the_grid_refusal_and_keeps_what_was_typed(admin_client, desk, service):
    booked = book(desk, service, timezone.now(), start=next_tuesday_9())
    data = location_post_data(desk, grid_minutes="10", name="Renamed desk") | management_forms_for_existing(desk)

    response = admin_client.post(admin_url(Location, "change", desk.pk), data)

    assert response.status_code == 200
    content = response.content.decode()
    assert "The time grid or time zone cannot change" in content and booked.reference in content
    assert 'value="Renamed desk"' in content  # nothing typed is lost
    desk.refresh_from_db()
    assert (desk.grid_minutes, desk.name) != (10, "Renamed desk")


# ---- opening hours -----------------------------------------------------------------------------


def test_overlapping_opening_hours_are_refused_by_the_action(desk, monday_morning):
    rows = [*hours_of(desk), HoursRow(weekday=1, start_time=time(10, 0), end_time=time(14, 0))]

    with pytest.raises(BookingError) as refused:
        actions.configure_location(location=desk, fields={}, opening_hours=rows, now=monday_morning)

    assert refused.value.code == actions.INVALID_HOURS
    assert "09:00–12:30 and 10:00–14:00" in refused.value.message


def test_overlapping_periods_of_the_same_weekday_are_refused_but_following_periods_are_fine(desk, monday_morning):
    later_period = [
        HoursRow(weekday=1, start_time=time(10, 0), end_time=time(14, 0), valid_from=date(2027, 1, 5)),
    ]
    current = [
        HoursRow(
            row.weekday, row.start_time, row.end_time, row.valid_from, date(2027, 1, 4) if row.weekday == 1 else None
        )
        for row in hours_of(desk)
    ]
    actions.configure_location(location=desk, fields={}, opening_hours=current + later_period, now=monday_morning)
    assert OpeningHours.objects.filter(location=desk, weekday=1).count() == 3

    overlapping = [HoursRow(weekday=1, start_time=time(11, 0), end_time=time(12, 0), valid_from=date(2027, 2, 1))]
    with pytest.raises(BookingError):
        actions.configure_location(
            location=desk, fields={}, opening_hours=current + later_period + overlapping, now=monday_morning
        )


def test_the_admin_refuses_overlapping_opening_hours(admin_client, desk):
    before = hours_of(desk)
    total = len(before)
    data = location_post_data(desk) | management_forms_for_existing(desk)
    data |= {
        "opening_hours-TOTAL_FORMS": str(total + 1),
        f"opening_hours-{total}-weekday": "1",
        f"opening_hours-{total}-start_time": "10:00",
        f"opening_hours-{total}-end_time": "14:00",
    }

    response = admin_client.post(admin_url(Location, "change", desk.pk), data)

    assert response.status_code == 200
    assert "must not overlap" in response.content.decode()
    assert hours_of(desk) == before


# ---- counters ---------------------------------------------------------------------------------


def spec_of(counter: Counter, **changes) -> CounterSpec:
    values = {
        "pk": counter.pk,
        "name": counter.name,
        "service_ids": frozenset(counter.services.values_list("pk", flat=True)),
        "is_active": counter.is_active,
    } | changes
    return CounterSpec(**values)


def booked_counter(desk, service, monday_morning) -> tuple[Appointment, Counter]:
    appointment = book(desk, service, monday_morning)
    counter = Counter.objects.get(claims__appointment=appointment)
    return appointment, counter


def test_a_counter_that_still_serves_live_appointments_cannot_be_made_inactive(desk, service, monday_morning):
    appointment, counter = booked_counter(desk, service, monday_morning)

    with pytest.raises(ConfigurationRefused) as refused:
        actions.configure_location(
            location=desk, fields={}, counters=[spec_of(counter, is_active=False)], now=monday_morning
        )

    assert refused.value.code == actions.COUNTER_IN_USE
    assert appointment.reference in refused.value.message
    counter.refresh_from_db()
    assert counter.is_active


def test_a_service_cannot_be_taken_from_a_counter_that_serves_it_in_a_live_appointment(desk, service, monday_morning):
    appointment, counter = booked_counter(desk, service, monday_morning)
    other = ServiceFactory()
    counter.services.add(other)
    offer(counter.location, [other])

    with pytest.raises(ConfigurationRefused):
        actions.configure_location(
            location=desk, fields={}, counters=[spec_of(counter, service_ids=frozenset({other.pk}))], now=monday_morning
        )
    # Taking the other service (no appointment needs it there) is fine.
    actions.configure_location(
        location=desk, fields={}, counters=[spec_of(counter, service_ids=frozenset({service.pk}))], now=monday_morning
    )
    assert list(counter.services.all()) == [service]


def test_a_counter_with_only_a_lapsed_hold_is_made_inactive_and_the_hold_claims_elsewhere(
    desk, service, monday_morning
):
    held = actions.hold_slot(location=desk, service=service, start=TUESDAY_9, persons=1, now=monday_morning)
    counter = Counter.objects.get(claims__appointment=held)
    later = held.hold_expires_at + timedelta(minutes=1)

    actions.configure_location(location=desk, fields={}, counters=[spec_of(counter, is_active=False)], now=later)
    result = actions.confirm_hold(
        appointment=held, names=[PersonName("Ann", "E")], contact_email="a@example.org", now=later
    )

    assert result.appointment.status == AppointmentStatus.BOOKED
    assert counter.pk not in set(SlotClaim.objects.filter(appointment=held).values_list("counter_id", flat=True))


def test_the_admin_refuses_to_make_a_busy_counter_inactive_on_both_pages(admin_client, desk, service):
    appointment = book(desk, service, timezone.now(), start=next_tuesday_9())
    counter = Counter.objects.get(claims__appointment=appointment)
    index = list(desk.counters.order_by("pk")).index(counter)
    data = location_post_data(desk) | management_forms_for_existing(desk)
    data[f"counters-{index}-is_active"] = ""

    on_location_page = admin_client.post(admin_url(Location, "change", desk.pk), data)
    on_counter_page = admin_client.post(
        admin_url(Counter, "change", counter.pk),
        {"name": counter.name, "services": [str(service.pk)], "is_active": ""},
    )

    for response in (on_location_page, on_counter_page):
        assert response.status_code == 200
        assert appointment.reference in response.content.decode()
    counter.refresh_from_db()
    assert counter.is_active


def test_a_counter_that_ever_had_claims_is_not_deleted_and_a_location_with_appointments_neither(
    admin_client, desk, service, monday_morning
):
    _appointment, counter = booked_counter(desk, service, monday_morning)

    with pytest.raises(ConfigurationRefused):
        actions.configure_location(
            location=desk, fields={}, counters=[spec_of(counter, delete=True)], now=monday_morning
        )
    with pytest.raises(ConfigurationRefused):
        actions.delete_location(location=desk, now=monday_morning)

    response = admin_client.post(admin_url(Counter, "delete", counter.pk), {"post": "yes"})
    assert response.status_code in (200, 302)
    assert Counter.objects.filter(pk=counter.pk).exists()
    assert Location.objects.filter(pk=desk.pk).exists()


def test_an_unused_counter_and_location_can_be_deleted(monday_morning):
    location = actions.configure_location(
        location=None,
        fields={
            "name": "Pop-up desk",
            "slug": "pop-up",
            "short_code": "POP",
            "street": "Markt 1",
            "postcode": "6211 CK",
            "city": "Maastricht",
        },
        counters=[CounterSpec(pk=None, name="Counter 1", service_ids=frozenset())],
        opening_hours=[HoursRow(weekday=2, start_time=time(9), end_time=time(12))],
        now=monday_morning,
    )
    counter = location.counters.get()
    actions.configure_location(
        location=location, fields={}, counters=[spec_of(counter, delete=True)], now=monday_morning
    )
    actions.delete_location(location=location, now=monday_morning)
    assert not Location.objects.filter(pk=location.pk).exists()
    kinds = list(ConfigurationEvent.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == [
        ConfigurationKind.LOCATION_ADDED,
        ConfigurationKind.COUNTER_ADDED,
        ConfigurationKind.HOURS_CHANGED,
        ConfigurationKind.COUNTER_DELETED,
        ConfigurationKind.LOCATION_DELETED,
    ]


# ---- lapsed holds meet the rules as they are now -------------------------------------------------


def test_a_lapsed_hold_is_refused_after_its_hours_were_cut(desk, service, monday_morning):
    held = actions.hold_slot(location=desk, service=service, start=TUESDAY_9, persons=1, now=monday_morning)
    later = held.hold_expires_at + timedelta(minutes=1)
    rows = [
        HoursRow(
            row.weekday, time(10) if row.weekday == 1 and row.start_time == time(9) else row.start_time, row.end_time
        )
        for row in hours_of(desk)
    ]
    actions.configure_location(location=desk, fields={}, opening_hours=rows, now=later)

    with pytest.raises(BookingError) as refused:
        actions.confirm_hold(appointment=held, names=[PersonName("Ann", "E")], contact_email="a@example.org", now=later)

    assert refused.value.code == BookingError.CLOSED


def test_a_lapsed_hold_is_refused_beyond_a_shortened_horizon(desk, service, monday_morning):
    far = datetime(2026, 12, 29, 9, 0, tzinfo=AMSTERDAM)
    held = actions.hold_slot(location=desk, service=service, start=far, persons=1, now=monday_morning)
    Service.objects.filter(pk=service.pk).update(booking_horizon_days=7)

    with pytest.raises(BookingError) as refused:
        actions.confirm_hold(
            appointment=held,
            names=[PersonName("Ann", "E")],
            contact_email="a@example.org",
            now=held.hold_expires_at + timedelta(minutes=1),
        )

    assert refused.value.code == BookingError.OUTSIDE_HORIZON


# ---- the audit trail of the configuration ---------------------------------------------------------


def test_closures_hours_blocks_and_their_end_record_who_and_when(desk, service, monday_morning):
    staff = desk_admin()
    actions.add_closure(
        location=desk,
        start_date=date(2026, 12, 8),
        end_date=date(2026, 12, 8),
        reason="Training",
        now=monday_morning,
        actor=staff,
    )
    actions.change_opening_hours(
        location=desk,
        change=actions.hours.hours_rules.HoursChange(weekday=2, intervals=((time(9), time(12)),)),
        now=monday_morning,
        actor=staff,
    )
    block = actions.block_counter(
        counter=desk.counters.first(),
        start=TUESDAY_10,
        end=TUESDAY_10 + timedelta(hours=1),
        reason="Ill",
        now=monday_morning,
        actor=staff,
    )
    actions.end_counter_block(block=block, now=monday_morning, actor=staff)

    events = list(ConfigurationEvent.objects.filter(location=desk).order_by("pk"))
    assert [event.kind for event in events] == [
        ConfigurationKind.CLOSURE_ADDED,
        ConfigurationKind.HOURS_CHANGED,
        ConfigurationKind.BLOCK_ADDED,
        ConfigurationKind.BLOCK_ENDED,
    ]
    assert {event.actor for event in events} == {staff}
    assert {event.at for event in events} == {monday_morning}
    assert "Training" in events[0].detail and "09:00–12:00" in events[1].detail


def test_hold_expiry_is_recorded_as_done_by_the_system(desk, service, monday_morning):
    held = actions.hold_slot(location=desk, service=service, start=TUESDAY_9, persons=1, now=monday_morning)
    later = held.hold_expires_at + timedelta(minutes=1)

    assert actions.expire_holds(now=later) == 1

    event = AppointmentEvent.objects.get(appointment=held, kind=EventKind.EXPIRED)
    assert (event.actor, event.at) == (None, later)


# ---- one place bumps the cached answers, from every path ----------------------------------------------


def _version(location) -> str:
    return version_token(location_id=location.pk) + "/" + version_token(location_id=location.pk, day=TUESDAY)


PATHS = {
    "hold": lambda d, s, now: actions.hold_slot(location=d, service=s, start=TUESDAY_10, persons=1, now=now),
    "book": lambda d, s, now: book(d, s, now, start=TUESDAY_10),
    "cancel": lambda d, s, now: actions.cancel_appointment(appointment=d._booked, now=now),
    "move": lambda d, s, now: actions.reschedule_appointment(appointment=d._booked, new_start=TUESDAY_10, now=now),
    "walk-in": lambda d, s, now: actions.walk_in(
        location=d, service=s, names=[PersonName("Walk", "In")], now=TUESDAY_9 - timedelta(minutes=5), actor=None
    ),
    "expire holds": lambda d, s, now: actions.expire_holds(now=d._held.hold_expires_at + timedelta(seconds=1)),
    "closure": lambda d, s, now: actions.add_closure(
        location=d, start_date=date(2026, 12, 8), end_date=date(2026, 12, 8), reason="x", now=now
    ),
    "hours": lambda d, s, now: actions.configure_location(
        location=d, fields={}, opening_hours=hours_of(d)[:-1], now=now
    ),
    "counter": lambda d, s, now: actions.configure_location(
        location=d, fields={}, counters=[spec_of(d.counters.order_by("pk").last(), is_active=False)], now=now
    ),
    "block": lambda d, s, now: actions.block_counter(
        counter=d.counters.order_by("pk").last(),
        start=TUESDAY_10,
        end=TUESDAY_10 + timedelta(hours=1),
        reason="x",
        now=now,
        actor=None,
    ),
    "erasure": lambda d, s, now: actions.erase_personal_data(email="moved@example.org", now=now, actor=None),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_change_of_free_capacity_bumps_the_cached_answers_after_its_commit(
    desk, service, monday_morning, path, django_capture_on_commit_callbacks
):
    desk._booked = actions.book_appointment(
        location=desk,
        service=service,
        start=TUESDAY_9,
        names=[PersonName("Ann", "E")],
        contact_email="moved@example.org",
        now=monday_morning,
    ).appointment
    desk._held = actions.hold_slot(
        location=desk, service=service, start=TUESDAY_9 + timedelta(minutes=30), persons=1, now=monday_morning
    )
    cache.clear()
    before = _version(desk)

    with django_capture_on_commit_callbacks(execute=True):
        PATHS[path](desk, service, monday_morning)

    assert _version(desk) != before


def test_a_check_in_changes_no_free_capacity_and_bumps_nothing(desk, service, django_capture_on_commit_callbacks):
    now = TUESDAY_9 - timedelta(minutes=30)
    appointment = book(desk, service, now - timedelta(days=1))
    before = _version(desk)

    with django_capture_on_commit_callbacks(execute=True):
        actions.check_in(appointment=appointment, now=now, actor=None)

    assert _version(desk) == before
