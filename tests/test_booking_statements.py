"""What a booking costs the database (issue 10): the statements of hold + book, and the claims inserted on
PostgreSQL with one INSERT … ON CONFLICT DO NOTHING, all or nothing by the row count (several units in a
savepoint, rolled back when one is taken)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import actions, availability
from bookings.actions import BookingError, PersonName
from bookings.actions import common as common_actions
from bookings.actions.common import _insert_claims
from bookings.models import Appointment, AppointmentEvent, AppointmentStatus, SlotClaim
from tests.support.factories import AppointmentFactory, ServiceFactory, make_desk

# The statements of the two actions inside their transactions (BEGIN and COMMIT not counted), on PostgreSQL,
# for one person, in a process that has read the location's configuration before (`served_before`; three
# statements more once per change of the configuration, when it has not: docs/locking.md §2):
# hold — the location lock with the service's active flag in one statement (the flag as before the lock);
# the configuration's version and the claims in one statement (the lapsed ones with them, so that no DELETE
# of lapsed claims is needed when none is at its units); the address lock, after the allocation; the
# address's live holds and fair share in one query, before the writes; then one statement
# (actions/together.py) for the appointment (no savepoint: a reference drawn twice runs the hold again), its
# claim when it is one unit, and the audit row.
HOLD_STATEMENTS = 5
# Before its transaction, a hold at a location where this process refused a hold as taken within the last
# refusals.CONTENDED reads the configuration's version and the day's claims once, without a lock, to refuse a
# time that is not free (booking.refuse_unless_free): there a time found free costs this one more. Elsewhere
# (every hold but those of a release of slots) the transaction's own read is the only one.
READ_BEFORE = 1
# Several units (a family, extra time) go in after the appointment's statement, with one INSERT inside a
# savepoint of their own (common._insert_claims_or_none): SAVEPOINT, INSERT, RELEASE.
CLAIMS_SAVEPOINT = 3
# book — location lock; the hold's row with the configuration's version in one statement (the rules now: no
# claims needed); address and mailbox locks in one statement; the claims made permanent (UPDATE …
# RETURNING); then one statement (actions/together.py) for the names, the booking's UPDATE, the audit row,
# the confirmation e-mail's outbox row and both fair shares counted.
BOOK_STATEMENTS = 5
# The mailbox's limits, on in production (off in the test settings): one live booking per service and the
# cool-down after cancellations, one query (abuse.mailbox_standing), under the mailbox's lock.
CUSTOMER_LIMITS = 1


NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def served_before(location) -> None:
    """The location's configuration read and kept, as by a process that has answered for it before
    (docs/locking.md §2): then the configuration costs one statement, its version."""
    availability.load_rules(location=location, start_date=date(2026, 12, 1), end_date=date(2026, 12, 1), now=NOW)


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The captured SQL without the test transaction's savepoint around the action (BEGIN/COMMIT outside a test)."""
    sql = [query["sql"] for query in queries.captured_queries]
    outer = next(s.split()[1] for s in sql if s.startswith("SAVEPOINT"))
    return [s for s in sql if s not in (f"SAVEPOINT {outer}", f"RELEASE SAVEPOINT {outer}")]


def held_and_booked(desk, service, now: datetime, *, persons: int, hold=None, book=None):
    """Hold 09:00 on 1 December for `persons` and book it (`hold`, `book`: more arguments of each action), as a
    process that served the desk before: (the hold's statements, the booking's statements, the booked row)."""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=now.tzinfo)
    served_before(desk)
    with CaptureQueriesContext(connection) as holding:
        held = actions.hold_slot(
            location=desk,
            service=service,
            start=start,
            persons=persons,
            now=now,
            client_key="client-key",
            **(hold or {}),
        )
    with CaptureQueriesContext(connection) as booking:
        actions.confirm_hold(
            appointment=held,
            names=[PersonName(f"Person {n}", "Doe") for n in range(persons)],
            contact_email="jane@example.org",
            now=now,
            **(book or {}),
        )
    return statements(holding), statements(booking), Appointment.objects.get(pk=held.pk)


def test_hold_and_book_cost_a_fixed_small_number_of_statements(postgresql, desk, service, monday_morning):
    hold, book, booked = held_and_booked(desk, service, monday_morning, persons=2)
    assert len(hold) == HOLD_STATEMENTS + CLAIMS_SAVEPOINT, "\n".join(hold)
    assert len(book) == BOOK_STATEMENTS, "\n".join(book)
    assert booked.status == AppointmentStatus.BOOKED
    assert SlotClaim.objects.filter(appointment=booked, expires_at__isnull=True).count() == booked.claimed_units == 2


def test_where_a_hold_was_refused_as_taken_lately_a_hold_reads_once_before(postgresql, desk, service, monday_morning):
    """A release of slots: after a refusal as taken at the location, the read before costs a hold found free one
    statement more, and a minute later (refusals.CONTENDED, by the holds' `now`) no longer."""
    taken = datetime(2026, 12, 1, 10, 0, tzinfo=monday_morning.tzinfo)
    for _counter in desk.counters.all():
        actions.hold_slot(location=desk, service=service, start=taken, persons=1, now=monday_morning)
    with pytest.raises(BookingError) as refused:
        actions.hold_slot(location=desk, service=service, start=taken, persons=1, now=monday_morning)
    assert refused.value.code == BookingError.SLOT_TAKEN
    hold, _book, _booked = held_and_booked(desk, service, monday_morning + timedelta(seconds=59), persons=1)
    assert len(hold) == READ_BEFORE + HOLD_STATEMENTS, "\n".join(hold)
    later = monday_morning + timedelta(seconds=60)
    start = datetime(2026, 12, 1, 11, 0, tzinfo=monday_morning.tzinfo)
    with CaptureQueriesContext(connection) as quiet:
        actions.hold_slot(location=desk, service=service, start=start, persons=1, now=later, client_key="client-key")
    assert len(statements(quiet)) == HOLD_STATEMENTS, "\n".join(statements(quiet))


def test_one_person_held_and_booked_costs_eleven_statements_with_the_production_limits(
    postgresql, settings, desk, service, monday_morning
):
    """Issue 10: "at most about a dozen SQL statements for hold + book", with every limit of production on."""
    settings.EXPATDESK_ONE_BOOKING_PER_EMAIL = True
    settings.EXPATDESK_COOLDOWN_CANCELLATIONS = 3
    settings.EXPATDESK_FAIR_SHARE_DAY_MINUTES = settings.EXPATDESK_FAIR_SHARE_HORIZON_MINUTES = 180
    hold, book, booked = held_and_booked(desk, service, monday_morning, persons=1)
    assert len(hold) == HOLD_STATEMENTS, "\n".join(hold)
    assert len(book) == BOOK_STATEMENTS + CUSTOMER_LIMITS, "\n".join(book)
    assert len(hold) + len(book) == 11
    assert booked.status == AppointmentStatus.BOOKED


def test_special_needs_cost_no_more_statements(postgresql, desk, service, monday_morning):
    """Extra time is part of the hold's INSERT, wheelchair access and the interpreter part of the booking's UPDATE."""
    hold, book, booked = held_and_booked(
        desk,
        service,
        monday_morning,
        persons=2,
        hold={"extra_units": 2},
        book={"needs_wheelchair": True, "interpreter_language": "pl"},
    )
    assert len(hold) == HOLD_STATEMENTS + CLAIMS_SAVEPOINT, "\n".join(hold)
    assert len(book) == BOOK_STATEMENTS, "\n".join(book)
    assert (booked.extra_units, booked.needs_wheelchair, booked.interpreter_language) == (2, True, "pl")
    assert SlotClaim.objects.filter(appointment=booked, expires_at__isnull=True).count() == booked.claimed_units == 6


def test_a_family_costs_one_insert_as_one_person_does(postgresql, service, monday_morning):
    desk = make_desk(services=[service], counters=6)
    start = datetime(2026, 12, 1, 10, 0, tzinfo=monday_morning.tzinfo)
    served_before(desk)
    with CaptureQueriesContext(connection) as one:
        actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning, client_key="a")
    with CaptureQueriesContext(connection) as six:
        actions.hold_slot(location=desk, service=service, start=start, persons=6, now=monday_morning, client_key="b")
    # The six units go in with one INSERT of their own, inside a savepoint; the one unit goes in with the
    # appointment.
    assert len(statements(one)) == HOLD_STATEMENTS, "\n".join(statements(one))
    assert len(statements(six)) == HOLD_STATEMENTS + CLAIMS_SAVEPOINT
    assert sum('INSERT INTO "bookings_slotclaim"' in sql for sql in statements(six)) == 1


def test_claims_are_all_or_nothing_when_one_unit_is_taken(postgresql, desk, monday_morning):
    """A unit someone else holds is skipped by ON CONFLICT DO NOTHING: the row count gives it away, and the
    claims' savepoint is rolled back, so the units this call did insert are gone before SLOT_TAKEN."""
    service = ServiceFactory(duration_minutes=45)
    counter = desk.counters.first()
    counter.services.add(service)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    other = actions.book_appointment(
        location=desk,
        service=service,
        start=start + timedelta(minutes=30),
        names=[PersonName("A", "B")],
        counter=counter,
        now=monday_morning,
    ).appointment
    mine = AppointmentFactory(
        service=service, location=desk, start=start, end=start + timedelta(minutes=45), created_at=monday_morning
    )
    units = [(counter.pk, start + timedelta(minutes=minutes)) for minutes in (0, 15, 30)]
    with pytest.raises(BookingError) as refused:
        _insert_claims(appointment=mine, units=units, expires_at=None, now=monday_morning)
    assert refused.value.code == BookingError.SLOT_TAKEN
    assert not SlotClaim.objects.filter(appointment=mine).exists()
    assert SlotClaim.objects.filter(appointment=other).count() == 3


def test_a_hold_deletes_no_lapsed_claims_where_its_snapshot_saw_none(postgresql, desk, service, monday_morning):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    with CaptureQueriesContext(connection) as hold:
        actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    assert not [sql for sql in statements(hold) if sql.startswith("DELETE")]
    assert not [sql for sql in statements(hold) if sql.startswith("SAVEPOINT")]


def test_a_hold_deletes_the_lapsed_claim_its_snapshot_saw_at_its_unit(postgresql, service, monday_morning):
    desk = make_desk(services=[service], counters=1)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    lapsed = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    later = lapsed.hold_expires_at + timedelta(minutes=1)
    with CaptureQueriesContext(connection) as hold:
        held = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=later)
    assert sum(sql.startswith('DELETE FROM "bookings_slotclaim"') for sql in statements(hold)) == 1
    assert not SlotClaim.objects.filter(appointment=lapsed).exists()
    assert SlotClaim.objects.filter(appointment=held).count() == 1


def lapsed_hold_at(desk, service, start: datetime, *, now: datetime) -> Appointment:
    """A hold that lapsed before `now`, with its claim at `start` on the desk's one counter (not swept)."""
    hold = AppointmentFactory(
        service=service,
        location=desk,
        start=start,
        hold_expires_at=now - timedelta(minutes=1),
        claimed_units=1,
        created_at=now - timedelta(minutes=11),
    )
    SlotClaim.objects.create(
        appointment=hold,
        counter=desk.counters.get(),
        unit_start=start,
        unit_end=start + timedelta(minutes=15),
        expires_at=now - timedelta(minutes=1),
    )
    return hold


def test_a_lapsed_claim_the_snapshot_did_not_see_is_deleted_on_the_retry(
    postgresql, service, monday_morning, monkeypatch
):
    """docs/locking.md, "Claims": a lapsed claim that came after the snapshot (so no DELETE was made) makes the
    claims' INSERT short; SLOT_TAKEN reads a fresh snapshot, which sees it lapsed, deletes it and claims."""
    desk = make_desk(services=[service], counters=1)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    original = common_actions.load_snapshot
    lapsed: list[Appointment] = []

    def snapshot_then_a_lapsed_claim(**kwargs):
        snapshot = original(**kwargs)
        if kwargs.get("with_lapsed") and not lapsed:  # the transaction's first snapshot (not the read before)
            lapsed.append(lapsed_hold_at(desk, service, start, now=monday_morning))
        return snapshot

    monkeypatch.setattr(common_actions, "load_snapshot", snapshot_then_a_lapsed_claim)
    held = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)

    assert not SlotClaim.objects.filter(appointment=lapsed[0]).exists()
    assert list(SlotClaim.objects.filter(appointment=held).values_list("unit_start", flat=True)) == [start]


def test_without_the_delete_a_lapsed_claim_makes_the_insert_short(postgresql, service, monday_morning):
    """The constraint, not the snapshot, decides: told that no lapsed claim is there, the INSERT meets it."""
    desk = make_desk(services=[service], counters=1)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    lapsed = lapsed_hold_at(desk, service, start, now=monday_morning)
    mine = AppointmentFactory(service=service, location=desk, start=start, created_at=monday_morning)
    units = [(desk.counters.get().pk, start)]
    with pytest.raises(BookingError) as refused:
        _insert_claims(appointment=mine, units=units, expires_at=None, now=monday_morning, lapsed=frozenset())
    assert refused.value.code == BookingError.SLOT_TAKEN
    assert SlotClaim.objects.filter(appointment=lapsed).count() == 1


def test_a_reference_drawn_twice_runs_the_hold_again(desk, service, monday_morning, monkeypatch):
    """The hold's appointment goes in without a savepoint: the unique constraint on the reference refuses a
    reference drawn twice, the whole transaction rolls back (nothing of the first run stays) and runs again."""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    first = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    drawn = iter([first.reference])
    original = common_actions.new_reference
    monkeypatch.setattr(common_actions, "new_reference", lambda **kwargs: next(drawn, None) or original(**kwargs))

    second = actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)

    assert second.reference != first.reference
    assert Appointment.objects.count() == 2
    assert SlotClaim.objects.filter(appointment=second).count() == second.claimed_units == 1
    assert AppointmentEvent.objects.filter(appointment=second).count() == 1


def test_another_constraint_refusing_the_appointment_is_not_drawn_again(desk, service, monday_morning, monkeypatch):
    """Only the reference's unique constraint makes the hold run again; any other is an error at once."""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo)
    calls = []

    def refused(*args, **kwargs):
        calls.append(kwargs)
        raise IntegrityError('new row violates check constraint "appointment_persons_positive"')

    # The appointment goes in with its audit row in one statement on PostgreSQL (together.run), by its own save
    # elsewhere.
    monkeypatch.setattr(common_actions.together, "run", refused)
    monkeypatch.setattr(Appointment, "save", refused)
    with pytest.raises(IntegrityError):
        actions.hold_slot(location=desk, service=service, start=start, persons=1, now=monday_morning)
    assert len(calls) == 1


def test_a_booking_over_the_api_reads_nothing_its_action_knows(postgresql, client, desk, service):
    """POST /api/v1/holds/ reads the location and the service (one query), then holds; POST /api/v1/bookings/
    finds the hold (its location and start only) and books it, and answers from what the action wrote: nothing
    read again."""
    now = timezone.now()
    start = (now + timedelta(days=7)).astimezone(desk.tz).replace(hour=9, minute=0, second=0, microsecond=0)
    while start.weekday() not in (1, 2, 3):  # the desk's days
        start += timedelta(days=1)
    hold = {"location": desk.short_code, "service": service.code, "start": start.isoformat(), "persons": 1}
    served_before(desk)
    with CaptureQueriesContext(connection) as holding:
        held = client.post("/api/v1/holds/", data=json.dumps(hold), content_type="application/json")
    assert held.status_code == 201, held.content
    book = {
        "hold_token": held.json()["hold_token"],
        "names": [{"first_name": " Jane", "last_name": "Doe "}],
        "email": "jane@example.org",
        "language": "en",
        "consent": True,
    }
    with CaptureQueriesContext(connection) as booking:
        booked = client.post("/api/v1/bookings/", data=json.dumps(book), content_type="application/json")
    assert booked.status_code == 201, booked.content
    assert len(statements(holding)) == 1 + HOLD_STATEMENTS, "\n".join(statements(holding))
    assert len(statements(booking)) == 1 + BOOK_STATEMENTS, "\n".join(statements(booking))
    answer = booked.json()
    appointment = Appointment.objects.select_related("service", "location").get(status=AppointmentStatus.BOOKED)
    assert answer["names"] == [{"first_name": "Jane", "last_name": "Doe"}]
    assert (answer["reference"], answer["status"], answer["persons"]) == (appointment.reference, "booked", 1)
    assert answer["service"]["code"] == service.code and answer["location"]["short_code"] == desk.short_code
    assert answer["email"] == "jane@example.org" and answer["can_change"] is True
    assert answer["parts"][0]["service"] == service.code


def test_a_connection_prepares_the_booking_path_statements(postgresql, desk, service, monday_morning):
    """psycopg 3 binds the parameters on the server and prepares a statement once the connection has run its
    text DATABASE_PREPARE_THRESHOLD times (settings): PostgreSQL parses it once a connection, and after five
    custom plans keeps a generic one where that costs no more. After twenty bookings, the booking's last
    statement (the audit row, the outbox row and the fair shares in one) is prepared with its parameters, some
    statements run from their generic plan, and the reads of claims carry their values in their text
    (availability_sql.fetch_claims): whether prepared or not, they are planned for the range they read."""
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    assert connection.settings_dict["OPTIONS"]["prepare_threshold"] == 5
    served_before(desk)
    for number in range(20):
        start = datetime(2026, 12, 1, 9, 0, tzinfo=monday_morning.tzinfo) + timedelta(minutes=15 * (number // 2))
        held = actions.hold_slot(
            location=desk, service=service, start=start, persons=1, now=monday_morning, client_key=f"client-{number}"
        )
        actions.confirm_hold(
            appointment=held, names=[PersonName("Jane", "Doe")], contact_email=f"jane{number}@example.org",
            now=monday_morning,
        )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    texts = [statement for statement, _generic in prepared]
    assert any(
        "bookings_outboxemail" in text and "bookings_appointmentevent" in text and "$1" in text for text in texts
    )
    claims_reads = [text for text in texts if "bookings_configurationversion" in text and "UNION ALL" in text]
    assert claims_reads, texts  # the same `now` every time here, so the same text: prepared, without parameters
    assert all("$1" not in text for text in claims_reads), claims_reads
    assert sum(generic for _statement, generic in prepared) > 0
