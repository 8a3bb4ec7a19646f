"""Two counters pressing Call next at the same moment never get the same ticket (PostgreSQL, real
transactions behind a barrier), and the naive twin — read the first waiting ticket, then mark it called —
is shown to give both counters the same one."""

import time

import pytest
from django.db import transaction

from bookings.models import Counter
from queueing import actions as queue
from queueing.models import Ticket, TicketStatus
from queueing.selectors import queue_for_counter
from tests.support.factories import CounterFactory
from tests.support.queue import arrive, at
from tests.support.races import NAIVE_WINDOW_SECONDS, race

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def naive_call_next(*, counter: Counter, now) -> Ticket | None:
    """Check, then act: the first waiting ticket, read without a lock, then marked called by its id."""
    with transaction.atomic(durable=True):
        ticket = queue_for_counter(counter=counter, day=now.date()).first()
        if ticket is None:
            return None
        time.sleep(NAIVE_WINDOW_SECONDS)
        Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.CALLED, counter=counter, last_called_at=now)
        return ticket


@pytest.fixture
def waiting(postgresql, desk, service):
    counters = list(desk.counters.order_by("name"))
    counters += [CounterFactory(location=desk, name=f"Extra {n}", services=[service]) for n in range(3)]
    tickets = [arrive(desk, service, at(10, 15 * (n // 3)), arrives=at(9, 40 + n)) for n in range(6)]
    return counters, tickets


def test_counters_calling_at_the_same_moment_get_different_tickets(waiting):
    counters, tickets = waiting
    outcomes = race([lambda c=c: queue.call_next(counter=c, now=at(10), actor=None) for c in counters])
    assert all(o.won for o in outcomes), [o.trace for o in outcomes]
    called = [o.value.pk for o in outcomes]
    assert sorted(called) == sorted(t.pk for t in tickets)  # six counters, six different tickets
    rows = Ticket.objects.filter(status=TicketStatus.CALLED)
    assert sorted(rows.values_list("counter_id", flat=True)) == sorted(c.pk for c in counters)


def test_two_counters_and_one_ticket_one_gets_it_the_other_nobody(postgresql, desk, service):
    first, second = list(desk.counters.order_by("name"))[:2]
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    outcomes = race([lambda c=c: queue.call_next(counter=c, now=at(10), actor=None) for c in (first, second)])
    assert all(o.won for o in outcomes), [o.trace for o in outcomes]
    values = [o.value for o in outcomes]
    assert sorted(v is None for v in values) == [False, True]
    winner = next(v for v in values if v is not None)
    assert winner.pk == ticket.pk
    assert Ticket.objects.get(pk=ticket.pk).counter_id == winner.counter_id


def test_the_naive_twin_gives_both_counters_the_same_ticket(waiting):
    counters, _tickets = waiting
    outcomes = race([lambda c=c: naive_call_next(counter=c, now=at(10)) for c in counters[:2]])
    assert all(o.won for o in outcomes), [o.trace for o in outcomes]
    assert outcomes[0].value.pk == outcomes[1].value.pk  # the double call the real action prevents
