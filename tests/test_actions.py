"""Actions: hold, confirm, book, cancel, reschedule and expire holds; every refusal writes nothing.

The `desk` fixture has three counters serving `service` (15 minutes a person, no minimum notice,
42 days horizon, at most 6 persons) and opens Tuesday–Thursday 09:00–12:30 and 13:30–17:00.
`monday_morning` is Monday 30 November 2026 08:00 in Amsterdam.
"""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.conf import settings

from bookings import actions
from bookings.actions import BookingError, PersonName
from bookings.availability import free_slots
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Closure,
    EventKind,
    OutboxEmail,
    Person,
    SlotClaim,
)
from bookings.municipalities import PARTICIPATING_MUNICIPALITIES
from bookings.tokens import token_matches
from services.models import Service
from tests.support.env import AMSTERDAM
from tests.support.factories import CounterFactory, ServiceFactory, make_desk, offer

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)
HOLD = timedelta(minutes=settings.EXPATDESK_HOLD_MINUTES)


def at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def names(count: int) -> list[PersonName]:
    return [PersonName(first_name=f"Person {index + 1}", last_name="Jansen") for index in range(count)]


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Appointment, SlotClaim, Person, AppointmentEvent, OutboxEmail)
    }


def claimed_units(appointment: Appointment) -> set[tuple[int, datetime]]:
    return {
        (counter_id, unit.astimezone(UTC))
        for counter_id, unit in SlotClaim.objects.filter(appointment=appointment).values_list(
            "counter_id", "unit_start"
        )
    }


def event_kinds(appointment: Appointment) -> list[str]:
    return list(AppointmentEvent.objects.filter(appointment=appointment).values_list("kind", flat=True))


def first_starts(location, service, day: date, now: datetime, persons: int = 1) -> list[str]:
    result = free_slots(location=location, service=service, persons=persons, start_date=day, end_date=day, now=now)
    return [slot.start.astimezone(AMSTERDAM).strftime("%H:%M") for slot in result.get(day, [])]


def assert_refused(code: str, action, **kwargs) -> BookingError:
    """The action raises BookingError(code) with a message, and not a row was written."""
    before = row_counts()
    with pytest.raises(BookingError) as caught:
        action(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert str(caught.value.message)
    assert row_counts() == before
    return caught.value


@pytest.fixture
def one_counter(db, service):
    return make_desk(services=[service], counters=1)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="desk", password="a-long-test-password")


# ---- happy paths ------------------------------------------------------------------------------


def test_hold_slot(desk, service, monday_morning):
    before = row_counts()
    held = actions.hold_slot(location=desk, service=service, start=at(TUESDAY, "09:00"), persons=3, now=monday_morning)
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD
    assert re.fullmatch(rf"{desk.short_code}-[A-Z2-9]{{4}}-[A-Z2-9]{{4}}", held.reference)
    assert held.hold_expires_at == monday_morning + HOLD
    assert (held.start, held.end) == (at(TUESDAY, "09:00"), at(TUESDAY, "09:15"))  # three counters at once
    claims = list(held.claims.all())
    assert len(claims) == 3
    assert {claim.expires_at for claim in claims} == {monday_morning + HOLD}
    assert event_kinds(held) == [EventKind.HELD]
    assert row_counts()["Person"] == before["Person"]  # no names until confirmed
    assert first_starts(desk, service, TUESDAY, monday_morning)[0] == "09:15"


def test_confirm_hold(desk, service, monday_morning):
    held = actions.hold_slot(location=desk, service=service, start=at(TUESDAY, "09:00"), persons=2, now=monday_morning)
    later = monday_morning + timedelta(minutes=4)
    result = actions.confirm_hold(
        appointment=held, names=names(2), contact_email="ana@example.org", phone="+31 6 1234 5678", now=later
    )
    booked = Appointment.objects.get(pk=held.pk)
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.booked_at == later
    assert booked.hold_expires_at is None
    assert booked.contact_email == "ana@example.org"
    assert [str(person) for person in booked.people.all()] == ["Person 1 Jansen", "Person 2 Jansen"]
    assert set(booked.claims.values_list("expires_at", flat=True)) == {None}
    assert booked.claims.count() == 2
    assert token_matches(token=result.manage_token, token_hash=booked.manage_token_hash)
    assert event_kinds(booked) == [EventKind.HELD, EventKind.BOOKED]
    # A confirmed booking does not lapse.
    assert actions.expire_holds(now=later + timedelta(hours=1)) == 0
    assert Appointment.objects.get(pk=held.pk).claims.count() == 2


def test_book_appointment_by_staff_on_a_chosen_counter(desk, service, monday_morning, staff):
    counter = desk.counters.get(name="Counter 2")
    before = row_counts()
    result = actions.book_appointment(
        location=desk,
        service=service,
        start=at(TUESDAY, "09:00"),
        names=names(2),
        contact_email="hr@employer.example",
        now=monday_morning,
        counter=counter,
        booked_by=staff,
    )
    booked = Appointment.objects.get(pk=result.appointment.pk)
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.booked_by == staff
    assert booked.end == at(TUESDAY, "09:30")  # both persons on counter 2, one after the other
    assert set(booked.claims.values_list("counter_id", flat=True)) == {counter.pk}
    assert booked.people.count() == 2
    assert token_matches(token=result.manage_token, token_hash=booked.manage_token_hash)
    events = list(booked.events.all())
    assert [(e.kind, e.actor) for e in events] == [(EventKind.BOOKED, staff)]
    after = row_counts()
    assert after["Appointment"] == before["Appointment"] + 1
    assert after["SlotClaim"] == before["SlotClaim"] + 2


def test_staff_may_book_at_short_notice_but_not_online(desk, monday_morning):
    service = ServiceFactory(minimum_notice_minutes=24 * 60)
    for counter in desk.counters.all():
        counter.services.add(service)
        offer(counter.location, [service])
    now = at(TUESDAY, "08:00")
    result = actions.book_appointment(
        location=desk, service=service, start=at(TUESDAY, "09:00"), names=names(1), now=now
    )
    assert result.appointment.status == AppointmentStatus.BOOKED
    assert_refused(
        BookingError.TOO_SOON,
        actions.hold_slot,
        location=desk,
        service=service,
        start=at(TUESDAY, "09:15"),
        persons=1,
        now=now,
    )


def test_cancel_appointment(desk, service, monday_morning, staff):
    booked = actions.book_appointment(
        location=desk, service=service, start=at(TUESDAY, "09:00"), names=names(3), now=monday_morning
    ).appointment
    assert first_starts(desk, service, TUESDAY, monday_morning)[0] == "09:15"
    later = monday_morning + timedelta(hours=1)
    cancelled = actions.cancel_appointment(appointment=booked, now=later, reason="Found another date", actor=staff)
    cancelled.refresh_from_db()
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancelled_at == later
    assert cancelled.sequence == booked.sequence + 1
    assert cancelled.claims.count() == 0
    assert first_starts(desk, service, TUESDAY, monday_morning)[0] == "09:00"
    last = cancelled.events.last()
    assert (last.kind, last.actor, last.detail) == (EventKind.CANCELLED, staff, "Found another date")


def test_cancel_a_hold(desk, service, monday_morning):
    held = actions.hold_slot(location=desk, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning)
    actions.cancel_appointment(appointment=held, now=monday_morning + timedelta(minutes=1))
    assert Appointment.objects.get(pk=held.pk).status == AppointmentStatus.CANCELLED
    assert SlotClaim.objects.filter(appointment=held).count() == 0
    assert event_kinds(held) == [EventKind.HELD, EventKind.CANCELLED]


def test_reschedule_appointment(desk, service, monday_morning):
    booked = actions.book_appointment(
        location=desk, service=service, start=at(TUESDAY, "09:00"), names=names(2), now=monday_morning
    ).appointment
    moved = actions.reschedule_appointment(appointment=booked, new_start=at(WEDNESDAY, "14:00"), now=monday_morning)
    moved.refresh_from_db()
    assert (moved.start, moved.end) == (at(WEDNESDAY, "14:00"), at(WEDNESDAY, "14:15"))
    assert moved.sequence == booked.sequence + 1
    assert {unit for _counter, unit in claimed_units(moved)} == {at(WEDNESDAY, "14:00").astimezone(UTC)}
    assert len(claimed_units(moved)) == 2
    assert first_starts(desk, service, TUESDAY, monday_morning, persons=3)[0] == "09:00"  # old slot freed
    assert event_kinds(moved) == [EventKind.BOOKED, EventKind.RESCHEDULED]
    old, new = (datetime.fromisoformat(part) for part in moved.events.last().detail.split(" → "))
    assert (old, new) == (at(TUESDAY, "09:00"), at(WEDNESDAY, "14:00"))


def test_expire_holds(desk, service, monday_morning):
    old = actions.hold_slot(location=desk, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning)
    fresh = actions.hold_slot(
        location=desk,
        service=service,
        start=at(TUESDAY, "10:00"),
        persons=1,
        now=monday_morning + timedelta(minutes=5),
    )
    booked = actions.book_appointment(
        location=desk, service=service, start=at(TUESDAY, "11:00"), names=names(1), now=monday_morning
    ).appointment
    sweep = monday_morning + HOLD
    assert actions.expire_holds(now=sweep) == 1
    assert Appointment.objects.get(pk=old.pk).status == AppointmentStatus.EXPIRED
    assert old.claims.count() == 0
    assert Appointment.objects.get(pk=fresh.pk).status == AppointmentStatus.HELD
    assert fresh.claims.count() == 1
    assert Appointment.objects.get(pk=booked.pk).status == AppointmentStatus.BOOKED
    assert booked.claims.count() == 1
    assert actions.expire_holds(now=sweep) == 0  # nothing left to do


def test_a_hold_lasts_ten_minutes_of_real_time_across_the_autumn_change(service):
    """25 October 2026 02:55 (summer time) + 10 minutes is 02:05 winter time, not 03:05."""
    sunday_desk = make_desk(services=[service], weekdays=(6,))
    now = datetime(2026, 10, 25, 2, 55, tzinfo=AMSTERDAM)
    held = actions.hold_slot(
        location=sunday_desk, service=service, start=at(date(2026, 10, 25), "09:00"), persons=1, now=now
    )
    assert held.hold_expires_at == now.astimezone(UTC) + HOLD
    assert actions.expire_holds(now=now.astimezone(UTC) + HOLD + timedelta(minutes=1)) == 1


# ---- holds that lapsed ------------------------------------------------------------------------


def test_confirm_after_lapse_when_the_slot_is_still_ours(one_counter, service, monday_morning):
    held = actions.hold_slot(
        location=one_counter, service=service, start=at(TUESDAY, "09:00"), persons=2, now=monday_morning
    )
    units = claimed_units(held)
    late = monday_morning + HOLD + timedelta(minutes=20)
    actions.confirm_hold(appointment=held, names=names(2), contact_email="a@example.org", now=late)
    booked = Appointment.objects.get(pk=held.pk)
    assert booked.status == AppointmentStatus.BOOKED
    assert claimed_units(booked) == units
    assert set(booked.claims.values_list("expires_at", flat=True)) == {None}


def test_confirm_after_the_sweep_claims_the_slot_again(one_counter, service, monday_morning):
    held = actions.hold_slot(
        location=one_counter, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning
    )
    late = monday_morning + HOLD + timedelta(minutes=1)
    assert actions.expire_holds(now=late) == 1
    assert held.claims.count() == 0
    actions.confirm_hold(appointment=held, names=names(1), contact_email="a@example.org", now=late)
    booked = Appointment.objects.get(pk=held.pk)
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.claims.count() == 1
    assert first_starts(one_counter, service, TUESDAY, late)[0] == "09:15"


def test_confirm_after_lapse_when_another_took_the_slot(one_counter, service, monday_morning):
    held = actions.hold_slot(
        location=one_counter, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning
    )
    late = monday_morning + HOLD + timedelta(minutes=1)
    other = actions.hold_slot(location=one_counter, service=service, start=at(TUESDAY, "09:00"), persons=1, now=late)
    other_units = claimed_units(other)
    assert_refused(
        BookingError.SLOT_TAKEN,
        actions.confirm_hold,
        appointment=held,
        names=names(1),
        contact_email="a@example.org",
        now=late + timedelta(minutes=1),
    )
    assert Appointment.objects.get(pk=held.pk).status == AppointmentStatus.HELD
    assert claimed_units(other) == other_units


def test_confirm_after_lapse_moves_to_another_free_counter(desk, service, monday_morning):
    held = actions.hold_slot(location=desk, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning)
    ((held_counter, _unit),) = claimed_units(held)
    late = monday_morning + HOLD + timedelta(minutes=1)
    actions.book_appointment(
        location=desk,
        service=service,
        start=at(TUESDAY, "09:00"),
        names=names(1),
        now=late,
        counter=desk.counters.get(pk=held_counter),
    )
    actions.confirm_hold(appointment=held, names=names(1), contact_email="a@example.org", now=late)
    booked = Appointment.objects.get(pk=held.pk)
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.start == at(TUESDAY, "09:00")
    ((counter_now, _unit),) = claimed_units(booked)
    assert counter_now != held_counter


def test_an_unexpired_hold_blocks_and_an_expired_one_gives_way(settings, one_counter, service, monday_morning):
    # The transaction's own rule, to the second: no refusal remembered for a moment (tests/test_taken_remembered.py).
    settings.EXPATDESK_TAKEN_REMEMBERED_MS = 0
    actions.hold_slot(location=one_counter, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning)
    assert_refused(
        BookingError.SLOT_TAKEN,
        actions.hold_slot,
        location=one_counter,
        service=service,
        start=at(TUESDAY, "09:00"),
        persons=1,
        now=monday_morning + HOLD - timedelta(seconds=1),
    )
    taker = actions.hold_slot(
        location=one_counter, service=service, start=at(TUESDAY, "09:00"), persons=1, now=monday_morning + HOLD
    )
    assert taker.claims.count() == 1


# ---- rescheduling -----------------------------------------------------------------------------


def test_reschedule_onto_a_taken_slot_keeps_the_old_one(one_counter, service, monday_morning):
    mine = actions.book_appointment(
        location=one_counter, service=service, start=at(TUESDAY, "09:00"), names=names(1), now=monday_morning
    ).appointment
    actions.book_appointment(
        location=one_counter, service=service, start=at(TUESDAY, "10:00"), names=names(1), now=monday_morning
    )
    units = claimed_units(mine)
    error = assert_refused(
        BookingError.SLOT_TAKEN,
        actions.reschedule_appointment,
        appointment=mine,
        new_start=at(TUESDAY, "10:00"),
        now=monday_morning,
    )
    assert "taken" in str(error.message)
    kept = Appointment.objects.get(pk=mine.pk)
    assert (kept.start, kept.end, kept.sequence, kept.status) == (mine.start, mine.end, mine.sequence, mine.status)
    assert claimed_units(kept) == units


def test_reschedule_overlapping_its_own_old_units(one_counter, monday_morning):
    half_hour = ServiceFactory(duration_minutes=30)
    one_counter.counters.get().services.add(half_hour)
    offer(one_counter.counters.get().location, [half_hour])
    mine = actions.book_appointment(
        location=one_counter, service=half_hour, start=at(TUESDAY, "09:00"), names=names(1), now=monday_morning
    ).appointment
    actions.book_appointment(
        location=one_counter, service=half_hour, start=at(TUESDAY, "09:45"), names=names(1), now=monday_morning
    )
    # 09:15–09:45 shares 09:15 with the old 09:00–09:30 and fits only if the old units count as free.
    moved = actions.reschedule_appointment(appointment=mine, new_start=at(TUESDAY, "09:15"), now=monday_morning)
    assert (moved.start, moved.end) == (at(TUESDAY, "09:15"), at(TUESDAY, "09:45"))
    assert {unit for _c, unit in claimed_units(moved)} == {
        at(TUESDAY, "09:15").astimezone(UTC),
        at(TUESDAY, "09:30").astimezone(UTC),
    }
    # And back again, overlapping the other way.
    actions.reschedule_appointment(appointment=moved, new_start=at(TUESDAY, "09:00"), now=monday_morning)
    assert {unit for _c, unit in claimed_units(moved)} == {
        at(TUESDAY, "09:00").astimezone(UTC),
        at(TUESDAY, "09:15").astimezone(UTC),
    }


def test_reschedule_a_family_by_one_step_on_one_counter(one_counter, service, monday_morning):
    family = actions.book_appointment(
        location=one_counter, service=service, start=at(TUESDAY, "09:00"), names=names(3), now=monday_morning
    ).appointment
    assert family.end == at(TUESDAY, "09:45")
    moved = actions.reschedule_appointment(appointment=family, new_start=at(TUESDAY, "09:15"), now=monday_morning)
    assert moved.end == at(TUESDAY, "10:00")
    assert len(claimed_units(moved)) == 3
    assert first_starts(one_counter, service, TUESDAY, monday_morning)[0] == "09:00"


def test_reschedule_to_a_chosen_counter(desk, service, monday_morning, staff):
    booked = actions.book_appointment(
        location=desk, service=service, start=at(TUESDAY, "09:00"), names=names(1), now=monday_morning
    ).appointment
    counter = desk.counters.get(name="Counter 3")
    moved = actions.reschedule_appointment(
        appointment=booked, new_start=at(TUESDAY, "11:00"), now=monday_morning, counter=counter, actor=staff
    )
    assert claimed_units(moved) == {(counter.pk, at(TUESDAY, "11:00").astimezone(UTC))}
    assert moved.events.last().actor == staff


# ---- bad input: hold_slot and book_appointment ------------------------------------------------


@pytest.fixture
def registration(db, desk):
    """A service that requires living in a participating municipality, served at `desk`."""
    service = ServiceFactory(requires_municipality=True)
    for counter in desk.counters.all():
        counter.services.add(service)
        offer(counter.location, [service])
    return service


def hold_kwargs(desk, service, monday_morning, **overrides):
    kwargs = {
        "location": desk,
        "service": service,
        "start": at(TUESDAY, "09:00"),
        "persons": 1,
        "now": monday_morning,
    }
    kwargs.update(overrides)
    return kwargs


def book_kwargs(desk, service, monday_morning, **overrides):
    kwargs = {
        "location": desk,
        "service": service,
        "start": at(TUESDAY, "09:00"),
        "names": names(1),
        "now": monday_morning,
        "enforce_notice": True,
    }
    kwargs.update(overrides)
    return kwargs


BAD_STARTS = [
    pytest.param("in_past", {"start": at(date(2026, 11, 24), "09:00")}, id="past-time"),
    pytest.param("in_past", {"now": at(TUESDAY, "10:00")}, id="earlier-today"),
    pytest.param("closed", {"start": at(date(2026, 12, 4), "09:00")}, id="closed-weekday"),
    pytest.param("closed", {"start": at(TUESDAY, "12:45")}, id="lunch-break"),
    pytest.param("closed", {"start": at(TUESDAY, "17:00")}, id="after-closing"),
    pytest.param("closed", {"start": at(TUESDAY, "12:15"), "long": True}, id="does-not-fit-before-lunch"),
    pytest.param(
        "closed",
        {"start": at(date(2027, 4, 27), "09:00"), "now": datetime(2027, 4, 26, 8, tzinfo=AMSTERDAM)},
        id="kings-day",
    ),
    pytest.param("closed", {"start": at(WEDNESDAY, "09:00"), "closure": True}, id="admin-closure"),
    pytest.param("closed", {"inactive_location": True}, id="inactive-location"),
    pytest.param("off_grid", {"start": at(TUESDAY, "09:05")}, id="off-grid-minutes"),
    pytest.param("off_grid", {"start": at(TUESDAY, "09:00") + timedelta(seconds=30)}, id="off-grid-seconds"),
    pytest.param("off_grid", {"start": datetime(2026, 12, 1, 9, 0)}, id="naive-time"),
    pytest.param("outside_horizon", {"start": at(date(2027, 1, 12), "09:00")}, id="beyond-horizon"),
    pytest.param("too_soon", {"now": at(TUESDAY, "08:00"), "notice": 120}, id="too-soon"),
    pytest.param("service_inactive", {"inactive_service": True}, id="inactive-service"),
    pytest.param("service_inactive", {"deleted_service": True}, id="unknown-service"),
    pytest.param("service_inactive", {"unsaved_service": True}, id="unsaved-service"),
    pytest.param("counter_inactive", {"no_active_counter": True}, id="no-active-counter"),
    pytest.param("counter_inactive", {"not_served": True}, id="service-not-served-here"),
]


def apply_scenario(desk, service, extra: dict):
    """Turn the scenario flags into a service (and database state); returns the start/now overrides."""
    extra = dict(extra)
    if extra.pop("long", False):
        service = ServiceFactory(duration_minutes=30)
        for counter in desk.counters.all():
            counter.services.add(service)
            offer(counter.location, [service])
    if extra.pop("inactive_location", False):
        desk.is_active = False
        desk.save(update_fields=["is_active"])
    if extra.pop("closure", False):
        Closure.objects.create(location=desk, start_date=WEDNESDAY, end_date=WEDNESDAY, reason="Training")
    notice = extra.pop("notice", None)
    if notice is not None:
        service.minimum_notice_minutes = notice
        service.save(update_fields=["minimum_notice_minutes"])
    if extra.pop("inactive_service", False):
        service.is_active = False
        service.save(update_fields=["is_active"])
    if extra.pop("deleted_service", False):
        stale = ServiceFactory()
        for counter in desk.counters.all():
            counter.services.add(stale)
            offer(counter.location, [stale])
        Service.objects.filter(pk=stale.pk).delete()
        service = stale
    if extra.pop("unsaved_service", False):
        service = ServiceFactory.build()
    if extra.pop("no_active_counter", False):
        desk.counters.update(is_active=False)
    if extra.pop("not_served", False):
        service = ServiceFactory()
    return service, extra


@pytest.mark.parametrize(("code", "scenario"), BAD_STARTS)
def test_hold_slot_refuses(desk, service, monday_morning, code, scenario):
    service, overrides = apply_scenario(desk, service, scenario)
    assert_refused(code, actions.hold_slot, **hold_kwargs(desk, service, monday_morning, **overrides))


@pytest.mark.parametrize(("code", "scenario"), BAD_STARTS)
def test_book_appointment_refuses(desk, service, monday_morning, code, scenario):
    service, overrides = apply_scenario(desk, service, scenario)
    assert_refused(code, actions.book_appointment, **book_kwargs(desk, service, monday_morning, **overrides))


@pytest.mark.parametrize(("persons", "code"), [(0, "too_few_persons"), (7, "too_many_persons")])
def test_hold_slot_refuses_persons(desk, service, monday_morning, persons, code):
    assert_refused(code, actions.hold_slot, **hold_kwargs(desk, service, monday_morning, persons=persons))


@pytest.mark.parametrize(("persons", "code"), [(0, "too_few_persons"), (7, "too_many_persons")])
def test_book_appointment_refuses_persons(desk, service, monday_morning, persons, code):
    assert_refused(code, actions.book_appointment, **book_kwargs(desk, service, monday_morning, names=names(persons)))


def test_more_persons_than_the_service_allows(desk, monday_morning):
    single = ServiceFactory(max_persons=2)
    for counter in desk.counters.all():
        counter.services.add(single)
        offer(counter.location, [single])
    error = assert_refused(
        BookingError.TOO_MANY_PERSONS, actions.hold_slot, **hold_kwargs(desk, single, monday_morning, persons=3)
    )
    assert "2" in str(error.message)
    assert_refused(
        BookingError.TOO_MANY_PERSONS,
        actions.book_appointment,
        **book_kwargs(desk, single, monday_morning, names=names(3)),
    )


@pytest.mark.parametrize(
    ("municipality", "code"),
    [
        ("", "municipality_required"),
        ("Amsterdam", "municipality_not_participating"),
        ("Aachen", "municipality_not_participating"),
    ],
)
def test_registration_needs_a_participating_municipality(desk, registration, monday_morning, municipality, code):
    assert_refused(
        code, actions.hold_slot, **hold_kwargs(desk, registration, monday_morning, municipality=municipality)
    )
    assert_refused(
        code,
        actions.book_appointment,
        **book_kwargs(desk, registration, monday_morning, municipality=municipality),
    )


@pytest.mark.parametrize("municipality", PARTICIPATING_MUNICIPALITIES)
def test_every_participating_municipality_is_accepted(desk, registration, monday_morning, municipality):
    held = actions.hold_slot(**hold_kwargs(desk, registration, monday_morning, municipality=municipality))
    assert held.municipality == municipality


def test_municipality_list_has_the_seventeen():
    assert len(PARTICIPATING_MUNICIPALITIES) == 17
    assert {"Maastricht", "Echt-Susteren", "Valkenburg aan de Geul"} <= set(PARTICIPATING_MUNICIPALITIES)


def test_book_appointment_refuses_bad_counters(desk, service, monday_morning):
    inactive = desk.counters.get(name="Counter 1")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    not_serving = CounterFactory(location=desk, name="Counter IND", services=[ServiceFactory()])
    elsewhere = make_desk(services=[service]).counters.first()
    for counter, code in (
        (inactive, BookingError.COUNTER_INACTIVE),
        (not_serving, BookingError.COUNTER_INACTIVE),
        (elsewhere, BookingError.WRONG_LOCATION),
    ):
        assert_refused(code, actions.book_appointment, **book_kwargs(desk, service, monday_morning, counter=counter))


@pytest.mark.parametrize(
    "bad_names",
    [
        [PersonName("", "Jansen")],
        [PersonName("Ana", "  ")],
    ],
)
def test_book_appointment_refuses_missing_names(desk, service, monday_morning, bad_names):
    assert_refused(
        BookingError.NAMES_MISMATCH,
        actions.book_appointment,
        **book_kwargs(desk, service, monday_morning, names=bad_names),
    )


def test_a_taken_slot_is_refused(one_counter, service, monday_morning):
    actions.book_appointment(**book_kwargs(one_counter, service, monday_morning))
    actions.book_appointment(**book_kwargs(one_counter, service, monday_morning, start=at(TUESDAY, "09:30")))
    assert_refused(BookingError.SLOT_TAKEN, actions.hold_slot, **hold_kwargs(one_counter, service, monday_morning))
    assert_refused(
        BookingError.SLOT_TAKEN, actions.book_appointment, **book_kwargs(one_counter, service, monday_morning)
    )
    # Two persons from 09:15 would fit an empty desk, but 09:30 is taken: refused as taken, not as closed.
    assert_refused(
        BookingError.SLOT_TAKEN,
        actions.hold_slot,
        **hold_kwargs(one_counter, service, monday_morning, start=at(TUESDAY, "09:15"), persons=2),
    )


# ---- bad input: confirm, cancel, reschedule ---------------------------------------------------


def test_confirm_hold_refuses(desk, service, monday_morning):
    held = actions.hold_slot(**hold_kwargs(desk, service, monday_morning, persons=2))
    later = monday_morning + timedelta(minutes=1)
    for bad_names in (names(1), names(3), [PersonName("Ana", "Silva"), PersonName("", "Silva")]):
        assert_refused(
            BookingError.NAMES_MISMATCH,
            actions.confirm_hold,
            appointment=held,
            names=bad_names,
            contact_email="a@example.org",
            now=later,
        )
    actions.confirm_hold(appointment=held, names=names(2), contact_email="a@example.org", now=later)
    assert_refused(
        BookingError.INVALID_STATUS,
        actions.confirm_hold,
        appointment=held,
        names=names(2),
        contact_email="a@example.org",
        now=later,
    )
    cancelled = actions.hold_slot(**hold_kwargs(desk, service, monday_morning, start=at(TUESDAY, "10:00")))
    actions.cancel_appointment(appointment=cancelled, now=later)
    assert_refused(
        BookingError.INVALID_STATUS,
        actions.confirm_hold,
        appointment=cancelled,
        names=names(1),
        contact_email="a@example.org",
        now=later,
    )


def test_cancel_refuses_what_is_no_longer_live(desk, service, monday_morning):
    booked = actions.book_appointment(**book_kwargs(desk, service, monday_morning)).appointment
    actions.cancel_appointment(appointment=booked, now=monday_morning)
    assert_refused(BookingError.INVALID_STATUS, actions.cancel_appointment, appointment=booked, now=monday_morning)
    held = actions.hold_slot(**hold_kwargs(desk, service, monday_morning, start=at(TUESDAY, "10:00")))
    actions.expire_holds(now=monday_morning + HOLD)
    assert_refused(BookingError.INVALID_STATUS, actions.cancel_appointment, appointment=held, now=monday_morning)


# Rescheduling keeps the booking's own service, so the service scenarios do not apply.
SERVICE_SCENARIOS = {"inactive-service", "unknown-service", "unsaved-service", "service-not-served-here"}
RESCHEDULE_BAD_STARTS = [p for p in BAD_STARTS if p.id not in SERVICE_SCENARIOS | {"does-not-fit-before-lunch"}]


@pytest.mark.parametrize(("code", "scenario"), RESCHEDULE_BAD_STARTS)
def test_reschedule_refuses(desk, service, monday_morning, code, scenario):
    booked = actions.book_appointment(
        **book_kwargs(desk, service, monday_morning, start=at(TUESDAY, "11:00"), enforce_notice=False)
    ).appointment
    units = claimed_units(booked)
    service, overrides = apply_scenario(desk, service, scenario)
    new_start = overrides.pop("start", at(TUESDAY, "09:00"))
    now = overrides.pop("now", monday_morning)
    assert_refused(code, actions.reschedule_appointment, appointment=booked, new_start=new_start, now=now)
    kept = Appointment.objects.get(pk=booked.pk)
    assert (kept.start, kept.sequence) == (booked.start, booked.sequence)
    assert claimed_units(kept) == units


def test_reschedule_refuses_bad_counters_and_status(desk, service, monday_morning):
    booked = actions.book_appointment(**book_kwargs(desk, service, monday_morning)).appointment
    inactive = desk.counters.get(name="Counter 1")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    not_serving = CounterFactory(location=desk, name="Counter IND", services=[ServiceFactory()])
    for counter in (inactive, not_serving):
        assert_refused(
            BookingError.COUNTER_INACTIVE,
            actions.reschedule_appointment,
            appointment=booked,
            new_start=at(TUESDAY, "10:00"),
            now=monday_morning,
            counter=counter,
        )
    held = actions.hold_slot(**hold_kwargs(desk, service, monday_morning, start=at(TUESDAY, "10:00")))
    assert_refused(
        BookingError.INVALID_STATUS,
        actions.reschedule_appointment,
        appointment=held,
        new_start=at(TUESDAY, "11:00"),
        now=monday_morning,
    )
    actions.cancel_appointment(appointment=booked, now=monday_morning)
    assert_refused(
        BookingError.INVALID_STATUS,
        actions.reschedule_appointment,
        appointment=booked,
        new_start=at(TUESDAY, "11:00"),
        now=monday_morning,
    )
