"""The booking invariant under real races: PostgreSQL, real threads, real commits (DESIGN.md §4, §8).

Every race starts its threads behind a `threading.Barrier` once each has its own database
connection, and each thread closes that connection when it is done. After a race the database is
checked by one function, `invariant_violations`: no counter has two appointments whose claimed units
intersect, every claim lies inside its appointment's start and end, every live appointment holds
exactly the claims its persons need, and no claim belongs to a dead appointment.

Each race also runs once against `NaiveDesk`, written below: the same availability check in Python
(the same snapshot and allocation), then a pause, then the insert — with no database constraint behind
it. The same checks find the overbooking there, so they are proven able to fail.

The service takes 15 minutes a person (one grid unit); `monday_morning` is Monday 30 November 2026
08:00 in Amsterdam; the desks open on Tuesday 1 December.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.conf import settings

from bookings.actions import (
    BookingResult,
    book_appointment,
    confirm_hold,
    hold_slot,
    reschedule_appointment,
)
from bookings.availability import UnitKey, free_slots
from bookings.models import Appointment, AppointmentStatus, Counter, Location, SlotClaim
from services.models import Service
from tests.support.factories import CounterFactory, LocationFactory, OpeningHoursFactory, make_desk
from tests.support.races import (
    TUESDAY,
    WEDNESDAY,
    Claim,
    NaiveDesk,
    Outcome,
    assert_only_slot_taken,
    at,
    invariant_violations,
    names,
    overlaps,
    race,
    real_claims,
    unexpected_errors,
)

# ---- race 1: the last free place ------------------------------------------------------------------

LAST_PLACE = at(TUESDAY, "09:15")
ATTEMPTS_AT_LAST_PLACE = 50


def desk_with_one_unit_left(service: Service, book_first: Callable[..., Any]) -> Location:
    """One counter, open on Tuesday 1 December only, 09:00–09:30; 09:00 is booked, so 09:15 is the last place."""
    location = LocationFactory()
    CounterFactory(location=location, services=[service])
    OpeningHoursFactory(
        location=location,
        weekday=TUESDAY.weekday(),
        start_time=time(9, 0),
        end_time=time(9, 30),
        valid_from=TUESDAY,
        valid_until=TUESDAY,
    )
    book_first(location=location, start=at(TUESDAY, "09:00"))
    return location


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_fifty_attempts_at_the_last_free_place_end_with_exactly_one_booking(postgresql, service, monday_morning):
    now = monday_morning

    def book_first(*, location: Location, start: datetime) -> None:
        book_appointment(location=location, service=service, start=start, names=names(1), now=now)

    location = desk_with_one_unit_left(service, book_first)
    horizon = now.date() + timedelta(days=service.booking_horizon_days)
    free = free_slots(location=location, service=service, persons=1, start_date=now.date(), end_date=horizon, now=now)
    assert [slot.start for slots in free.values() for slot in slots] == [LAST_PLACE]

    def attempt(index: int) -> Callable[[], Any]:
        if index % 2:
            return lambda: hold_slot(location=location, service=service, start=LAST_PLACE, persons=1, now=now)
        return lambda: book_appointment(location=location, service=service, start=LAST_PLACE, names=names(1), now=now)

    outcomes = race([attempt(index) for index in range(ATTEMPTS_AT_LAST_PLACE)])

    assert_only_slot_taken(outcomes)
    winners = [outcome for outcome in outcomes if outcome.won]
    assert len(winners) == 1
    assert sum(outcome.slot_taken for outcome in outcomes) == ATTEMPTS_AT_LAST_PLACE - 1
    winner = Appointment.objects.get(pk=winners[0].appointment_id)
    assert winner.start == LAST_PLACE
    assert winner.is_live
    # The losers left nothing behind: the booking made first and the winner are all there is.
    assert Appointment.objects.filter(location=location).count() == 2
    assert SlotClaim.objects.filter(unit_start=LAST_PLACE, appointment=winner).count() == 1
    assert invariant_violations(location, real_claims(location)) == []
    assert (
        free_slots(location=location, service=service, persons=1, start_date=TUESDAY, end_date=TUESDAY, now=now) == {}
    )


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_naive_path_overbooks_the_last_free_place(naive_table, service, monday_morning):
    now = monday_morning
    naive: NaiveDesk | None = None

    def book_first(*, location: Location, start: datetime) -> None:
        nonlocal naive
        naive = NaiveDesk(location, now)
        naive.book(service=service, start=start, pause=False)

    location = desk_with_one_unit_left(service, book_first)
    assert naive is not None
    # Before the race the naive desk is sound, and it sees 09:00 taken and 09:15 free, as the real one does.
    assert invariant_violations(location, naive.claims()) == []
    assert [unit for _counter, _pk, unit, _end in naive.claims()] == [at(TUESDAY, "09:00")]

    outcomes = race([lambda: naive.book(service=service, start=LAST_PLACE)] * ATTEMPTS_AT_LAST_PLACE)

    assert_only_slot_taken(outcomes)
    assert sum(outcome.won for outcome in outcomes) > 1
    assert overlaps(invariant_violations(location, naive.claims()))


# ---- race 2: a family of 3 against single persons ---------------------------------------------------

FAMILY_ROUND_STARTS = [
    at(day, clock_time) for day in (TUESDAY, WEDNESDAY) for clock_time in ("09:00", "10:00", "11:00", "14:00")
]


def family_round(
    *,
    location: Location,
    counters: list[Counter],
    start: datetime,
    index: int,
    book: Callable[..., Any],
) -> list[Callable[[], Any]]:
    """Prepare one round and return its attempts: a family of 3 at `start`, two singles at `start` and two
    at `start` + 15 minutes. In even rounds the third counter is already busy at `start`, so the family
    cannot sit side by side: two of them follow each other on one counter, into the singles' later unit."""
    if index % 2 == 0:
        book(start=start, persons=1, counter=counters[2], hold=False)
    later = start + timedelta(minutes=location.grid_minutes)
    return [
        lambda: book(start=start, persons=3, counter=None, hold=index % 4 < 2),
        lambda: book(start=start, persons=1, counter=None, hold=True),
        lambda: book(start=start, persons=1, counter=None, hold=False),
        lambda: book(start=later, persons=1, counter=None, hold=True),
        lambda: book(start=later, persons=1, counter=None, hold=False),
    ]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_family_of_three_racing_single_bookings_never_overlaps_a_counter(postgresql, service, monday_morning):
    now = monday_morning
    location = make_desk(services=[service], counters=3)
    counters = list(Counter.objects.filter(location=location).order_by("name"))

    def book(*, start: datetime, persons: int, counter: Counter | None, hold: bool) -> Any:
        if hold:
            return hold_slot(location=location, service=service, start=start, persons=persons, now=now)
        return book_appointment(
            location=location, service=service, start=start, names=names(persons), now=now, counter=counter
        )

    family_won = 0
    for index, start in enumerate(FAMILY_ROUND_STARTS):
        outcomes = race(family_round(location=location, counters=counters, start=start, index=index, book=book))
        assert_only_slot_taken(outcomes, f"round {index}:")
        assert invariant_violations(location, real_claims(location)) == [], f"round {index}"
        family_won += outcomes[0].won
        # A loser leaves no appointment behind: this round's appointments are the winners (and the one
        # booked before the race in even rounds), and every one of them is live.
        this_round = Appointment.objects.filter(location=location, start__in=[start, start + timedelta(minutes=15)])
        assert this_round.count() == sum(outcome.won for outcome in outcomes) + (index % 2 == 0)
        assert all(appointment.is_live for appointment in this_round)
    # Not asserted (that would be a timing assumption), but the rounds are meant to see both outcomes.
    print(f"family won {family_won} of {len(FAMILY_ROUND_STARTS)} rounds")


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_naive_path_lets_a_family_overlap_single_bookings(naive_table, service, monday_morning):
    now = monday_morning
    location = make_desk(services=[service], counters=3)
    counters = list(Counter.objects.filter(location=location).order_by("name"))
    naive = NaiveDesk(location, now)

    def book(*, start: datetime, persons: int, counter: Counter | None, hold: bool) -> Appointment:
        return naive.book(service=service, start=start, persons=persons, counter=counter)

    attempts = family_round(location=location, counters=counters, start=FAMILY_ROUND_STARTS[0], index=0, book=book)
    assert invariant_violations(location, naive.claims()) == []  # sound before the race
    outcomes = race(attempts)

    assert_only_slot_taken(outcomes)
    assert outcomes[0].won
    family = outcomes[0].appointment_id
    assert [problem for problem in overlaps(invariant_violations(location, naive.claims())) if f" {family} " in problem]


# ---- race 3: a reschedule against a new booking for the same slot -----------------------------------

RESCHEDULE_ROUNDS = 24


def one_counter_units(location: Location, service: Service, now: datetime, count: int) -> list[datetime]:
    free = free_slots(
        location=location,
        service=service,
        persons=1,
        start_date=TUESDAY,
        end_date=TUESDAY + timedelta(days=14),
        now=now,
    )
    starts = [slot.start for slots in free.values() for slot in slots]
    assert len(starts) >= count
    return starts[:count]


def reschedule_round_problems(
    *,
    location: Location,
    claims: list[Claim],
    appointment_id: int,
    counter_id: int,
    old_start: datetime,
    new_start: datetime,
    rescheduled: Outcome,
    rival: Outcome,
) -> list[str]:
    """Exactly one of the two won, and the rescheduled appointment holds either its new slot or its old one."""
    problems = [f"unexpected error: {trace}" for trace in unexpected_errors([rescheduled, rival])]
    appointment = Appointment.objects.get(pk=appointment_id)
    mine = {(c, unit) for c, pk, unit, _end in claims if pk == appointment_id}
    old_unit, new_unit = (counter_id, old_start.astimezone(UTC)), (counter_id, new_start.astimezone(UTC))
    holders = {unit: [pk for c, pk, u, _end in claims if (c, u) == unit] for unit in (old_unit, new_unit)}
    if rescheduled.won and rival.won:
        problems.append("both the reschedule and the new booking won the same slot")
    elif rescheduled.won:
        if appointment.start != new_start or mine != {new_unit}:
            problems.append(f"the reschedule won but the appointment holds {mine} from {appointment.start}")
        if holders[old_unit]:
            problems.append(f"the old slot was not released: {holders[old_unit]}")
        if holders[new_unit] != [appointment_id]:
            problems.append(f"the new slot is held by {holders[new_unit]}")
    elif rival.won:
        if appointment.start != old_start or appointment.status != AppointmentStatus.BOOKED or mine != {old_unit}:
            problems.append(f"the new booking won but the old appointment lost its slot: {mine}")
        if holders[new_unit] != [rival.appointment_id]:
            problems.append(f"the new slot is held by {holders[new_unit]}, not the new booking")
    else:
        problems.append("neither the reschedule nor the new booking won")
    return problems + invariant_violations(location, claims)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_reschedule_racing_a_new_booking_never_double_books_nor_loses_the_old_slot(
    postgresql, service, monday_morning
):
    now = monday_morning
    location = make_desk(services=[service], counters=1)
    counter = Counter.objects.get(location=location)
    units = one_counter_units(location, service, now, 2 * RESCHEDULE_ROUNDS)
    reschedule_won = 0
    for index in range(RESCHEDULE_ROUNDS):
        old_start, new_start = units[2 * index], units[2 * index + 1]
        appointment = book_appointment(
            location=location, service=service, start=old_start, names=names(1), now=now
        ).appointment

        def new_booking(start: datetime = new_start, hold: bool = index % 2 == 1) -> Any:
            if hold:
                return hold_slot(location=location, service=service, start=start, persons=1, now=now)
            return book_appointment(location=location, service=service, start=start, names=names(1), now=now)

        rescheduled, rival = race(
            [
                lambda appointment=appointment, start=new_start: reschedule_appointment(
                    appointment=appointment, new_start=start, now=now
                ),
                new_booking,
            ]
        )
        problems = reschedule_round_problems(
            location=location,
            claims=real_claims(location),
            appointment_id=appointment.pk,
            counter_id=counter.pk,
            old_start=old_start,
            new_start=new_start,
            rescheduled=rescheduled,
            rival=rival,
        )
        assert problems == [], f"round {index}:\n" + "\n".join(problems)
        reschedule_won += rescheduled.won
    print(f"the reschedule won {reschedule_won} of {RESCHEDULE_ROUNDS} rounds")


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_naive_path_double_books_a_rescheduled_slot(naive_table, service, monday_morning):
    now = monday_morning
    location = make_desk(services=[service], counters=1)
    counter = Counter.objects.get(location=location)
    naive = NaiveDesk(location, now)
    old_start, new_start = one_counter_units(location, service, now, 2)
    appointment = naive.book(service=service, start=old_start, pause=False)

    rescheduled, rival = race(
        [
            lambda: naive.reschedule(appointment=appointment, new_start=new_start),
            lambda: naive.book(service=service, start=new_start),
        ]
    )

    problems = reschedule_round_problems(
        location=location,
        claims=naive.claims(),
        appointment_id=appointment.pk,
        counter_id=counter.pk,
        old_start=old_start,
        new_start=new_start,
        rescheduled=rescheduled,
        rival=rival,
    )
    assert "both the reschedule and the new booking won the same slot" in problems
    assert overlaps(problems)


# ---- race 4: confirming a lapsed hold against new bookings for its slot --------------------------------

CONFIRM_ROUNDS = 20
# The confirmation is a couple of queries, a new booking half a dozen before it touches the claim: the
# confirmation starts later by this much more each round, so the rounds sweep across the interleavings.
CONFIRM_DELAY_STEP_SECONDS = 0.001
HOLD_LAPSED = timedelta(minutes=settings.EXPATDESK_HOLD_MINUTES + 1)


def confirm_round_problems(
    *,
    location: Location,
    claims: list[Claim],
    now: datetime,
    hold_id: int,
    unit: UnitKey,
    confirmed: Outcome,
    rivals: list[Outcome],
) -> list[str]:
    """Exactly one won: a confirmed hold holds its slot; a refused one is left as it was."""
    problems = [f"unexpected error: {trace}" for trace in unexpected_errors([confirmed, *rivals])]
    hold = Appointment.objects.get(pk=hold_id)
    holders = [pk for counter_id, pk, unit_start, _end in claims if (counter_id, unit_start) == unit]
    winners = [rival for rival in rivals if rival.won]
    if confirmed.won + len(winners) > 1:
        problems.append("more than one of the confirmation and the new bookings won the same slot")
    elif confirmed.won:
        if hold.status != AppointmentStatus.BOOKED or holders != [hold_id]:
            problems.append(f"the confirmation won but the slot is held by {holders} ({hold.status})")
    elif winners:
        if hold.status != AppointmentStatus.HELD or holders != [winners[0].appointment_id]:
            problems.append(f"a new booking won but the slot is held by {holders}; the hold is {hold.status}")
    else:
        problems.append("neither the confirmation nor a new booking won")
    return problems + invariant_violations(location, claims, now=now)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_confirming_a_lapsed_hold_racing_new_bookings_for_its_slot_never_double_books(
    postgresql, service, monday_morning
):
    location = make_desk(services=[service], counters=1)
    counter = Counter.objects.get(location=location)
    later = monday_morning + HOLD_LAPSED
    confirm_won = 0
    for index, start in enumerate(one_counter_units(location, service, monday_morning, CONFIRM_ROUNDS)):
        hold = hold_slot(location=location, service=service, start=start, persons=1, now=monday_morning)

        def confirm(hold: Appointment = hold, delay: float = index * CONFIRM_DELAY_STEP_SECONDS) -> BookingResult:
            clock.sleep(delay)
            return confirm_hold(appointment=hold, names=names(1), contact_email="", now=later)

        confirmed, *rivals = race(
            [
                confirm,
                lambda start=start: hold_slot(location=location, service=service, start=start, persons=1, now=later),
                lambda start=start: book_appointment(
                    location=location, service=service, start=start, names=names(1), now=later
                ),
            ]
        )
        problems = confirm_round_problems(
            location=location,
            claims=real_claims(location),
            now=later,
            hold_id=hold.pk,
            unit=(counter.pk, start.astimezone(UTC)),
            confirmed=confirmed,
            rivals=rivals,
        )
        assert problems == [], f"round {index}:\n" + "\n".join(problems)
        if confirmed.won:  # and its claim no longer expires
            assert SlotClaim.objects.filter(appointment=hold, expires_at__isnull=True).count() == 1
        confirm_won += confirmed.won
    print(f"the confirmation won {confirm_won} of {CONFIRM_ROUNDS} rounds")


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_naive_path_double_books_the_slot_of_a_lapsed_hold(naive_table, service, monday_morning):
    location = make_desk(services=[service], counters=1)
    counter = Counter.objects.get(location=location)
    (start,) = one_counter_units(location, service, monday_morning, 1)
    naive = NaiveDesk(location, monday_morning)
    hold = naive.book(
        service=service, start=start, pause=False, hold_expires_at=monday_morning + (HOLD_LAPSED - timedelta(minutes=1))
    )
    naive.now = later = monday_morning + HOLD_LAPSED

    confirmed, *rivals = race(
        [lambda: naive.confirm(appointment=hold)] + [lambda: naive.book(service=service, start=start)] * 2
    )

    problems = confirm_round_problems(
        location=location,
        claims=naive.claims(),
        now=later,
        hold_id=hold.pk,
        unit=(counter.pk, start.astimezone(UTC)),
        confirmed=confirmed,
        rivals=rivals,
    )
    assert "more than one of the confirmation and the new bookings won the same slot" in problems
    assert overlaps(problems)
