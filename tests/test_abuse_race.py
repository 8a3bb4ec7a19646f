"""The abuse rules under real races (PostgreSQL, real threads and commits): one live booking per mailbox
and service, the cap on live holds per client address, and the fair share of counter time (issue 9).

Both rules count rows and then insert, which is a race on its own; the actions take a transaction-scoped
advisory lock on the address (or client key) first (bookings/abuse.py). Each race widens the window
between the count and the insert with a pause, and runs once more with the lock switched off — the
naive version — where both attempts get through, so the check is proven able to fail.
"""

from __future__ import annotations

import time as clock

import pytest
from django.test import override_settings

from bookings import abuse, fairness
from bookings.actions import BookingError, confirm_hold, hold_slot
from bookings.models import Appointment, AppointmentStatus
from tests.support.races import NAIVE_WINDOW_SECONDS, TUESDAY, at, names, race


def widen(monkeypatch, name: str, module=abuse) -> None:
    """Pause after the count, before the insert: the window a slow request gives."""
    original = getattr(module, name)

    def slow(**kwargs):
        result = original(**kwargs)
        clock.sleep(NAIVE_WINDOW_SECONDS)
        return result

    monkeypatch.setattr(module, name, slow)


def confirm_two_holds_with_one_address(desk, service, now) -> list:
    holds = [
        hold_slot(location=desk, service=service, start=at(TUESDAY, clock_time), persons=1, now=now)
        for clock_time in ("09:00", "10:00")
    ]
    return race(
        [
            lambda held=held: confirm_hold(appointment=held, names=names(1), contact_email="same@example.org", now=now)
            for held in holds
        ]
    )


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("naive", [False, True], ids=["locked", "naive"])
@override_settings(EXPATDESK_ONE_BOOKING_PER_EMAIL=True)
def test_two_bookings_with_one_address_at_once_leave_one(postgresql, desk, service, monday_morning, monkeypatch, naive):  # noqa: F811
    widen(monkeypatch, "mailbox_standing")
    if naive:  # no advisory lock at all (the mailbox's fair share takes the same lock, bookings/fairness.py)
        monkeypatch.setattr(abuse, "lock_all", lambda names: None)
    outcomes = confirm_two_holds_with_one_address(desk, service, monday_morning)
    booked = Appointment.objects.filter(status=AppointmentStatus.BOOKED, contact_email="same@example.org").count()
    if naive:
        assert booked == 2  # without the lock both counted none and both booked
        return
    assert booked == 1
    errors = [outcome.error for outcome in outcomes if not outcome.won]
    assert len(errors) == 1 and isinstance(errors[0], BookingError)
    assert errors[0].code == BookingError.SIMILAR_APPOINTMENT_EXISTS


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("naive", [False, True], ids=["locked", "naive"])
@override_settings(EXPATDESK_MAX_HOLDS_PER_IP=1)
def test_two_holds_from_one_address_at_once_leave_one(postgresql, desk, service, monday_morning, monkeypatch, naive):  # noqa: F811
    widen(monkeypatch, "owner_usage", fairness)  # a hold counts its address's holds with its fair share
    if naive:  # no advisory lock at all (the address's fair share takes the same lock, bookings/fairness.py)
        monkeypatch.setattr(abuse, "lock_all", lambda names: None)
    outcomes = race(
        [
            lambda clock_time=clock_time: hold_slot(
                location=desk,
                service=service,
                start=at(TUESDAY, clock_time),
                persons=1,
                now=monday_morning,
                client_key="one-address",
            )
            for clock_time in ("09:00", "10:00")
        ]
    )
    held = Appointment.objects.filter(status=AppointmentStatus.HELD, client_key="one-address").count()
    if naive:
        assert held == 2
        return
    assert held == 1
    errors = [outcome.error for outcome in outcomes if not outcome.won]
    assert len(errors) == 1 and errors[0].code == BookingError.TOO_MANY_HOLDS


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("naive", [False, True], ids=["locked", "naive"])
@override_settings(EXPATDESK_FAIR_SHARE_DAY_MINUTES=60, EXPATDESK_FAIR_SHARE_HORIZON_MINUTES=60)
def test_two_holds_past_the_fair_share_at_once_leave_one(postgresql, desk, service, monday_morning, monkeypatch, naive):  # noqa: F811
    """Issue 9: the fair share counts claims, then the action commits; two holds of one address at once
    would each count the other's claims as not there. The advisory lock on the address makes the second
    wait and count the first."""
    widen(monkeypatch, "owner_usage", fairness)  # a hold counts before it writes
    if naive:
        monkeypatch.setattr(abuse, "lock_all", lambda names: None)
    outcomes = race(
        [
            lambda clock_time=clock_time: hold_slot(
                location=desk,
                service=service,
                start=at(TUESDAY, clock_time),
                persons=4,  # 4 x 15 minutes: the whole share
                now=monday_morning,
                client_key="one-address",
            )
            for clock_time in ("09:00", "10:00")
        ]
    )
    held = Appointment.objects.filter(status=AppointmentStatus.HELD, client_key="one-address").count()
    if naive:
        assert held == 2  # both counted nothing of the other and both stayed: 120 minutes against 60
        return
    assert held == 1
    errors = [outcome.error for outcome in outcomes if not outcome.won]
    assert len(errors) == 1 and errors[0].code == BookingError.FAIR_SHARE_EXCEEDED
