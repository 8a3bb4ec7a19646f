"""The queue benchmark runs, prints its figures and leaves nothing behind (its timings are not tested)."""

from io import StringIO

import pytest
from django.core.management import call_command

from bookings.models import Appointment, Location
from queueing.models import Device, Ticket
from services.models import Service


@pytest.mark.django_db(transaction=True)
def test_the_queue_benchmark_runs_and_cleans_up():
    out = StringIO()
    call_command("queue_benchmark", displays=2, counters=2, seconds=3, call_every=1, stdout=out)
    text = out.getvalue()
    assert "2 displays polling every second, 2 counters calling every 1 s, 3 simulated seconds" in text
    assert "SQL queries:" in text and "CPU:" in text
    assert "calls: 6" in text
    assert not Location.objects.exists() and not Appointment.objects.exists()
    assert not Ticket.objects.exists() and not Device.objects.exists()
    assert not Service.objects.filter(code__startswith="queue-bench").exists()
