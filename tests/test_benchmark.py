from io import StringIO

from django.core.management import call_command

from bookings.models import Appointment, Location, SlotClaim
from services.models import Service
from tests.support.env import snapshot_queries


def test_benchmark_reports_timings_and_query_counts_and_leaves_nothing_behind(db):
    before = (Appointment.objects.count(), SlotClaim.objects.count(), Location.objects.count(), Service.objects.count())
    out = StringIO()
    call_command("benchmark", appointments=50, counters=2, repeat=1, stdout=out)
    text = out.getvalue()
    assert "50 booked appointments" in text
    assert "free_slots, six weeks, 1 person" in text
    assert f"{snapshot_queries()} queries a run" in text
    assert "visit, 3 parts, 4 persons, six weeks" in text
    assert "rolled back" in text
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
