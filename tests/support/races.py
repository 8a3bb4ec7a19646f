"""The race harness (DESIGN.md §4, §8): threads released together by a barrier on PostgreSQL, the booking
invariant checked on the rows, and `NaiveDesk`, the check-then-insert twin with no constraint behind it.

Every race starts its threads behind a `threading.Barrier` once each has its own database connection,
and each thread closes that connection when it is done. After a race the database is checked by one
function, `invariant_violations`: no counter has two appointments whose claimed units intersect, every
claim lies inside its appointment's start and end, every live appointment holds exactly the claims its
persons need, and no claim belongs to a dead appointment.
"""

from __future__ import annotations

import threading
import time as clock
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction

from bookings.actions import BookingError, BookingResult, PersonName
from bookings.availability import UnitKey, load_snapshot, units_per_person
from bookings.models import Appointment, AppointmentStatus, Counter, Location, SlotClaim
from bookings.tokens import new_reference
from services.models import Service
from tests.support.env import AMSTERDAM

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)
THURSDAY = date(2026, 12, 3)

# How long the naive path pauses between its check and its insert: the window a slow request gives.
NAIVE_WINDOW_SECONDS = 0.15
# A thread that has not finished by then is stuck (the lock timeout is 5 seconds).
THREAD_TIMEOUT_SECONDS = 60

Claim = tuple[int, int, datetime]  # (counter id, appointment id, unit start in UTC)


def at(day: date, clock_time: str) -> datetime:
    hour, minute = map(int, clock_time.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def names(count: int) -> list[PersonName]:
    return [PersonName(first_name=f"Person {index + 1}", last_name="Race") for index in range(count)]


# ---- the race harness ---------------------------------------------------------------------------


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    trace: str = ""

    @property
    def won(self) -> bool:
        return self.error is None

    @property
    def slot_taken(self) -> bool:
        return isinstance(self.error, BookingError) and self.error.code == BookingError.SLOT_TAKEN

    @property
    def appointment_id(self) -> int:
        value = self.value.appointment if isinstance(self.value, BookingResult) else self.value
        return value.pk


def race(attempts: list[Callable[[], Any]]) -> list[Outcome]:
    """Run every attempt in its own thread, released together by a barrier; outcomes in the same order."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[Outcome] = [Outcome(error=RuntimeError("thread did not finish"))] * len(attempts)

    def run(index: int, attempt: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect first, so that the barrier releases the queries together
            barrier.wait(timeout=THREAD_TIMEOUT_SECONDS)
            outcomes[index] = Outcome(value=attempt())
        except BaseException as error:
            outcomes[index] = Outcome(error=error, trace=traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, attempt)) for index, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return outcomes


def unexpected_errors(outcomes: Iterable[Outcome]) -> list[str]:
    """Every failure must be the domain's SLOT_TAKEN: anything else would be a 500 for the person."""
    return [outcome.trace for outcome in outcomes if not outcome.won and not outcome.slot_taken]


def assert_only_slot_taken(outcomes: Iterable[Outcome], context: str = "") -> None:
    errors = unexpected_errors(outcomes)
    assert errors == [], f"{context} unexpected errors:\n" + "\n".join(errors)


# ---- the invariant, checked on the rows ---------------------------------------------------------


def real_claims(location: Location) -> list[Claim]:
    rows = SlotClaim.objects.filter(counter__location=location).values_list(
        "counter_id", "appointment_id", "unit_start"
    )
    return [(counter_id, appointment_id, unit.astimezone(UTC)) for counter_id, appointment_id, unit in rows]


def hm(moment: datetime) -> str:
    return f"{moment.astimezone(AMSTERDAM):%a %H:%M}"


def invariant_violations(location: Location, claims: list[Claim], *, now: datetime | None = None) -> list[str]:
    """Everything wrong with these claims and the location's appointments; empty when the invariant holds.

    A hold that lapsed before `now` may have lost its claims to a booking: it must hold none or all.
    """
    grid = timedelta(minutes=location.grid_minutes)
    appointments = {a.pk: a for a in Appointment.objects.filter(location=location).select_related("service")}
    problems: list[str] = []
    units_on_counter: dict[int, dict[int, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    claim_count: dict[int, int] = defaultdict(int)
    for counter_id, appointment_id, unit in claims:
        appointment = appointments.get(appointment_id)
        if appointment is None or not appointment.is_live:
            problems.append(f"counter {counter_id} {hm(unit)}: claimed by dead appointment {appointment_id}")
            continue
        if not (appointment.start <= unit and unit + grid <= appointment.end):
            problems.append(
                f"counter {counter_id} {hm(unit)}: outside appointment {appointment_id} "
                f"({hm(appointment.start)}-{hm(appointment.end)})"
            )
        units_on_counter[counter_id][appointment_id].append(unit)
        claim_count[appointment_id] += 1
    for appointment in appointments.values():
        needed = appointment.persons * units_per_person(location=location, service=appointment.service)
        lapsed = appointment.status == AppointmentStatus.HELD and now is not None and appointment.hold_expires_at <= now
        if appointment.is_live and claim_count[appointment.pk] not in ({0, needed} if lapsed else {needed}):
            problems.append(f"appointment {appointment.pk} holds {claim_count[appointment.pk]} units, needs {needed}")
    for counter_id, by_appointment in units_on_counter.items():
        # What each appointment occupies on this counter: from its first claimed unit to the end of its last.
        spans = sorted((min(units), max(units) + grid, pk) for pk, units in by_appointment.items())
        for index, (start, end, pk) in enumerate(spans):
            for other_start, other_end, other_pk in spans[index + 1 :]:
                if other_start < end and start < other_end:
                    problems.append(
                        f"counter {counter_id}: appointments {pk} ({hm(start)}-{hm(end)}) and "
                        f"{other_pk} ({hm(other_start)}-{hm(other_end)}) overlap"
                    )
    return problems


def overlaps(problems: list[str]) -> list[str]:
    return [problem for problem in problems if problem.endswith("overlap")]


# ---- the naive path: check in Python, pause, insert; no constraint behind it -----------------------


class NaiveDesk:
    """What the invariant would be without SlotClaim's unique constraint.

    It checks availability exactly as the real path does (the same snapshot and allocation), from its
    own claims table that has no unique constraint, then inserts the Appointment and its claims. As in
    the real path, a claim of a hold carries an expiry and stops counting once it has passed.
    """

    def __init__(self, location: Location, now: datetime) -> None:
        self.location = location
        self.now = now

    @staticmethod
    def create_table() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE naive_claim (appointment_id bigint NOT NULL, counter_id bigint NOT NULL, "
                "unit_start timestamp with time zone NOT NULL, expires_at timestamp with time zone NULL)"
            )

    @staticmethod
    def drop_table() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS naive_claim")

    def claims(self) -> list[Claim]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT counter_id, appointment_id, unit_start FROM naive_claim")
            return [(counter_id, pk, unit.astimezone(UTC)) for counter_id, pk, unit in cursor.fetchall()]

    def _check(
        self, *, service: Service, persons: int, start: datetime, counter: Counter | None, ignore: int | None = None
    ):
        """The check-then part: read the claims, allocate in Python."""
        day = start.astimezone(self.location.tz).date()
        snapshot = load_snapshot(location=self.location, start_date=day, end_date=day, now=self.now)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT counter_id, unit_start FROM naive_claim "
                "WHERE appointment_id <> %s AND (expires_at IS NULL OR expires_at > %s)",
                [ignore or 0, self.now],
            )
            taken: set[UnitKey] = {(counter_id, unit.astimezone(UTC)) for counter_id, unit in cursor.fetchall()}
        allocation = replace(snapshot, taken=taken).allocate(
            service=service, persons=persons, start=start, counter_ids=[counter.pk] if counter else None
        )
        if allocation is None:
            raise BookingError(BookingError.SLOT_TAKEN, "taken (naive check)")
        return allocation

    def _insert_claims(self, appointment_id: int, units: Iterable[UnitKey], expires_at: datetime | None = None) -> None:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO naive_claim (appointment_id, counter_id, unit_start, expires_at) VALUES (%s, %s, %s, %s)",
                [(appointment_id, counter_id, unit, expires_at) for counter_id, unit in units],
            )

    def book(
        self,
        *,
        service: Service,
        start: datetime,
        persons: int = 1,
        counter: Counter | None = None,
        pause: bool = True,
        hold_expires_at: datetime | None = None,
    ) -> Appointment:
        allocation = self._check(service=service, persons=persons, start=start, counter=counter)
        if pause:
            clock.sleep(NAIVE_WINDOW_SECONDS)
        with transaction.atomic():
            appointment = Appointment.objects.create(
                reference=new_reference(short_code=self.location.short_code),
                service=service,
                location=self.location,
                start=allocation.start,
                end=allocation.end,
                persons=persons,
                status=AppointmentStatus.HELD if hold_expires_at else AppointmentStatus.BOOKED,
                hold_expires_at=hold_expires_at,
                created_at=self.now,
                booked_at=None if hold_expires_at else self.now,
            )
            with connection.cursor() as cursor:  # expired claims no longer count: make room
                cursor.executemany(
                    "DELETE FROM naive_claim WHERE counter_id = %s AND unit_start = %s AND expires_at <= %s",
                    [(counter_id, unit, self.now) for counter_id, unit in allocation.units],
                )
            self._insert_claims(appointment.pk, allocation.units, hold_expires_at)
        return appointment

    def confirm(self, *, appointment: Appointment) -> Appointment:
        """Confirm a hold: if it lapsed, check that nobody else holds its slot now, then keep it."""
        allocation = self._check(
            service=appointment.service,
            persons=appointment.persons,
            start=appointment.start,
            counter=None,
            ignore=appointment.pk,
        )
        clock.sleep(NAIVE_WINDOW_SECONDS)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM naive_claim WHERE appointment_id = %s", [appointment.pk])
            self._insert_claims(appointment.pk, allocation.units)
            Appointment.objects.filter(pk=appointment.pk).update(
                status=AppointmentStatus.BOOKED, hold_expires_at=None, booked_at=self.now
            )
        return appointment

    def reschedule(self, *, appointment: Appointment, new_start: datetime) -> Appointment:
        allocation = self._check(
            service=appointment.service,
            persons=appointment.persons,
            start=new_start,
            counter=None,
            ignore=appointment.pk,
        )
        clock.sleep(NAIVE_WINDOW_SECONDS)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM naive_claim WHERE appointment_id = %s", [appointment.pk])
            self._insert_claims(appointment.pk, allocation.units)
            Appointment.objects.filter(pk=appointment.pk).update(start=allocation.start, end=allocation.end)
        return appointment
