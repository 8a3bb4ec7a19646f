"""Every check-in issues the queue ticket in its own transaction (issue 15): the desk's check-in by reference, the
agenda's Check in button, the kiosk, and a walk-in's booking (the desk's page and the kiosk's), through one
function (queueing.actions.ticket_for_checked_in, reached from `bookings` through the check-in hook); the desk
sees the ticket number at once."""

import pytest
from django.urls import reverse

from bookings import actions, hooks
from bookings.actions import PersonName
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from desk import clock
from queueing import actions as queue_actions
from queueing import kiosk
from queueing.models import Ticket, TicketKind
from tests.support.desk import book, desk_staff, sign_in
from tests.support.queue import MONDAY_MORNING, at


@pytest.fixture
def desk_time(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: at(9, 50))


@pytest.fixture
def staff_client(client, desk, desk_time):  # desk first: the staff member is assigned to it
    return sign_in(client, desk_staff())


@pytest.fixture
def booked(desk, service):
    return book(desk, service, at(10), now=MONDAY_MORNING)


def test_check_in_by_reference_issues_the_ticket_and_shows_it(staff_client, booked):
    response = staff_client.post(reverse("desk:check_in"), {"reference": booked.reference}, follow=True)
    assert response.status_code == 200
    ticket = Ticket.objects.get(appointment=booked)
    assert ticket.kind == TicketKind.APPOINTMENT and ticket.checked_in_at == at(9, 50)
    assert f"Ticket {ticket.code}" in response.content.decode()


def test_the_agenda_button_issues_the_ticket_and_shows_it(staff_client, desk, booked):
    agenda = reverse("desk:agenda") + f"?location={desk.pk}&day=2026-12-01"
    response = staff_client.post(
        reverse("desk:appointment_check_in", args=[booked.reference]), {"next": agenda}, follow=True
    )
    assert response.status_code == 200
    ticket = Ticket.objects.get(appointment=booked)
    assert f"Ticket {ticket.code}" in response.content.decode()


def test_the_check_in_action_issues_the_ticket(booked):
    actions.check_in(appointment=booked, now=at(9, 50), actor=None)
    assert Ticket.objects.filter(appointment=booked).count() == 1


def test_a_check_in_undone_and_done_again_keeps_its_one_ticket(booked):
    actions.check_in(appointment=booked, now=at(9, 50), actor=None)
    first = Ticket.objects.get(appointment=booked)
    actions.undo_check_in(appointment=booked, now=at(9, 51), actor=None)
    actions.check_in(appointment=booked, now=at(9, 52), actor=None)
    assert list(Ticket.objects.all()) == [first]


def test_a_ticket_that_cannot_be_issued_fails_the_check_in(booked, monkeypatch):
    """Same transaction: no checked-in appointment without its ticket."""

    def broken(**_kwargs):
        raise RuntimeError("the ticket step broke")

    monkeypatch.setattr(queue_actions, "issue_ticket_in_transaction", broken)
    with pytest.raises(RuntimeError):
        actions.check_in(appointment=booked, now=at(9, 50), actor=None)
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED and not Ticket.objects.exists()


def test_the_queue_is_registered_once_on_the_check_in_hook():
    assert hooks._checked_in.count(queue_actions.ticket_on_check_in) == 1


# ---- walk-ins: booked, checked in and given their ticket in one transaction -------------------------------


def test_a_desk_walk_in_gets_its_ticket_at_once(desk, service):
    result = actions.walk_in(
        location=desk, service=service, names=[PersonName("Walter", "Walker")], now=at(9, 50), actor=None
    )
    ticket = Ticket.objects.get(appointment=result.appointment)
    assert ticket.kind == TicketKind.WALK_IN and ticket.checked_in_at == at(9, 50)
    assert result.notes == (f"Ticket {ticket.code}",)


def test_the_desk_walk_in_page_shows_the_ticket(staff_client, desk, service):
    response = staff_client.post(
        reverse("desk:walk_in"),
        {"location": desk.pk, "service": service.pk, "first_name_1": "Walter", "last_name_1": "Walker"},
        follow=True,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert f"Ticket {ticket.code}" in response.content.decode()


def test_a_kiosk_walk_in_whose_ticket_fails_leaves_no_booking(desk, service, monkeypatch):
    """One transaction: no walk-in booked (its counter time claimed) without the ticket the person came for."""

    def broken(**_kwargs):
        raise RuntimeError("the ticket step broke")

    monkeypatch.setattr(queue_actions, "issue_ticket_in_transaction", broken)
    with pytest.raises(RuntimeError):
        kiosk.draw_walk_in_ticket(location=desk, service=service, now=at(9, 50))
    assert not Appointment.objects.exists() and not SlotClaim.objects.exists()


def test_a_kiosk_walk_in_gets_its_ticket(desk, service):
    ticket = kiosk.draw_walk_in_ticket(location=desk, service=service, now=at(9, 50))
    assert ticket.kind == TicketKind.WALK_IN
    assert ticket.appointment.status == AppointmentStatus.CHECKED_IN
