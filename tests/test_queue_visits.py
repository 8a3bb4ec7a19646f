"""The queue and a visit of several parts (issue 15, point 2): a ticket called for a part, "transfer to the
next part" when that part is done (back in the queue for the next part's service, only counters serving it call
it, its number kept), Done and no-show per part; `now` passed in everywhere."""

from __future__ import annotations

import pytest

from bookings import actions
from bookings.actions import BookingError
from bookings.actions.visits import book_visit
from bookings.models import Appointment, AppointmentPart, AppointmentStatus, SlotClaim
from desk import clock
from queueing import actions as queue
from queueing.models import Ticket, TicketEvent, TicketEventKind, TicketStatus
from tests.support.desk import desk_staff, sign_in
from tests.support.queue import MONDAY_MORNING, at, reload
from tests.support.visits import family_desk, family_names


@pytest.fixture
def family(db):
    return family_desk()


def visit_ticket(family, start, *, arrives) -> Ticket:
    """A family's visit (registration for four, biometrics for the two adults) checked in, with its ticket."""
    visit = book_visit(
        location=family.location,
        parts=family.family(),
        start=start,
        names=family_names(),
        contact_email="jansen@example.org",
        now=MONDAY_MORNING,
    ).appointment
    actions.check_in(appointment=visit, now=arrives, actor=None)
    return Ticket.objects.get(appointment=visit)


def part(ticket: Ticket, position: int) -> AppointmentPart:
    return AppointmentPart.objects.get(appointment_id=ticket.appointment_id, position=position)


def test_a_visits_ticket_is_called_for_its_first_part_and_starts_it(family):
    ticket = visit_ticket(family, at(9), arrives=at(8, 50))
    assert (ticket.service, ticket.part_position) == (family.registration, 1)
    called = queue.call_next(counter=family.others[0], now=at(9), actor=None)
    assert called.pk == ticket.pk
    assert part(ticket, 1).started_at == at(9) and part(ticket, 2).started_at is None
    assert Appointment.objects.get(pk=ticket.appointment_id).started_at == at(9)


def test_transfer_to_the_next_part_queues_the_ticket_for_its_service_keeping_its_number(family):
    ticket = visit_ticket(family, at(9), arrives=at(8, 50))
    queue.call_next(counter=family.others[0], now=at(9), actor=None)
    claims = SlotClaim.objects.filter(appointment_id=ticket.appointment_id).count()
    moved = queue.next_part(ticket=ticket, counter=family.others[0], now=at(9, 14), actor=None)
    assert (moved.status, moved.service, moved.part_position) == (TicketStatus.WAITING, family.biometrics, 2)
    assert (moved.code, moved.counter, moved.calls) == (ticket.code, None, 0)
    assert part(ticket, 1).done_at == at(9, 14)
    visit = Appointment.objects.get(pk=ticket.appointment_id)
    # The visit goes on: still checked in, every claim kept.
    assert visit.status == AppointmentStatus.CHECKED_IN
    assert SlotClaim.objects.filter(appointment=visit).count() == claims
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.NEXT_PART).exists()
    # Only a counter serving biometrics calls it now.
    assert queue.call_next(counter=family.others[1], now=at(9, 15), actor=None) is None
    again = queue.call_next(counter=family.both, now=at(9, 15), actor=None)
    assert again.pk == ticket.pk and again.part_position == 2
    assert part(ticket, 2).started_at == at(9, 15)
    # The last part done: the ticket and the whole visit are done.
    done = queue.finish(ticket=again, counter=family.both, now=at(9, 30), actor=None)
    assert done.status == TicketStatus.DONE
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.DONE and part(ticket, 2).done_at == at(9, 30)
    assert not SlotClaim.objects.filter(appointment=visit, unit_start__gte=at(9, 30)).exists()


def test_the_next_part_queues_at_its_own_time_among_the_others(family, service=None):
    first = visit_ticket(family, at(9), arrives=at(8, 50))
    later = visit_ticket(family, at(10), arrives=at(9, 5))
    queue.call_next(counter=family.others[0], now=at(9), actor=None)
    queue.next_part(ticket=first, counter=family.others[0], now=at(9, 14), actor=None)
    assert reload(first).queue_at == part(first, 2).start
    # Counter 1 serves both: the next part of the 09:00 visit comes before the 10:00 visit's registration.
    assert queue.call_next(counter=family.both, now=at(9, 15), actor=None).pk == first.pk
    assert reload(later).status == TicketStatus.WAITING


def test_no_next_part_is_refused(family, desk, service):
    ticket = visit_ticket(family, at(9), arrives=at(8, 50))
    queue.call_next(counter=family.others[0], now=at(9), actor=None)
    queue.next_part(ticket=ticket, counter=family.others[0], now=at(9, 14), actor=None)
    queue.call_next(counter=family.both, now=at(9, 15), actor=None)
    with pytest.raises(BookingError) as error:
        queue.next_part(ticket=ticket, counter=family.both, now=at(9, 20), actor=None)
    assert error.value.code == queue.NO_NEXT_PART
    assert reload(ticket).status == TicketStatus.CALLED
    # A booking of one service has no next part either; a ticket not called here cannot move on.
    single = book_single(desk, service)
    with pytest.raises(BookingError):
        queue.next_part(ticket=single, counter=family.both, now=at(9, 20), actor=None)


def book_single(desk, service) -> Ticket:
    from tests.support.queue import arrive

    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    counter = desk.counters.order_by("name").first()
    queue.call_next(counter=counter, now=at(10), actor=None)
    with pytest.raises(BookingError) as error:
        queue.next_part(ticket=ticket, counter=counter, now=at(10, 5), actor=None)
    assert error.value.code == queue.NO_NEXT_PART
    return ticket


def test_a_skip_to_no_show_after_a_done_part_leaves_the_visit_done(family, settings):
    settings.EXPATDESK_QUEUE_CALLS_BEFORE_NO_SHOW = 1
    ticket = visit_ticket(family, at(9), arrives=at(8, 50))
    queue.call_next(counter=family.others[0], now=at(9), actor=None)
    queue.next_part(ticket=ticket, counter=family.others[0], now=at(9, 14), actor=None)
    queue.call_next(counter=family.both, now=at(9, 15), actor=None)
    skipped = queue.skip(ticket=ticket, counter=family.both, now=at(9, 20), actor=None)
    assert skipped.status == TicketStatus.NO_SHOW
    visit = Appointment.objects.get(pk=ticket.appointment_id)
    # The registration was done; the biometrics part is the no-show.
    assert visit.status == AppointmentStatus.DONE
    assert part(ticket, 2).no_show_at == at(9, 20) and part(ticket, 1).no_show_at is None


def test_the_counter_page_shows_the_part_and_offers_the_next(client, family, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: at(9))
    sign_in(client, desk_staff())
    ticket = visit_ticket(family, at(9), arrives=at(8, 50))
    counter = family.others[0]
    assert client.post(f"/desk/queue/counter/{counter.pk}/call-next/").status_code == 302
    html = client.get(f"/desk/queue/counter/{counter.pk}/").content.decode()
    assert "Part 1 of 2" in html
    step = f"/desk/queue/counter/{counter.pk}/ticket/{ticket.pk}/next-part/"
    assert step in html
    monkeypatch.setattr(clock, "now", lambda: at(9, 14))
    assert client.post(step).status_code == 302
    html = client.get(f"/desk/queue/counter/{family.both.pk}/").content.decode()
    assert ticket.code in html and "Part 2 of 2" in html
    # Again, now that it is waiting: refused with the reason, a 409.
    assert client.post(step).status_code == 409
