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
from bookings.models import Appointment, AppointmentPart, AppointmentStatus, Counter, Location, SlotClaim
from bookings.tokens import new_reference
from bookings.visits import load_planner
from services.models import Service
from tests.support.env import AMSTERDAM

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)
THURSDAY = date(2026, 12, 3)

# How long the naive path pauses between its check and its insert: the window a slow request gives.
NAIVE_WINDOW_SECONDS = 0.15
# A thread that has not finished by then is stuck (the lock timeout is 5 seconds).
THREAD_TIMEOUT_SECONDS = 60

Claim = tuple[int, int | None, datetime, datetime]  # (counter id, appointment id, start and end in UTC)


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
    """Every claim of the location's counters: (counter, appointment or None for a block, start, end)."""
    rows = SlotClaim.objects.filter(counter__location=location).values_list(
        "counter_id", "appointment_id", "unit_start", "unit_end"
    )
    return [(c, pk, start.astimezone(UTC), end.astimezone(UTC)) for c, pk, start, end in rows]


def hm(moment: datetime) -> str:
    return f"{moment.astimezone(AMSTERDAM):%a %H:%M}"


def invariant_violations(location: Location, claims: list[Claim], *, now: datetime | None = None) -> list[str]:
    """Everything wrong with these claims and the location's appointments; empty when the invariant holds.

    - no two claims on a counter overlap in real time (whatever grid each was made on);
    - every appointment claim lies inside its appointment's start and end, and belongs to a live one;
    - every live appointment owns exactly the claims its persons need (persons times the service's units).
      PostgreSQL itself checks `claimed_units` at every commit (migration 0006). A hold that lapsed
      before `now` may have lost its claims to a booking: it must own none or all.
    """
    appointments = {a.pk: a for a in Appointment.objects.filter(location=location).select_related("service")}
    problems: list[str] = []
    claim_count: dict[int, int] = defaultdict(int)
    by_counter: dict[int, list[tuple[datetime, datetime, int | None]]] = defaultdict(list)
    for counter_id, appointment_id, start, end in claims:
        by_counter[counter_id].append((start, end, appointment_id))
        if appointment_id is None:
            continue  # a counter block's claim
        appointment = appointments.get(appointment_id)
        if appointment is None or not appointment.is_live:
            problems.append(f"counter {counter_id} {hm(start)}: claimed by dead appointment {appointment_id}")
            continue
        if not (appointment.start <= start and end <= appointment.end):
            problems.append(
                f"counter {counter_id} {hm(start)}: outside appointment {appointment_id} "
                f"({hm(appointment.start)}-{hm(appointment.end)})"
            )
        claim_count[appointment_id] += 1
    for appointment in appointments.values():
        if not appointment.is_live:
            continue
        needed = _units_needed(location, appointment)
        lapsed = appointment.status == AppointmentStatus.HELD and now is not None and appointment.hold_expires_at <= now
        if claim_count[appointment.pk] not in ({0, needed} if lapsed else {needed}):
            problems.append(f"appointment {appointment.pk} holds {claim_count[appointment.pk]} units, needs {needed}")
    for counter_id, spans in by_counter.items():
        spans.sort()
        for index, (start, end, owner) in enumerate(spans):
            for other_start, other_end, other in spans[index + 1 :]:
                if other_start >= end:
                    break
                problems.append(
                    f"counter {counter_id}: claims of {owner} ({hm(start)}-{hm(end)}) and "
                    f"{other} ({hm(other_start)}-{hm(other_end)}) overlap"
                )
    return problems


def _units_needed(location: Location, appointment: Appointment) -> int:
    """Persons times the service's units; for a visit of several parts, summed over its parts."""
    if appointment.part_count == 1:
        return appointment.persons * units_per_person(
            location=location, service=appointment.service, extra_units=appointment.extra_units
        )
    return sum(
        len(part.persons) * units_per_person(location=location, service=part.service)
        for part in AppointmentPart.objects.filter(appointment=appointment).select_related("service")
    )


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
        grid = timedelta(minutes=self.location.grid_minutes)
        with connection.cursor() as cursor:
            cursor.execute("SELECT counter_id, appointment_id, unit_start FROM naive_claim")
            return [(c, pk, unit.astimezone(UTC), unit.astimezone(UTC) + grid) for c, pk, unit in cursor.fetchall()]

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

    def book_visit(self, *, parts, start: datetime, pause: bool = True) -> Appointment:
        """A visit of several parts, checked by the real planner against the naive claims, then inserted."""
        day = start.astimezone(self.location.tz).date()
        planner = load_planner(location=self.location, parts=parts, start_date=day, end_date=day, now=self.now)
        with connection.cursor() as cursor:
            cursor.execute("SELECT counter_id, unit_start FROM naive_claim")
            taken: set[UnitKey] = {(counter_id, unit.astimezone(UTC)) for counter_id, unit in cursor.fetchall()}
        allocation = planner.on(replace(planner.snapshot, taken=taken)).allocate(start)
        if allocation is None:
            raise BookingError(BookingError.SLOT_TAKEN, "taken (naive check)")
        if pause:
            clock.sleep(NAIVE_WINDOW_SECONDS)
        with transaction.atomic():
            appointment = Appointment.objects.create(
                reference=new_reference(short_code=self.location.short_code),
                service=parts[0].service,
                location=self.location,
                start=allocation.start,
                end=allocation.end,
                persons=len({person for part in parts for person in part.persons}),
                status=AppointmentStatus.BOOKED,
                created_at=self.now,
                booked_at=self.now,
                part_count=len(parts),
            )
            self._insert_claims(appointment.pk, allocation.units)
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


# ---- two transactions in a chosen order ---------------------------------------------------------


def _backend_pid() -> int:
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def _waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [pid])
        return cursor.fetchone()[0]


def interleave(
    *,
    first: Callable[[], Any],
    pause_at: tuple[object, str],
    second: Callable[[], Any],
    timeout: float = THREAD_TIMEOUT_SECONDS,
) -> tuple[Outcome, Outcome]:
    """Run `first` until it calls `pause_at` (an object and the name of a function on it, e.g. a module and
    one of its functions), stop it there, and run `second` meanwhile; `first` goes on once `second` has
    finished or is seen waiting for a lock (pg_locks), i.e. waiting for `first`.

    So the order of the two is decided by what the database does, not by sleeps: a naive path lets
    `second` commit inside `first`'s window; the real path makes `second` wait for `first`'s lock.
    Call it from a test on PostgreSQL with `transactional_db` (each thread commits for real).
    """
    target, name = pause_at
    original = getattr(target, name)
    reached, release = threading.Event(), threading.Event()
    first_thread: list[int] = []

    def paused(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() in first_thread and not reached.is_set():
            reached.set()
            assert release.wait(timeout), "the second transaction never let the first go on"
        return original(*args, **kwargs)

    outcomes: dict[str, Outcome] = {}
    second_pid: list[int] = []
    second_done = threading.Event()

    def run(label: str, work: Callable[[], Any]) -> None:
        try:
            if label == "second":
                second_pid.append(_backend_pid())
            else:
                first_thread.append(threading.get_ident())
                connection.ensure_connection()
            outcomes[label] = Outcome(value=work())
        except BaseException as error:
            outcomes[label] = Outcome(error=error, trace=traceback.format_exc())
        finally:
            if label == "second":
                second_done.set()
            connection.close()

    setattr(target, name, paused)
    try:
        one = threading.Thread(target=run, args=("first", first))
        one.start()
        assert reached.wait(timeout), "the first transaction never reached its pause"
        two = threading.Thread(target=run, args=("second", second))
        two.start()
        deadline = clock.monotonic() + timeout
        while not second_done.is_set():
            if second_pid and _waits_for_a_lock(second_pid[0]):
                break
            assert clock.monotonic() < deadline, "the second transaction neither finished nor waited"
            second_done.wait(0.01)
        release.set()
        one.join(timeout)
        two.join(timeout)
        assert not one.is_alive() and not two.is_alive(), "a transaction hung"
    finally:
        setattr(target, name, original)
        release.set()
    return outcomes["first"], outcomes["second"]


# ---- the rules a live appointment must keep --------------------------------------------------------


def rule_violations(location: Location, *, now: datetime) -> list[str]:
    """Live appointments that break the location's rules as they are now: on a closed day, outside the
    opening hours, or on a counter that is inactive or does not serve their service."""
    problems: list[str] = []
    tz = location.tz
    for appointment in Appointment.objects.filter(location=location).select_related("service", "location"):
        if not appointment.is_live_at(now):
            continue
        day = appointment.start.astimezone(tz).date()
        snapshot = load_snapshot(location=location, start_date=day, end_date=day, now=now)
        intervals = snapshot.opening_intervals(day)
        if not any(begin <= appointment.start and appointment.end <= end for begin, end in intervals):
            problems.append(f"appointment {appointment.pk} at {hm(appointment.start)}: outside opening hours")
        serving = set(snapshot.counters_for(appointment.service))
        for counter_id in SlotClaim.objects.filter(appointment=appointment).values_list("counter_id", flat=True):
            if counter_id not in serving:
                problems.append(f"appointment {appointment.pk}: on counter {counter_id}, which does not serve it")
    return problems


# ---- the database's own safety net, switched off to show what the Python alone would do --------------

SAFETY_TRIGGERS = (
    ("bookings_appointment", "booked_appointment_owns_its_claims"),
    ("bookings_slotclaim", "claims_of_booked_appointment_stay"),
)
EXCLUSION = "claim_no_overlap_in_real_time"


def switch_off_safety_net() -> None:
    """Disable migration 0006's trigger and drop its exclusion constraint (a transactional test only)."""
    with connection.cursor() as cursor:
        for table, trigger in SAFETY_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cursor.execute(f"ALTER TABLE bookings_slotclaim DROP CONSTRAINT IF EXISTS {EXCLUSION}")


def switch_on_safety_net() -> None:
    """Turn the net back on; first clear what the naive run left, which the net would refuse."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bookings_slotclaim")
        cursor.execute("UPDATE bookings_appointment SET claimed_units = 0")
        cursor.execute(
            f"ALTER TABLE bookings_slotclaim ADD CONSTRAINT {EXCLUSION} "
            "EXCLUDE USING gist (counter_id WITH =, tstzrange(unit_start, unit_end) WITH &&)"
        )
        for table, trigger in SAFETY_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
