import re
from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bench.httpbench import ChangingDays
from bookings import actions
from bookings.actions import PersonName
from bookings.models import Appointment, ClaimsVersion, Location, SlotClaim
from services.models import Service
from tests.support.env import weekday_ahead


def test_benchmark_reports_timings_and_query_counts_and_leaves_nothing_behind(db):
    before = (Appointment.objects.count(), SlotClaim.objects.count(), Location.objects.count(), Service.objects.count())
    out = StringIO()
    call_command("benchmark", appointments=50, counters=2, repeat=1, stdout=out)
    text = out.getvalue()
    assert "50 booked appointments" in text
    assert "free_slots, six weeks, 1 person" in text
    assert "2 queries a run" in text
    assert "visit, 3 parts, 4 persons, six weeks" in text
    assert "rolled back" in text
    if connection.vendor == "postgresql":  # after a change of another day's lasting claims: that day read again
        assert re.search(r"free_slots, six weeks, 1 person .*a day changed: [\d.]+ ms, 3 queries\)", text)
    after = (Appointment.objects.count(), SlotClaim.objects.count(), Location.objects.count(), Service.objects.count())
    assert after == before


def test_benchmark_builds_a_national_installation_with_history_and_leaves_nothing_behind(db):
    before = (Appointment.objects.count(), SlotClaim.objects.count(), Location.objects.count())
    out = StringIO()
    call_command("benchmark", appointments=20, counters=2, locations=3, history=30, days=10, repeat=1, stdout=out)
    text = out.getvalue()
    assert "3 locations" in text and "30 past appointments a location" in text
    assert "free_slots, 10 days, 6 persons" in text and "first_free_day" in text
    assert "rolled back" in text
    assert (Appointment.objects.count(), SlotClaim.objects.count(), Location.objects.count()) == before


@pytest.mark.django_db(transaction=True)
def test_the_http_benchmarks_changing_days_commit_a_new_version_of_a_day_in_turn(postgresql, desk, service):
    """bench/httpbench.py ChangingDays: its own connection commits an UPDATE of each claim in turn, and each
    draws a new claims version of its day (what the servers' workers see)."""
    now = timezone.now()
    tuesday = datetime.combine(weekday_ahead(1, days=7), time(9), tzinfo=desk.tz)  # the desk opens Tue-Thu
    claims = []
    for day in (0, 1):
        booked = actions.book_appointment(
            location=desk, service=service, start=tuesday + timedelta(days=day), names=[PersonName("A", "B")], now=now
        ).appointment
        claims.append(SlotClaim.objects.get(appointment=booked).pk)
    before = dict(ClaimsVersion.objects.values_list("day", "version"))
    url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    with ChangingDays(url, claims, every=0.01) as changing:
        while changing.changes < 2:
            changing.stop.wait(0.01)
    after = dict(ClaimsVersion.objects.values_list("day", "version"))
    assert len(before) == 2 and set(after) == set(before)
    assert all(after[day] != before[day] for day in before)
