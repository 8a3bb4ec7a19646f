"""The waitlist under real races on PostgreSQL (issue 14 §3; docs/locking.md).

1. A cancellation with 50 people waiting and 30 public clients (and the waitlist's own scans) racing for the
   freed time: exactly one holder of it, and it is the offer to the first matching entry by joining time.
   The naive twin — the waitlist hearing of freed time only after the commit (an on-commit hook, or the
   scan alone) — loses the time to a client refreshing the page.
2. An accepted offer racing its own expiry (the scan lapsing it and offering the time to the next entry)
   never double-books, in either order. The naive twin — an accept that decides by the clock, without the
   offer's row lock, and trusts the hold's claims without counting them — books a person with no counter
   time while the next person holds it.

After every race the booking invariant is checked on the rows (tests/support/races.py).
"""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from django.db import transaction

from bookings import hooks
from bookings.actions import BookingError, cancel_appointment, hold_slot
from bookings.actions import booking as booking_actions
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from tests.support.factories import make_desk
from tests.support.races import (
    TUESDAY,
    at,
    interleave,
    invariant_violations,
    race,
    real_claims,
    switch_off_safety_net,
    switch_on_safety_net,
)
from tests.support.waitlist import fill_day, live_holders, make_entry
from waitlist import actions
from waitlist.models import AFTERNOON, EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer, day_part_bit

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

NINE = at(TUESDAY, "09:00")
WAITING = 50
CLIENTS = 30
# The first entries in joining order that the freed 09:00 does not suit: afternoons only, or two persons.
NOT_SUITED = 5


@pytest.fixture
def net_off(postgresql):
    switch_off_safety_net()
    yield
    switch_on_safety_net()


def full_desk(service, now):
    location = make_desk(services=[service], counters=1, weekdays=(1,))
    booked = fill_day(location=location, service=service, day=TUESDAY, now=now)
    return location, next(a for a in booked if a.start == NINE)


def waiting_entries(location, service, now) -> list[WaitlistEntry]:
    entries = []
    for n in range(WAITING):
        options = {}
        if n < 3:
            options["day_parts"] = day_part_bit(weekday=1, part=AFTERNOON)
        elif n < NOT_SUITED:
            options["persons"] = 2
        entries.append(
            make_entry(
                location=location,
                service=service,
                now=now,
                email=f"waiting{n}@example.org",
                day=TUESDAY,
                joined_at=now - timedelta(minutes=WAITING - n),
                **options,
            )
        )
    return entries


def assert_sound(location, now):
    assert invariant_violations(location, real_claims(location), now=now) == []


# ---- 1. a cancellation, 50 waiting, 30 clients -------------------------------------------------------


def test_a_cancellation_with_50_waiting_and_30_clients_racing_goes_to_the_first_matching_entry(
    postgresql, service, monday_morning
):
    now = monday_morning
    location, freed = full_desk(service, now)
    entries = waiting_entries(location, service, now)

    attempts = [lambda: cancel_appointment(appointment=freed, now=now)]
    attempts += [
        lambda n=n: hold_slot(
            location=location, service=service, start=NINE, persons=1, now=now, client_key=f"{n:064x}"
        )
        for n in range(CLIENTS)
    ]
    attempts += [lambda: actions.scan_waitlist(now=now) for _ in range(2)]
    outcomes = race(attempts)

    assert outcomes[0].won, outcomes[0].trace
    clients, scans = outcomes[1 : 1 + CLIENTS], outcomes[1 + CLIENTS :]
    assert all(o.slot_taken for o in clients), [o.trace for o in clients if not o.slot_taken]
    assert all(o.won for o in scans), [o.trace for o in scans]
    holders = live_holders(location=location, start=NINE, now=now)
    assert len(holders) == 1
    (offer,) = WaitlistOffer.objects.filter(status=OfferStatus.OPEN)
    assert offer.appointment_id == holders[0].pk
    assert offer.entry_id == entries[NOT_SUITED].pk  # the first matching entry by joining time
    assert WaitlistEntry.objects.filter(status=EntryStatus.OFFERED).count() == 1
    assert_sound(location, now)


def test_the_naive_waitlist_that_hears_after_the_commit_loses_the_time_to_a_refreshing_client(
    postgresql, service, monday_morning, monkeypatch
):
    """The naive twin: no hook inside the cancellation's transaction; the waitlist learns of the freed time
    afterwards (an on-commit signal, or the scan). A client refreshing the page takes it in between."""
    now = monday_morning
    location, freed = full_desk(service, now)
    entries = waiting_entries(location, service, now)
    monkeypatch.setattr(hooks, "_capacity_freed", [])
    cancel_appointment(appointment=freed, now=now)

    scan, client = interleave(
        first=lambda: actions.scan_waitlist(now=now),
        pause_at=(actions, "_make_offer"),
        second=lambda: hold_slot(location=location, service=service, start=NINE, persons=1, now=now),
    )

    assert client.won and scan.won
    assert scan.value == 0  # the scan found the time free, and lost it to the client
    (holder,) = live_holders(location=location, start=NINE, now=now)
    assert holder.pk == client.value.pk
    assert not WaitlistOffer.objects.filter(entry=entries[NOT_SUITED]).exists()
    assert_sound(location, now)


def test_two_matchers_at_once_still_ask_the_first_entry_first(postgresql, service, monday_morning, monkeypatch):
    """The hook and a scan matching at the same moment: the second waits for the first's matching lock."""
    now = monday_morning
    location, freed = full_desk(service, now)
    entries = waiting_entries(location, service, now)
    monkeypatch.setattr(hooks, "_capacity_freed", [])
    cancel_appointment(appointment=freed, now=now)

    first, second = interleave(
        first=lambda: actions.scan_waitlist(now=now),
        pause_at=(actions, "_make_offer"),
        second=lambda: actions.scan_waitlist(now=now),
    )

    assert first.won and second.won, (first.trace, second.trace)
    assert (first.value, second.value) == (1, 0)
    (offer,) = WaitlistOffer.objects.all()
    assert offer.entry_id == entries[NOT_SUITED].pk
    assert_sound(location, now)


# ---- 2. an accepted offer racing its own expiry --------------------------------------------------------


def offered(service, now):
    location, freed = full_desk(service, now)
    first = make_entry(
        location=location,
        service=service,
        now=now,
        day=TUESDAY,
        email="first@example.org",
        joined_at=now - timedelta(minutes=2),
    )
    second = make_entry(
        location=location,
        service=service,
        now=now,
        day=TUESDAY,
        email="second@example.org",
        joined_at=now - timedelta(minutes=1),
    )
    cancel_appointment(appointment=freed, now=now)
    offer = WaitlistOffer.objects.select_related("appointment").get(entry=first, status=OfferStatus.OPEN)
    in_time = offer.expires_at - timedelta(minutes=1)
    after = offer.expires_at + timedelta(minutes=1)
    return location, first, second, offer, in_time, after


def test_an_accept_racing_its_expiry_wins_when_it_locked_the_offer_first(postgresql, service, monday_morning):
    location, first, second, offer, in_time, after = offered(service, monday_morning)

    accept, scan = interleave(
        first=lambda: actions.accept_offer(offer=offer, now=in_time),
        pause_at=(booking_actions, "make_claims_permanent"),
        second=lambda: actions.scan_waitlist(now=after),
    )

    assert accept.won, accept.trace
    assert scan.won and scan.value == 0, scan.trace  # it waited for the offer's row, then found it answered
    (holder,) = live_holders(location=location, start=NINE, now=after)
    assert holder.pk == offer.appointment_id and holder.status == AppointmentStatus.BOOKED
    offer.refresh_from_db()
    second.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and second.status == EntryStatus.WAITING
    assert_sound(location, after)


def test_an_accept_after_the_scan_lapsed_the_offer_is_refused(postgresql, service, monday_morning):
    location, first, second, offer, in_time, after = offered(service, monday_morning)

    scan, accept = interleave(
        first=lambda: actions.scan_waitlist(now=after),
        pause_at=(actions, "_make_offer"),
        second=lambda: actions.accept_offer(offer=offer, now=in_time),
    )

    assert scan.won and scan.value == 1, scan.trace
    assert isinstance(accept.error, BookingError) and accept.error.code == actions.OFFER_GONE, accept.trace
    (holder,) = live_holders(location=location, start=NINE, now=after)
    assert WaitlistOffer.objects.get(appointment=holder).entry_id == second.pk
    assert Appointment.objects.get(pk=offer.appointment_id).status == AppointmentStatus.HELD  # lapsed, unbooked
    assert_sound(location, after)


def before_update() -> None:
    """Where the naive accept below is stopped: after its decision, before its writes."""


def naive_accept(*, offer: WaitlistOffer, now) -> Appointment:
    """Accept as a naive version would: decide by the clock that the offer is still open, with no row lock,
    then make the hold's claims permanent without counting the rows the UPDATE touched."""
    with transaction.atomic(durable=True):
        current = WaitlistOffer.objects.get(pk=offer.pk)
        if current.status != OfferStatus.OPEN or current.expires_at <= now:
            raise BookingError(actions.OFFER_GONE, "gone (naive)")
        before_update()
        SlotClaim.objects.filter(appointment_id=current.appointment_id).update(expires_at=None)
        Appointment.objects.filter(pk=current.appointment_id).update(
            status=AppointmentStatus.BOOKED, hold_expires_at=None, booked_at=now, contact_email="first@example.org"
        )
        WaitlistOffer.objects.filter(pk=current.pk).update(status=OfferStatus.ACCEPTED, decided_at=now)
    return Appointment.objects.get(pk=current.appointment_id)


def test_the_naive_accept_racing_its_expiry_double_books(net_off, service, monday_morning):
    location, first, second, offer, in_time, after = offered(service, monday_morning)

    accept, scan = interleave(
        first=lambda: naive_accept(offer=offer, now=in_time),
        pause_at=(sys.modules[__name__], "before_update"),
        second=lambda: actions.scan_waitlist(now=after),
    )

    assert accept.won and scan.won and scan.value == 1
    booked = Appointment.objects.get(pk=offer.appointment_id)
    assert booked.status == AppointmentStatus.BOOKED and not SlotClaim.objects.filter(appointment=booked).exists()
    # Two people for 09:00 on the only counter: the one who accepted, and the next one, who holds it.
    assert len(live_holders(location=location, start=NINE, now=after)) == 1
    assert f"appointment {booked.pk} holds 0 units, needs 1" in invariant_violations(
        location, real_claims(location), now=after
    )
