"""Desk actions in bookings/actions/: each one's happy path and its bad inputs (clear error, nothing changed)."""

from datetime import datetime, timedelta

import pytest

from bookings import actions
from bookings.actions import BookingError, PersonName
from bookings.availability import load_snapshot
from bookings.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    CounterBlock,
    EmailKind,
    EventKind,
    OutboxEmail,
    SlotClaim,
)
from desk.selectors import affected_by_block
from tests.support.desk import book, desk_staff
from tests.support.env import AMSTERDAM

TUESDAY = datetime(2026, 12, 1, tzinfo=AMSTERDAM)


def at(hour: int, minute: int = 0, day: datetime = TUESDAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.fixture
def staff(db, desk):
    return desk_staff()


@pytest.fixture
def booked(desk, service, monday_morning):
    return book(desk, service, at(10), now=monday_morning)


def snapshot_of(appointment: Appointment) -> tuple:
    appointment = Appointment.objects.get(pk=appointment.pk)
    claims = sorted(SlotClaim.objects.filter(appointment=appointment).values_list("counter_id", "unit_start"))
    return (
        appointment.status,
        appointment.start,
        appointment.end,
        appointment.checked_in_at,
        appointment.no_show_at,
        appointment.cancelled_at,
        claims,
        AppointmentEvent.objects.filter(appointment=appointment).count(),
    )


def test_check_in_today_records_who_did_it(booked, staff):
    appointment = actions.check_in(appointment=booked, now=at(9, 50), actor=staff).appointment
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_at == at(9, 50)
    event = AppointmentEvent.objects.filter(appointment=booked).latest("pk")
    assert (event.kind, event.actor, event.at) == (EventKind.CHECKED_IN, staff, at(9, 50))


def test_check_in_of_a_cancelled_booking_is_refused_and_changes_nothing(booked, staff, monday_morning):
    actions.cancel_appointment(appointment=booked, now=monday_morning)
    before = snapshot_of(booked)
    with pytest.raises(BookingError) as error:
        actions.check_in(appointment=booked, now=at(9, 50), actor=staff)
    assert error.value.code == BookingError.INVALID_STATUS
    assert "cancelled" in str(error.value.message)
    assert snapshot_of(booked) == before


def test_check_in_on_another_day_is_refused(booked, staff, monday_morning):
    before = snapshot_of(booked)
    with pytest.raises(BookingError) as error:
        actions.check_in(appointment=booked, now=monday_morning, actor=staff)
    assert error.value.code == actions.NOT_TODAY
    assert "Tue 1 Dec 2026" in str(error.value.message)  # the desk's one date format
    assert snapshot_of(booked) == before


def test_check_in_twice_is_refused(booked, staff):
    actions.check_in(appointment=booked, now=at(9, 50), actor=staff)
    before = snapshot_of(booked)
    with pytest.raises(BookingError, match="already checked in"):
        actions.check_in(appointment=booked, now=at(9, 51), actor=staff)
    assert snapshot_of(booked) == before


def test_start_and_finish_free_the_rest_of_the_counter_time(desk, service, staff, monday_morning):
    family = book(desk, service, at(10), now=monday_morning, names=[("A", "B")] * 1)
    # One person, one counter: move it to a two-unit stretch by booking two people at one counter.
    counter = desk.counters.first()
    long_one = book(desk, service, at(11), now=monday_morning, names=[("A", "B"), ("C", "D")], counter=counter)
    assert SlotClaim.objects.filter(appointment=long_one).count() == 2
    actions.check_in(appointment=long_one, now=at(10, 55), actor=staff)
    started = actions.start_service(appointment=long_one, now=at(11), actor=staff)
    assert started.started_at == at(11)
    with pytest.raises(BookingError, match="already started"):
        actions.start_service(appointment=long_one, now=at(11, 1), actor=staff)
    done = actions.finish_service(appointment=long_one, now=at(11, 10), actor=staff)
    assert done.status == AppointmentStatus.DONE
    # The 11:15 unit is free again; the 11:00 unit, already under way, stays on record.
    units = list(SlotClaim.objects.filter(appointment=long_one).values_list("unit_start", flat=True))
    assert units == [at(11)]
    kinds = list(AppointmentEvent.objects.filter(appointment=long_one).values_list("kind", flat=True))
    assert kinds[-3:] == [EventKind.CHECKED_IN, EventKind.STARTED, EventKind.DONE]
    assert family.status == AppointmentStatus.BOOKED


def test_finish_before_check_in_is_refused(booked, staff):
    before = snapshot_of(booked)
    with pytest.raises(BookingError, match="not been checked in"):
        actions.finish_service(appointment=booked, now=at(10, 5), actor=staff)
    assert snapshot_of(booked) == before


def test_no_show_before_the_start_time_is_refused_and_changes_nothing(booked, staff):
    before = snapshot_of(booked)
    with pytest.raises(BookingError) as error:
        actions.mark_no_show(appointment=booked, now=at(9, 59), actor=staff)
    assert error.value.code == actions.TOO_EARLY
    assert "10:00" in str(error.value.message)
    assert snapshot_of(booked) == before


def test_no_show_after_the_start_frees_the_counter_for_walk_ins(desk, service, staff, monday_morning):
    counter = desk.counters.first()
    pair = book(desk, service, at(10), now=monday_morning, names=[("A", "B"), ("C", "D")], counter=counter)
    appointment = actions.mark_no_show(appointment=pair, now=at(10, 5), actor=staff)
    assert appointment.status == AppointmentStatus.NO_SHOW
    assert list(SlotClaim.objects.filter(appointment=pair).values_list("unit_start", flat=True)) == [at(10)]
    event = AppointmentEvent.objects.filter(appointment=pair).latest("pk")
    assert (event.kind, event.actor) == (EventKind.NO_SHOW, staff)


def test_staff_cancel_needs_a_reason_and_sends_the_cancellation(booked, staff):
    before = snapshot_of(booked)
    with pytest.raises(BookingError) as error:
        actions.staff_cancel_appointment(appointment=booked, reason="   ", now=at(8), actor=staff)
    assert error.value.code == actions.REASON_REQUIRED
    assert snapshot_of(booked) == before

    cancelled = actions.staff_cancel_appointment(
        appointment=booked, reason="Ill, called the desk", now=at(8), actor=staff
    )
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancel_reason == "Ill, called the desk"
    assert not SlotClaim.objects.filter(appointment=booked).exists()
    assert OutboxEmail.objects.filter(appointment=booked, kind=EmailKind.CANCELLATION).count() == 1
    event = AppointmentEvent.objects.filter(appointment=booked).latest("pk")
    assert (event.kind, event.actor) == (EventKind.CANCELLED, staff)


def test_staff_cancel_a_checked_in_appointment_without_an_email(booked, staff):
    """A walk-in entered twice, or a check-in by mistake: it can be cancelled; the person is at the desk."""
    actions.check_in(appointment=booked, now=at(9, 50), actor=staff)
    cancelled = actions.staff_cancel_appointment(appointment=booked, reason="entered twice", now=at(9, 55), actor=staff)
    assert (cancelled.status, cancelled.cancel_reason) == (AppointmentStatus.CANCELLED, "entered twice")
    assert not SlotClaim.objects.filter(appointment=booked).exists()
    assert not OutboxEmail.objects.filter(appointment=booked, kind=EmailKind.CANCELLATION).exists()
    event = AppointmentEvent.objects.filter(appointment=booked).latest("pk")
    assert (event.kind, event.actor, event.detail) == (EventKind.CANCELLED, staff, "entered twice")


def test_staff_cannot_cancel_a_finished_appointment(booked, staff):
    actions.check_in(appointment=booked, now=at(9, 50), actor=staff)
    actions.finish_service(appointment=booked, now=at(10, 10), actor=staff)
    before = snapshot_of(booked)
    with pytest.raises(BookingError):
        actions.staff_cancel_appointment(appointment=booked, reason="oops", now=at(10, 15), actor=staff)
    assert snapshot_of(booked) == before


def names(*pairs):
    return [PersonName(first_name=f, last_name=last) for f, last in pairs]


def test_walk_in_takes_the_next_free_start_and_is_checked_in(desk, service, staff):
    result = actions.walk_in(location=desk, service=service, names=names(("Li", "Wei")), now=at(10, 7), actor=staff)
    appointment = result.appointment
    assert appointment.start == at(10, 15)
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.booked_by == staff
    kinds = list(AppointmentEvent.objects.filter(appointment=appointment).values_list("kind", "actor"))
    assert kinds == [(EventKind.BOOKED, staff.pk), (EventKind.CHECKED_IN, staff.pk)]


def test_walk_in_skips_full_times(desk, service, staff, monday_morning):
    for counter in desk.counters.all():
        book(desk, service, at(10, 15), now=monday_morning, counter=counter)
    result = actions.walk_in(location=desk, service=service, names=names(("Li", "Wei")), now=at(10, 7), actor=staff)
    assert result.appointment.start == at(10, 30)


def test_walk_in_with_no_capacity_left_is_refused_and_books_nothing(desk, service, staff):
    for counter in desk.counters.all():
        actions.block_counter(counter=counter, start=at(16), end=at(17), reason="training", now=at(15), actor=staff)
    before = Appointment.objects.count()
    with pytest.raises(BookingError) as error:
        actions.walk_in(location=desk, service=service, names=names(("Li", "Wei")), now=at(16, 5), actor=staff)
    assert error.value.code == actions.NO_CAPACITY
    assert Appointment.objects.count() == before


def test_walk_in_after_closing_is_refused(desk, service, staff):
    with pytest.raises(BookingError) as error:
        actions.walk_in(location=desk, service=service, names=names(("Li", "Wei")), now=at(17, 1), actor=staff)
    assert error.value.code == actions.NO_CAPACITY
    assert not Appointment.objects.exists()


def test_move_to_another_counter_and_time(desk, service, staff, booked):
    other = desk.counters.order_by("name").last()
    moved = actions.move_appointment(appointment=booked, new_start=at(11), counter=other, now=at(9), actor=staff)
    assert moved.start == at(11)
    assert set(SlotClaim.objects.filter(appointment=booked).values_list("counter_id", flat=True)) == {other.pk}
    event = AppointmentEvent.objects.filter(appointment=booked).latest("pk")
    assert (event.kind, event.actor) == (EventKind.RESCHEDULED, staff)


def test_moving_onto_a_taken_slot_is_refused_and_changes_nothing(desk, service, staff, monday_morning, booked):
    counter = desk.counters.order_by("name").first()
    taken = book(desk, service, at(11), now=monday_morning, counter=counter)
    before, before_taken = snapshot_of(booked), snapshot_of(taken)
    with pytest.raises(BookingError) as error:
        actions.move_appointment(appointment=booked, new_start=at(11), counter=counter, now=at(9), actor=staff)
    assert error.value.code == actions.COUNTER_TAKEN  # not a race: not SLOT_TAKEN ("just been taken")
    assert snapshot_of(booked) == before
    assert snapshot_of(taken) == before_taken


def test_blocking_a_counter_keeps_its_appointments_and_lists_them(desk, service, staff, monday_morning):
    first, second, third = desk.counters.order_by("name")
    on_blocked = book(desk, service, at(10), now=monday_morning, counter=first)
    elsewhere = book(desk, service, at(10), now=monday_morning, counter=second)
    block = actions.block_counter(
        counter=first, start=at(9, 40), end=at(12), reason="Ill", now=monday_morning, actor=staff
    )
    # Nothing dropped: the appointment keeps its unit; the rest of the period is the block's.
    assert SlotClaim.objects.filter(appointment=on_blocked).count() == 1
    assert [row.appointment for row in affected_by_block(block=block)] == [on_blocked]
    blocked_units = set(SlotClaim.objects.filter(block=block).values_list("unit_start", flat=True))
    assert at(9, 30) in blocked_units  # the unit the block starts in the middle of
    assert at(10) not in blocked_units
    assert at(11, 45) in blocked_units and at(12) not in blocked_units
    # Nobody can book the blocked counter in the period; the others stay bookable.
    snapshot = load_snapshot(location=desk, start_date=TUESDAY.date(), end_date=TUESDAY.date(), now=monday_morning)
    assert snapshot.allocate(service=service, persons=1, start=at(11), counter_ids=[first.pk]) is None
    assert snapshot.allocate(service=service, persons=1, start=at(11), counter_ids=[third.pk]) is not None

    # Moving it off the counter hands its unit to the block; then nothing is affected any more.
    actions.move_appointment(appointment=on_blocked, new_start=at(10), counter=third, now=monday_morning, actor=staff)
    assert affected_by_block(block=block) == []
    assert SlotClaim.objects.filter(block=block, unit_start=at(10)).exists()
    assert elsewhere.status == AppointmentStatus.BOOKED

    actions.end_counter_block(block=block, now=monday_morning)
    assert not SlotClaim.objects.filter(block_id=block.pk).exists()


@pytest.mark.parametrize(
    ("start", "end", "reason", "code"),
    [
        (at(12), at(10), "Ill", actions.INVALID_PERIOD),
        (at(7), at(8), "Ill", actions.INVALID_PERIOD),  # already over at 9:00
        (at(10), at(12), "  ", actions.REASON_REQUIRED),
        (at(10), at(10) + timedelta(days=90), "Ill", actions.INVALID_PERIOD),
    ],
)
def test_bad_blocks_are_refused_and_create_nothing(desk, staff, start, end, reason, code):
    with pytest.raises(BookingError) as error:
        actions.block_counter(
            counter=desk.counters.first(), start=start, end=end, reason=reason, now=at(9), actor=staff
        )
    assert error.value.code == code
    assert not CounterBlock.objects.exists()
    assert not SlotClaim.objects.exists()


def test_time_left_on_a_blocked_counter_stays_blocked(desk, service, staff, monday_morning):
    """Whoever frees time on a blocked counter (the person online, a no-show, a move), it goes to the block."""
    first = desk.counters.order_by("name").first()
    online = book(desk, service, at(10), now=monday_morning, counter=first)
    pair = book(desk, service, at(11), now=monday_morning, names=[("A", "B"), ("C", "D")], counter=first)
    moved = book(desk, service, at(12), now=monday_morning, counter=first)
    block = actions.block_counter(
        counter=first, start=at(9), end=at(12, 30), reason="Ill", now=monday_morning, actor=staff
    )
    assert len(affected_by_block(block=block)) == 3

    actions.cancel_appointment(appointment=online, now=monday_morning)  # the person cancels online
    actions.mark_no_show(appointment=pair, now=at(11, 5), actor=staff)
    actions.move_appointment(appointment=moved, new_start=at(14), now=monday_morning, actor=staff)

    blocked = set(SlotClaim.objects.filter(block=block).values_list("unit_start", flat=True))
    assert {at(10), at(11, 15), at(12)} <= blocked
    assert affected_by_block(block=block) == []
    snapshot = load_snapshot(location=desk, start_date=TUESDAY.date(), end_date=TUESDAY.date(), now=at(11, 5))
    for unit in (at(11, 15), at(12)):
        assert snapshot.allocate(service=service, persons=1, start=unit, counter_ids=[first.pk]) is None
