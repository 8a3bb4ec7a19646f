"""Extra time, a special need (issue 15): grid units more per person, a bounded choice at booking. Availability
offers only the starts where the longer appointment fits; the claims cover the extra units (every live
appointment owns exactly the counter time it occupies: claimed_units); a move keeps it; staff see it on the
agenda and at the call; it is erased with the rest of the personal data."""

from datetime import timedelta

import pytest
from django.urls import reverse

from bookings import actions, availability
from bookings.actions import BookingError, PersonName
from bookings.models import Appointment, SlotClaim
from desk import clock
from queueing import actions as queue_actions
from tests.support.desk import book, desk_staff, sign_in
from tests.support.factories import make_desk
from tests.support.queue import MONDAY_MORNING, at


@pytest.fixture
def one_counter(service):
    return make_desk(services=[service], counters=1)


def book_with_extra(location, service, start, *, extra_units, persons=1, **kwargs):
    return actions.book_appointment(
        location=location,
        service=service,
        start=start,
        names=[PersonName(first_name=f"Anna{i}", last_name="Jansen") for i in range(persons)],
        contact_email=f"extra{extra_units}{persons}@example.org",
        now=MONDAY_MORNING,
        extra_units=extra_units,
        **kwargs,
    ).appointment


def claims_of(appointment) -> int:
    return SlotClaim.objects.filter(appointment=appointment).count()


@pytest.mark.parametrize("extra_units", [0, 1, 2])
def test_a_booking_with_extra_time_claims_the_extra_units(one_counter, service, extra_units):
    """15-minute service, 15-minute grid: 1 unit per person, plus the extra units."""
    appointment = book_with_extra(one_counter, service, at(10), extra_units=extra_units)
    appointment.refresh_from_db()
    assert appointment.extra_units == extra_units
    assert appointment.claimed_units == claims_of(appointment) == 1 + extra_units
    assert appointment.end == at(10) + timedelta(minutes=15 * (1 + extra_units))


def test_every_person_of_a_family_gets_the_extra_units(desk, service):
    appointment = book_with_extra(desk, service, at(10), extra_units=1, persons=3)
    assert appointment.claimed_units == claims_of(appointment) == 3 * 2


def test_availability_offers_only_starts_where_the_longer_appointment_fits(one_counter, service):
    book(one_counter, service, at(10, 30), now=MONDAY_MORNING)  # 10:30–10:45 taken
    day = at(10).date()

    def starts(extra_units):
        slots = availability.free_slots(
            location=one_counter,
            service=service,
            persons=1,
            start_date=day,
            end_date=day,
            now=MONDAY_MORNING,
            extra_units=extra_units,
        )
        return {slot.start for slot in slots[day]}

    assert {at(10), at(10, 15)} <= starts(0)
    assert at(10) in starts(1) and at(10, 15) not in starts(1)
    assert at(10) not in starts(2) and at(9, 45) in starts(2)
    # Closing time: the last start of the morning (12:15) has no room for a second unit.
    assert at(12, 15) in starts(0) and at(12, 15) not in starts(1)


def test_a_start_where_the_extra_time_does_not_fit_is_refused(one_counter, service):
    book(one_counter, service, at(10, 15), now=MONDAY_MORNING)
    with pytest.raises(BookingError) as refused:
        book_with_extra(one_counter, service, at(10), extra_units=1)
    assert refused.value.code == BookingError.SLOT_TAKEN


@pytest.mark.parametrize("extra_units", [-1, 3, "1"])
def test_extra_time_is_a_bounded_choice(desk, service, extra_units):
    with pytest.raises(BookingError) as refused:
        book_with_extra(desk, service, at(10), extra_units=extra_units)
    assert refused.value.code == BookingError.INVALID_SPECIAL_NEEDS
    assert not Appointment.objects.exists()


def test_a_hold_confirmed_keeps_its_extra_time(desk, service):
    hold = actions.hold_slot(location=desk, service=service, start=at(10), persons=2, now=MONDAY_MORNING, extra_units=2)
    assert hold.claimed_units == claims_of(hold) == 2 * 3
    result = actions.confirm_hold(
        appointment=hold,
        names=[PersonName("Anna", "Jansen"), PersonName("Bert", "Jansen")],
        contact_email="anna@example.org",
        now=MONDAY_MORNING + timedelta(minutes=2),
    )
    assert result.appointment.claimed_units == claims_of(hold) == 6
    assert result.appointment.end == at(10, 45)


def test_a_hold_that_lapsed_and_is_claimed_afresh_keeps_its_extra_time(desk, service):
    hold = actions.hold_slot(location=desk, service=service, start=at(10), persons=1, now=MONDAY_MORNING, extra_units=1)
    SlotClaim.objects.filter(appointment=hold).delete()  # its claims went (swept, or taken and given back)
    result = actions.confirm_hold(
        appointment=hold,
        names=[PersonName("Anna", "Jansen")],
        contact_email="anna@example.org",
        now=MONDAY_MORNING + timedelta(minutes=30),
    )
    assert result.appointment.claimed_units == claims_of(hold) == 2


def test_the_persons_own_move_keeps_the_extra_time(desk, service):
    appointment = book_with_extra(desk, service, at(10), extra_units=2)
    moved = actions.reschedule_appointment(appointment=appointment, new_start=at(14), now=MONDAY_MORNING)
    assert moved.claimed_units == claims_of(moved) == 3 and moved.end == at(14, 45)


def test_a_desk_move_keeps_the_extra_time(desk, service):
    appointment = book_with_extra(desk, service, at(10), extra_units=1)
    moved = actions.move_appointment(appointment=appointment, new_start=at(14), now=MONDAY_MORNING, actor=None)
    assert moved.claimed_units == claims_of(moved) == 2 and moved.end == at(14, 30)


def test_the_desk_move_form_offers_only_times_where_the_extra_time_fits(one_counter, service):
    from bookings.moves import booking_units, load_move_view

    appointment = book_with_extra(one_counter, service, at(10), extra_units=1)
    book(one_counter, service, at(11, 15), now=MONDAY_MORNING)
    view = load_move_view(location=one_counter, day=at(10).date(), now=MONDAY_MORNING)
    own = booking_units(appointment_ids=[appointment.pk])[appointment.pk]

    def starts(extra_units):
        return {
            option.start for option in view.options(service=service, persons=1, own_units=own, extra_units=extra_units)
        }

    assert at(10, 45) in starts(1) and at(11) not in starts(1)  # 11:15 is taken
    assert at(11) in starts(0)


def test_staff_see_the_extra_time_on_the_agenda_and_at_the_call(client, one_counter, service, monkeypatch):
    appointment = book_with_extra(one_counter, service, at(10), extra_units=2)
    monkeypatch.setattr(clock, "now", lambda: at(9, 50))
    sign_in(client, desk_staff())
    agenda = client.get(reverse("desk:agenda") + f"?location={one_counter.pk}&day=2026-12-01").content.decode()
    assert "Extra time: 30 minutes" in agenda
    actions.check_in(appointment=appointment, now=at(9, 50), actor=None)
    counter = one_counter.counters.get()
    ticket = queue_actions.call_next(counter=counter, now=at(10), actor=None)
    assert ticket is not None
    page = client.get(reverse("queueing:counter", args=[counter.pk])).content.decode()
    assert "Extra time: 30 minutes" in page


def test_the_extra_time_is_erased_with_the_personal_data(desk, service):
    appointment = book_with_extra(desk, service, at(10), extra_units=1)
    actions.erase_personal_data(email=appointment.contact_email, now=MONDAY_MORNING, actor=None)
    appointment.refresh_from_db()
    assert appointment.extra_units == 0


def test_the_special_needs_are_in_the_persons_data_export(desk, service):
    from bookings.privacy import export_personal_data

    appointment = actions.book_appointment(
        location=desk,
        service=service,
        start=at(10),
        names=[PersonName("Anna", "Jansen")],
        contact_email="needs@example.org",
        now=MONDAY_MORNING,
        extra_units=2,
        needs_wheelchair=True,
        interpreter_language="ti",
    ).appointment
    (entry,) = export_personal_data(email=appointment.contact_email, now=MONDAY_MORNING)["appointments"]
    assert (entry["needs_wheelchair"], entry["interpreter_language"], entry["extra_units"]) == (True, "ti", 2)
