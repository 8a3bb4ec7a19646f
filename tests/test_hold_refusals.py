"""At a location where this process refused a hold as taken lately, a hold refuses a time that is not free before
its transaction (bookings/actions/booking.py refuse_unless_free, docs/locking.md "The read before a hold"): one
read, no lock, no transaction, and the very error the transaction gives; elsewhere the transaction refuses alone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import actions, refusals
from bookings.actions import BookingError, PersonName
from bookings.actions import booking as booking_actions
from bookings.models import Appointment
from services.models import Service
from tests.support.env import AMSTERDAM
from tests.support.factories import ServiceFactory, make_desk

TUESDAY = date(2026, 12, 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


def hold(desk, service, start, now, persons=1, extra_units=0):
    return actions.hold_slot(
        location=desk, service=service, start=start, persons=persons, now=now, extra_units=extra_units
    )


def refusal(desk, service, start, now, **kwargs) -> tuple[str, str]:
    with pytest.raises(BookingError) as refused:
        hold(desk, service, start, now, **kwargs)
    return refused.value.code, str(refused.value)


@pytest.fixture
def one_counter(db, service):
    return make_desk(services=[service], counters=1)


def taken_then_refused(desk, service, now) -> None:
    """9:00 and 9:15 on Tuesday booked, and a hold of 9:15 refused (by its transaction, where no hold was refused
    lately): the location is contended for this process (bookings/refusals.py), so a hold there reads before."""
    for minute in (0, 15):
        actions.book_appointment(
            location=desk, service=service, start=at(TUESDAY, 9, minute), names=[PersonName("A", "B")], now=now
        )
    with CaptureQueriesContext(connection) as first, pytest.raises(BookingError) as error:
        hold(desk, service, at(TUESDAY, 9, 15), now)
    assert error.value.code == BookingError.SLOT_TAKEN
    assert [query["sql"] for query in first.captured_queries if "advisory" in query["sql"]]  # in the transaction


def test_a_taken_time_is_refused_with_one_read_and_no_lock(postgresql, one_counter, service, monday_morning):
    taken_then_refused(one_counter, service, monday_morning)
    with CaptureQueriesContext(connection) as refused, pytest.raises(BookingError) as error:
        hold(one_counter, service, at(TUESDAY, 9), monday_morning)
    assert error.value.code == BookingError.SLOT_TAKEN
    sql = [query["sql"] for query in refused.captured_queries]
    assert len(sql) == 1, sql  # the version and the claims, in one statement
    assert not [s for s in sql if "advisory" in s or s.startswith(("SAVEPOINT", "BEGIN"))]


def test_where_no_hold_was_refused_lately_the_transaction_refuses_alone(
    postgresql, one_counter, service, monday_morning
):
    """No read before: the transaction's lock and read, and the same refusal; a minute after the last refusal
    as taken (refusals.CONTENDED, by the holds' `now`) the location is quiet again."""
    taken_then_refused(one_counter, service, monday_morning)
    a_minute_later = monday_morning + timedelta(minutes=1)
    with CaptureQueriesContext(connection) as refused, pytest.raises(BookingError) as error:
        hold(one_counter, service, at(TUESDAY, 9), a_minute_later)
    assert error.value.code == BookingError.SLOT_TAKEN
    sql = [query["sql"] for query in refused.captured_queries]
    assert sql[1].startswith("SELECT pg_advisory_xact_lock_shared"), sql  # sql[0]: the savepoint of the test
    assert len([s for s in sql if "bookings_slotclaim" in s]) == 1, sql  # the transaction's read only


def refusal_cases(desk, service, now) -> dict[str, tuple]:
    """Each way a hold is refused by the rules or the claims: (start, keyword arguments)."""
    actions.book_appointment(
        location=desk, service=service, start=at(TUESDAY, 9), names=[PersonName("A", "B")], now=now
    )
    actions.add_closure(
        location=desk, start_date=TUESDAY + timedelta(days=1), end_date=TUESDAY + timedelta(days=1), reason="X", now=now
    )
    return {
        "taken": (at(TUESDAY, 9), {}),
        "a family past closing": (at(TUESDAY, 12, 15), {"persons": 2}),
        "closed for the day": (at(TUESDAY + timedelta(days=1), 10), {}),
        "not an opening day": (at(TUESDAY - timedelta(days=1), 10), {}),
        "too late before closing": (at(TUESDAY, 12, 15), {"extra_units": 2}),
        "off the grid": (at(TUESDAY, 10, 7), {}),
        "in the past": (now - timedelta(hours=1), {}),
        "beyond the horizon": (at(TUESDAY + timedelta(days=7 * 20), 10), {}),
        "within the notice": (at(TUESDAY, 9, 15), {"now_instead": at(TUESDAY, 9, 10)}),
    }


@pytest.mark.parametrize("gone", ["deleted", "not offered here", "inactive since it was read"])
def test_a_service_gone_since_it_was_read_is_refused_as_the_transaction_says(db, monday_morning, monkeypatch, gone):
    """The transaction reads the service's flag before anything else: the read before must not answer "not
    offered" or "taken" for a service that is gone or inactive."""
    service = ServiceFactory()
    desk = make_desk(services=[service], counters=1)
    if gone == "deleted":
        Service.objects.filter(pk=service.pk).delete()
    elif gone == "not offered here":
        desk.counters.get().services.clear()
    else:
        Service.objects.filter(pk=service.pk).update(is_active=False)
    monkeypatch.setattr(refusals, "contended", lambda *_args, **_kwargs: True)  # the read before, at every hold
    before = refusal(desk, service, at(TUESDAY, 10), monday_morning)
    monkeypatch.setattr(booking_actions, "refuse_unless_free", lambda **_kwargs: None)
    assert refusal(desk, service, at(TUESDAY, 10), monday_morning) == before


def test_the_read_before_gives_the_transactions_own_errors(db, monday_morning, monkeypatch):
    service = ServiceFactory(minimum_notice_minutes=60, booking_horizon_days=42)
    one_counter = make_desk(services=[service], counters=1)
    cases = refusal_cases(one_counter, service, monday_morning)
    read_before = []
    monkeypatch.setattr(refusals, "contended", lambda *_args, **_kwargs: read_before.append(1) or True)
    before = {}
    for name, (start, kwargs) in cases.items():
        now = kwargs.pop("now_instead", monday_morning)
        before[name] = refusal(one_counter, service, start, now, **kwargs)
        kwargs["now_instead"] = now
    assert len(read_before) == len(cases)  # each refused by the read before
    monkeypatch.setattr(booking_actions, "refuse_unless_free", lambda **_kwargs: None)
    for name, (start, kwargs) in cases.items():
        now = kwargs.pop("now_instead")
        assert refusal(one_counter, service, start, now, **kwargs) == before[name], name
    assert len({code for code, _message in before.values()}) >= 4  # the cases refuse for different reasons
    assert Appointment.objects.filter(location=one_counter).count() == 1  # only the booking made above
