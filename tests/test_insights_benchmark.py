from io import StringIO

from django.core.management import call_command

from bookings.models import Appointment, Location
from insights.models import Feedback, FirstFreeDayRecord


def test_the_insights_benchmark_reports_the_dashboards_cost_and_leaves_nothing_behind(db):
    before = (Appointment.objects.count(), Location.objects.count(), Feedback.objects.count())
    out = StringIO()
    call_command("benchmark_insights", years=1, per_day=2, repeat=1, stdout=out)
    text = out.getvalue()
    assert "past appointments over 1 years" in text
    assert "dashboard, last month" in text and "dashboard, last 365 days" in text
    assert "queries a run" in text
    assert "rolled back" in text
    assert (Appointment.objects.count(), Location.objects.count(), Feedback.objects.count()) == before
    assert not FirstFreeDayRecord.objects.exists()
