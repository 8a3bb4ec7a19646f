"""Calling (queueing/actions.py): queue order, late arrivals, walk-ins interleaved, services per counter,
recall, skip and no-show, transfer, put back, done and the measures; `now` passed in everywhere."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings

from bookings import actions
from bookings.actions import BookingError
from bookings.models import AppointmentEvent, AppointmentStatus, EmailKind, EventKind, OutboxEmail, SlotClaim
from queueing import actions as queue
from queueing.display_cache import display_version
from queueing.models import ServiceLetter, Ticket, TicketEvent, TicketEventKind, TicketKind, TicketStatus
from queueing.selectors import day_totals, recent_calls, times_per_service
from tests.support.desk import book, desk_staff
from tests.support.factories import CounterFactory, ServiceFactory
from tests.support.queue import MONDAY_MORNING, TUESDAY, appointment_of, arrive, at, reload, walk_in


@pytest.fixture
def counters(desk):
    return list(desk.counters.order_by("name"))


@pytest.fixture
def staff(db):
    return desk_staff()


def calls(counter, *moments, actor=None):
    return [queue.call_next(counter=counter, now=moment, actor=actor) for moment in moments]


def test_tickets_count_per_location_day_and_letter(desk, service):
    ServiceLetter.objects.create(service=service, letter="B")
    first = arrive(desk, service, at(10), arrives=at(9, 50))
    second = arrive(desk, service, at(10, 15), arrives=at(9, 55))
    assert (first.code, second.code) == ("B001", "B002")
    other = ServiceFactory(name_en="Registration")
    CounterFactory(location=desk, name="Counter R", services=[other])
    assert arrive(desk, other, at(10), arrives=at(9, 56)).code == "R001"
    # The next day starts at 1 again.
    wednesday = TUESDAY + timedelta(days=1)
    assert arrive(desk, service, at(10, day=wednesday), arrives=at(9, 50, day=wednesday)).code == "B001"


def test_the_same_ticket_again_for_the_same_check_in(desk, service):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    with transaction.atomic():
        again = queue.ticket_for_checked_in(appointment=appointment_of(ticket), now=at(9, 51), actor=None)
    assert again.pk == ticket.pk
    assert Ticket.objects.count() == 1


def test_queue_order_by_appointment_time_not_by_arrival(desk, service, counters):
    later = arrive(desk, service, at(10, 30), arrives=at(9, 40))
    earlier = arrive(desk, service, at(10), arrives=at(9, 50))
    assert [t.pk for t in calls(counters[0], at(10), at(10, 20))] == [earlier.pk, later.pk]
    assert queue.call_next(counter=counters[0], now=at(10, 25), actor=None) is None


def test_late_arrivals_queue_after_the_on_time_ones(desk, service, counters):
    late = arrive(desk, service, at(9, 30), arrives=at(10, 6))  # 36 minutes late: past the 5-minute grace
    in_grace = arrive(desk, service, at(10), arrives=at(10, 4))
    on_time = arrive(desk, service, at(10, 15), arrives=at(10, 5))
    assert reload(late).is_late and not reload(in_grace).is_late
    called = calls(counters[0], at(10, 7), at(10, 8), at(10, 9))
    # in_grace (due 10:00), then the late one (queued from 10:06), then the 10:15 one.
    assert [t.pk for t in called] == [in_grace.pk, late.pk, on_time.pk]


@override_settings(EXPATDESK_LATE_GRACE_MINUTES=60)
def test_the_grace_is_configurable(desk, service, counters):
    late = arrive(desk, service, at(9, 30), arrives=at(10, 6))
    assert not reload(late).is_late


def test_walk_ins_are_interleaved_by_arrival(desk, service, counters):
    first_walk_in = walk_in(desk, service, arrives=at(9, 52))
    ten = arrive(desk, service, at(10), arrives=at(9, 40))
    second_walk_in = walk_in(desk, service, arrives=at(10, 5))
    quarter_past = arrive(desk, service, at(10, 15), arrives=at(9, 45))
    assert reload(first_walk_in).kind == TicketKind.WALK_IN
    assert reload(ten).kind == TicketKind.APPOINTMENT
    called = calls(counters[0], at(10, 6), at(10, 7), at(10, 8), at(10, 9))
    assert [t.pk for t in called] == [first_walk_in.pk, ten.pk, second_walk_in.pk, quarter_past.pk]


def test_a_counter_calls_only_the_services_it_serves(desk, service, counters):
    other = ServiceFactory(name_en="Documents")
    documents_counter = CounterFactory(location=desk, name="Counter D", services=[other])
    mine = arrive(desk, service, at(10), arrives=at(9, 50))
    theirs = arrive(desk, other, at(9, 45), arrives=at(9, 40))
    assert queue.call_next(counter=counters[0], now=at(10), actor=None).pk == mine.pk
    assert queue.call_next(counter=counters[1], now=at(10), actor=None) is None
    assert queue.call_next(counter=documents_counter, now=at(10), actor=None).pk == theirs.pk


def test_a_call_starts_the_appointment_and_is_audited(
    desk, service, counters, staff, django_capture_on_commit_callbacks
):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    before = display_version(location_id=desk.pk)
    with django_capture_on_commit_callbacks(execute=True):
        called = queue.call_next(counter=counters[0], now=at(10, 1), actor=staff)
    assert called.status == TicketStatus.CALLED and called.counter == counters[0] and called.calls == 1
    assert called.wait_seconds == 11 * 60
    appointment = appointment_of(ticket)
    assert appointment.started_at == at(10, 1)
    assert AppointmentEvent.objects.filter(appointment=appointment, kind=EventKind.STARTED, actor=staff).exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.CALLED, counter=counters[0]).exists()
    assert display_version(location_id=desk.pk) != before
    assert [c.code for c in recent_calls(location=desk, day=TUESDAY.date())] == [ticket.code]


def test_recall_calls_the_same_ticket_again(desk, service, counters, django_capture_on_commit_callbacks):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    before = display_version(location_id=desk.pk)
    with django_capture_on_commit_callbacks(execute=True):
        recalled = queue.recall(ticket=ticket, counter=counters[0], now=at(10, 2), actor=None)
    assert (recalled.calls, recalled.last_called_at, recalled.first_called_at) == (2, at(10, 2), at(10))
    assert display_version(location_id=desk.pk) != before
    with pytest.raises(BookingError) as error:
        queue.recall(ticket=ticket, counter=counters[1], now=at(10, 3), actor=None)
    assert error.value.code == queue.WRONG_COUNTER


def test_skip_sends_the_ticket_to_the_back_then_no_show_after_n_calls(desk, service, counters):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    other = arrive(desk, service, at(10, 15), arrives=at(9, 51))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    third = arrive(desk, service, at(10, 30), arrives=at(10, 1))
    skipped = queue.skip(ticket=ticket, counter=counters[0], now=at(10, 2), actor=None)
    assert skipped.status == TicketStatus.WAITING and skipped.counter is None
    # The next Call next moves on to the one behind it.
    assert queue.call_next(counter=counters[1], now=at(10, 3), actor=None).pk == other.pk
    assert queue.call_next(counter=counters[2], now=at(10, 3), actor=None).pk == third.pk
    with override_settings(EXPATDESK_QUEUE_CALLS_BEFORE_NO_SHOW=2):
        again = queue.call_next(counter=counters[0], now=at(10, 4), actor=None)
        assert again.pk == ticket.pk
        queue.recall(ticket=ticket, counter=counters[0], now=at(10, 5), actor=None)
        gone = queue.skip(ticket=ticket, counter=counters[0], now=at(10, 6), actor=None)
    assert gone.status == TicketStatus.NO_SHOW
    appointment = appointment_of(ticket)
    assert appointment.status == AppointmentStatus.NO_SHOW
    assert not SlotClaim.objects.filter(appointment=appointment, unit_start__gte=at(10, 6)).exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.NO_SHOW).exists()


def test_a_skipped_ticket_can_be_called_out_of_turn(desk, service, counters):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    queue.skip(ticket=ticket, counter=counters[0], now=at(10, 2), actor=None)
    called = queue.call_again_from_queue(ticket=ticket, counter=counters[1], now=at(10, 4), actor=None)
    assert (called.status, called.counter, called.calls, called.wait_seconds) == (
        TicketStatus.CALLED,
        counters[1],
        2,
        10 * 60,
    )


def test_transfer_puts_the_ticket_at_the_other_counter_only(desk, service, counters):
    moved = arrive(desk, service, at(9, 45), arrives=at(9, 30))
    assert queue.call_next(counter=counters[1], now=at(9, 45), actor=None).pk == moved.pk
    transferred = queue.transfer(ticket=moved, counter=counters[1], to_counter=counters[2], now=at(9, 50), actor=None)
    assert (transferred.status, transferred.counter, transferred.calls) == (TicketStatus.WAITING, counters[2], 0)
    assert TicketEvent.objects.filter(ticket=moved, kind=TicketEventKind.TRANSFERRED, counter=counters[2]).exists()
    # Counter 1 serves the same service, yet does not take the transferred ticket.
    assert queue.call_next(counter=counters[0], now=at(9, 51), actor=None) is None
    assert queue.call_next(counter=counters[2], now=at(9, 52), actor=None).pk == moved.pk


def test_transfer_goes_before_everyone_waiting_at_that_counter(desk, service, counters):
    moved = arrive(desk, service, at(10), arrives=at(9, 50))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    first_in_line = arrive(desk, service, at(9, 30), arrives=at(9, 20))
    queue.transfer(ticket=moved, counter=counters[0], to_counter=counters[1], now=at(10, 5), actor=None)
    assert queue.call_next(counter=counters[1], now=at(10, 6), actor=None).pk == moved.pk
    assert queue.call_next(counter=counters[1], now=at(10, 7), actor=None).pk == first_in_line.pk


def test_transfer_refuses_a_counter_elsewhere_or_the_same(desk, service, counters):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    elsewhere = CounterFactory(name="Far away", services=[service])
    for target in (elsewhere, counters[0]):
        with pytest.raises(BookingError):
            queue.transfer(ticket=ticket, counter=counters[0], to_counter=target, now=at(10, 1), actor=None)
    assert reload(ticket).status == TicketStatus.CALLED


def test_put_back_in_the_queue_goes_behind_who_waits_now(desk, service, counters):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    behind = arrive(desk, service, at(10, 15), arrives=at(10, 1))
    requeued = queue.requeue(ticket=ticket, counter=counters[0], now=at(10, 3), actor=None)
    assert requeued.status == TicketStatus.WAITING and requeued.counter is None
    assert [t.pk for t in calls(counters[0], at(10, 4), at(10, 5))] == [behind.pk, ticket.pk]
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.REQUEUED).exists()


def test_done_records_the_measures_and_frees_the_rest_of_the_time(desk, service, counters):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    done = queue.finish(ticket=ticket, counter=counters[0], now=at(10, 7), actor=None)
    assert (done.status, done.wait_seconds, done.service_seconds) == (TicketStatus.DONE, 600, 420)
    appointment = appointment_of(ticket)
    assert appointment.status == AppointmentStatus.DONE and appointment.done_at == at(10, 7)
    assert not SlotClaim.objects.filter(appointment=appointment, unit_start__gte=at(10, 7)).exists()
    totals = day_totals(location=desk, day=TUESDAY.date())
    assert (totals.served, totals.average_wait_seconds, totals.average_service_seconds) == (1, 600, 420)
    per_service = times_per_service(desk, TUESDAY.date(), TUESDAY.date())
    assert per_service[service.pk].served == 1
    with pytest.raises(BookingError) as error:
        queue.finish(ticket=ticket, counter=counters[0], now=at(10, 8), actor=None)
    assert error.value.code == queue.NOT_CALLED


def test_done_from_the_queue_asks_for_feedback_as_the_desks_done_does(desk, service, counters):
    """Done is one definition (bookings.actions.desk.finish_locked): served through the queue, the person
    gets the same one "How was your visit?" e-mail, recorded with the counter they were served at."""
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    queue.call_next(counter=counters[0], now=at(10), actor=None)
    queue.finish(ticket=ticket, counter=counters[0], now=at(10, 7), actor=None)
    appointment = appointment_of(ticket)
    assert OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.FEEDBACK).count() == 1
    done = AppointmentEvent.objects.get(appointment=appointment, kind=EventKind.DONE)
    assert done.detail == counters[0].name


def test_desk_check_ins_without_a_ticket_join_the_queue_at_the_next_call(desk, service, counters):
    appointment = book(desk, service, at(10), now=MONDAY_MORNING)
    actions.check_in(appointment=appointment, now=at(9, 50), actor=None)
    called = queue.call_next(counter=counters[0], now=at(10), actor=None)
    assert called.appointment_id == appointment.pk and called.kind == TicketKind.APPOINTMENT


def test_a_ticket_whose_appointment_ended_elsewhere_is_not_called(desk, service, counters):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    actions.staff_cancel_appointment(appointment=appointment_of(ticket), reason="twice", now=at(9, 55), actor=None)
    assert queue.call_next(counter=counters[0], now=at(10), actor=None) is None


def test_an_inactive_counter_calls_nobody(desk, service, counters):
    arrive(desk, service, at(10), arrives=at(9, 50))
    counters[0].is_active = False
    with pytest.raises(BookingError):
        queue.call_next(counter=counters[0], now=at(10), actor=None)


def test_call_next_costs_a_constant_number_of_queries(desk, service, counters, django_assert_max_num_queries):
    for minute in range(0, 45, 15):
        arrive(desk, service, at(10, minute), arrives=at(9, 30))
    with django_assert_max_num_queries(12):
        queue.call_next(counter=counters[0], now=at(10), actor=None)
