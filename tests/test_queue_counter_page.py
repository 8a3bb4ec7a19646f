"""The counter page of the desk: Call next and the steps on a ticket, for desk staff only; clear 4xx answers;
the day's queue measures on the agenda."""

import pytest
from django.urls import reverse

from desk import clock
from queueing.models import Ticket, TicketStatus
from tests.support.desk import desk_staff, sign_in
from tests.support.factories import make_desk
from tests.support.queue import arrive, at


@pytest.fixture
def desk_time(monkeypatch):
    def set_time(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_time(at(10))
    return set_time


@pytest.fixture
def staff_client(client, desk, desk_time):  # desk first: the staff member is assigned to it
    return sign_in(client, desk_staff())


@pytest.fixture
def counters(desk):
    return list(desk.counters.order_by("name"))


def step(counter, ticket, name):
    return reverse("queueing:step", args=[counter.pk, ticket.pk, name])


def test_call_next_done_from_the_counter_page(staff_client, desk, service, counters, desk_time):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    page = staff_client.get(reverse("queueing:counter", args=[counters[0].pk]))
    assert page.status_code == 200 and ticket.code in page.content.decode()
    response = staff_client.post(reverse("queueing:call_next", args=[counters[0].pk]), follow=True)
    assert f"{ticket.code} is called to {counters[0].name}" in response.content.decode()
    assert Ticket.objects.get().status == TicketStatus.CALLED
    for name in ("recall", "requeue"):
        assert staff_client.post(step(counters[0], ticket, name)).status_code == 302
    staff_client.post(step(counters[0], ticket, "call"))
    assert staff_client.post(step(counters[0], ticket, "transfer"), {"to_counter": counters[1].pk}).status_code == 302
    assert Ticket.objects.get().counter == counters[1]
    staff_client.post(reverse("queueing:call_next", args=[counters[1].pk]))
    desk_time(at(10, 9))
    assert staff_client.post(step(counters[1], ticket, "done")).status_code == 302
    assert Ticket.objects.get().status == TicketStatus.DONE
    agenda = staff_client.get(reverse("desk:agenda") + f"?location={desk.pk}&day=2026-12-01").content.decode()
    assert "Served from the queue" in agenda


def test_bad_steps_are_clear_4xx(staff_client, desk, service, counters):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    assert staff_client.post(step(counters[0], ticket, "done")).status_code == 409  # not called
    assert staff_client.post(step(counters[0], ticket, "dance")).status_code == 404
    assert staff_client.post(reverse("queueing:call_next", args=[999999])).status_code == 404
    staff_client.post(reverse("queueing:call_next", args=[counters[0].pk]))
    bad_transfer = staff_client.post(step(counters[0], ticket, "transfer"), {"to_counter": "x"})
    assert bad_transfer.status_code == 400


def test_nobody_waiting(staff_client, counters):
    response = staff_client.post(reverse("queueing:call_next", args=[counters[0].pk]), follow=True)
    assert "Nobody is waiting" in response.content.decode()


def test_the_counter_page_is_for_desk_staff(client, desk, counters, desk_time):
    response = client.get(reverse("queueing:counter", args=[counters[0].pk]))
    assert response.status_code == 302 and reverse("desk:login") in response["Location"]
    assert client.post(reverse("queueing:call_next", args=[counters[0].pk])).status_code == 302
    assert not Ticket.objects.exists()


def test_the_counter_list(staff_client, desk, counters):
    page = staff_client.get(reverse("queueing:counters")).content.decode()
    assert all(reverse("queueing:counter", args=[c.pk]) in page for c in counters)


def test_another_locations_counter_is_a_404_and_calls_nobody(client, desk, service, desk_time):
    """Staff are scoped to their locations (README "Staff and locations"): B's counters are not theirs."""
    other = make_desk(services=[service], name="Other desk")
    sign_in(client, desk_staff(locations=[desk]))
    ticket = arrive(other, service, at(10), arrives=at(9, 50))
    counter = other.counters.first()
    assert client.get(reverse("queueing:counter", args=[counter.pk])).status_code == 404
    assert client.post(reverse("queueing:call_next", args=[counter.pk])).status_code == 404
    assert "Other desk" not in client.get(reverse("queueing:counters")).content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
