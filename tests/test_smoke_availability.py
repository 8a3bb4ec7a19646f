from datetime import date, datetime, timedelta

from bookings import actions, availability
from tests.conftest import AMSTERDAM


def test_slots_and_hold_and_confirm(desk, service, monday_morning):
    slots = availability.free_slots(
        location=desk,
        service=service,
        persons=1,
        start_date=date(2026, 12, 1),
        end_date=date(2026, 12, 1),
        now=monday_morning,
    )
    day = slots[date(2026, 12, 1)]
    assert day[0].start == datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
    assert len(day) == 14 + 14
    start = day[0].start
    held = actions.hold_slot(location=desk, service=service, start=start, persons=3, now=monday_morning)
    assert held.claims.count() == 3
    result = actions.confirm_hold(
        appointment=held,
        names=[actions.PersonName("A", "B")] * 3,
        contact_email="a@example.org",
        now=monday_morning + timedelta(minutes=1),
    )
    assert result.appointment.status == "booked"
    slots = availability.free_slots(
        location=desk,
        service=service,
        persons=1,
        start_date=date(2026, 12, 1),
        end_date=date(2026, 12, 1),
        now=monday_morning,
    )
    assert slots[date(2026, 12, 1)][0].start == datetime(2026, 12, 1, 9, 15, tzinfo=AMSTERDAM)
