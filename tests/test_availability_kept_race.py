"""The lasting claims a process keeps are never older than the version it keeps them under (on PostgreSQL, real
transactions: bookings/availability_kept.py, docs/locking.md §2, tests/support/races.py `interleave`).

A process reads a day's lasting claims it has not kept; a booking on that day commits in the middle of the
read. The read takes the day's claims and its version in one statement, so of one moment: it keeps the claims
with the booking's version or without either, and the next answer shows the booked time taken. The naive twin
reads the claims, then the version in a statement of its own: it keeps the claims from before the booking under
the booking's version, and every answer after shows the booked time free until the day changes again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from bookings import availability, availability_kept, availability_sql
from bookings.actions import book_appointment
from bookings.actions import booking as booking_actions
from bookings.availability_kept import forget
from bookings.models import ClaimsVersion
from tests.support.factories import make_desk
from tests.support.races import TUESDAY, at, interleave, names

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

NINE, TEN, ELEVEN = at(TUESDAY, "09:00"), at(TUESDAY, "10:00"), at(TUESDAY, "11:00")
NEVER = datetime(9000, 1, 1, tzinfo=UTC)


class TwoStatements:
    """The naive twin of availability_sql.claims_versions_and_lasting_words: the words, then the versions."""

    def __init__(self) -> None:
        self.words = availability_sql.claim_words

    def read(self, *, location_id: int, first_day: int, last_day: int, step: int) -> list[tuple]:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        rows = [
            (counter, word, bits)
            for counter, word, bits in self.words(
                base=first_day * 86400,
                step=step,
                range_start=epoch + timedelta(days=first_day),
                range_end=epoch + timedelta(days=last_day + 1),
                now=NEVER,  # every hold lapsed: the lasting claims alone, as the real statement reads
                location_id=location_id,
            )
        ]
        return [*self.versions(location_id=location_id, first_day=first_day, last_day=last_day), *rows]

    def versions(self, *, location_id: int, first_day: int, last_day: int) -> list[tuple]:
        found = ClaimsVersion.objects.filter(location_id=location_id, day__gte=first_day, day__lte=last_day)
        return [(None, day, version) for day, version in found.values_list("day", "version")]


def free_at_nine_after_a_booking_commits_inside_the_read(location, service, monday_morning, pause_at) -> bool:
    """A booking at ten first, so the day has a version; the process forgets what it kept; its next read of
    the day's lasting claims is paused at `pause_at` while a booking at nine commits. Then: is nine free?"""
    book_appointment(location=location, service=service, start=TEN, names=names(1), now=monday_morning)
    forget()

    def free_times():
        slots = availability.free_slots(
            location=location, service=service, persons=1, start_date=TUESDAY, end_date=TUESDAY, now=monday_morning
        )
        return [slot.start for slot in slots.get(TUESDAY, [])]

    reader, booking = interleave(
        first=free_times,
        pause_at=pause_at,
        second=lambda: book_appointment(
            location=location, service=service, start=NINE, names=names(1), now=monday_morning
        ),
    )
    assert booking.won and reader.error is None, (booking, reader)
    return NINE in free_times()  # the day's version is the booking's now: read from what was kept


def test_the_claims_kept_are_of_the_moment_of_their_version(postgresql, service, monday_morning):
    location = make_desk(services=[service], counters=1)
    assert not free_at_nine_after_a_booking_commits_inside_the_read(
        location, service, monday_morning, pause_at=(availability_sql, "claims_versions_and_lasting_words")
    )


def test_the_naive_twin_keeps_claims_older_than_their_version(postgresql, service, monday_morning, monkeypatch):
    location = make_desk(services=[service], counters=1)
    naive = TwoStatements()
    monkeypatch.setattr(availability_sql, "claims_versions_and_lasting_words", naive.read)
    # Paused between its two statements: after the words, before the versions.
    assert free_at_nine_after_a_booking_commits_inside_the_read(
        location, service, monday_morning, pause_at=(naive, "versions")
    )
    assert availability_kept.KEPT  # kept, under the booking's version


# ---- writers never wait for each other on the versions -------------------------------------------------------

# The naive twin of the versions' function: the day's older rows deleted without SKIP LOCKED, so a writer waits for
# every other writer of the day that deleted them before it, until that one commits.
ONE_ROW_A_DAY = """
CREATE OR REPLACE FUNCTION bookings_new_claims_versions(locations bigint[], days integer[]) RETURNS void
LANGUAGE sql AS $$
    WITH changed AS (SELECT DISTINCT location_id, day FROM unnest(locations, days) AS changed (location_id, day)),
    gone AS (
        DELETE FROM bookings_claimsversion AS version USING changed
        WHERE changed.location_id = version.location_id AND changed.day = version.day
    )
    INSERT INTO bookings_claimsversion (location_id, day, version)
    SELECT location_id, day, floor(random() * 9e18)::bigint FROM changed
$$"""


@pytest.fixture
def one_row_a_day():
    """Swaps the versions' function for its naive twin, and back (the original's text from the catalogue)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('bookings_new_claims_versions'::regproc)")
        original = cursor.fetchone()[0]
        cursor.execute(ONE_ROW_A_DAY)
    yield
    with connection.cursor() as cursor:
        cursor.execute(original)


def second_booking_finishes_first(location, service, monday_morning) -> bool:
    """A booking at nine stops inside its transaction after its claims went in (their versions with them); a
    booking at ten on the same day runs meanwhile. It finishes first unless it waits for the first's commit."""
    book_appointment(location=location, service=service, start=TEN, names=names(1), now=monday_morning)
    finished: list[str] = []

    def booking(start, label):
        def run():
            result = book_appointment(
                location=location, service=service, start=start, names=names(1), now=monday_morning
            )
            finished.append(label)
            return result

        return run

    first, second = interleave(
        first=booking(NINE, "first"),
        pause_at=(booking_actions, "complete_direct_booking"),
        second=booking(ELEVEN, "second"),
    )
    assert first.won and second.won, (first, second)
    forget()
    assert availability.free_slots(
        location=location, service=service, persons=1, start_date=TUESDAY, end_date=TUESDAY, now=monday_morning
    )[TUESDAY][0].start not in (NINE, TEN, ELEVEN)
    return finished == ["second", "first"]


def test_two_bookings_of_one_day_do_not_wait_for_each_other(postgresql, service, monday_morning):
    location = make_desk(services=[service], counters=1)
    assert second_booking_finishes_first(location, service, monday_morning)


def test_the_naive_twin_makes_every_booking_of_a_day_wait_for_the_others(
    postgresql, service, monday_morning, one_row_a_day
):
    location = make_desk(services=[service], counters=1)
    assert not second_booking_finishes_first(location, service, monday_morning)
