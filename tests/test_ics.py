"""The .ics: parses with icalendar, times in UTC across summer and winter time, stable UID, SEQUENCE, CANCEL."""

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from bookings import actions
from bookings.ics import appointment_ics
from tests.support.env import AMSTERDAM

pytestmark = pytest.mark.django_db


def book(desk, service, *, start, now, email="ann@example.org", language="en"):
    return actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[actions.PersonName("Ann", "Example")],
        contact_email=email,
        language=language,
        now=now,
    ).appointment


def event_of(ics: bytes):
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


@pytest.mark.parametrize(
    ("local_start", "utc_start"),
    [
        # Winter time: Amsterdam is UTC+1.
        (datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        # Summer time: Amsterdam is UTC+2.
        (datetime(2027, 6, 1, 9, 0, tzinfo=AMSTERDAM), datetime(2027, 6, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_start_and_end_are_written_in_utc(desk, service, local_start, utc_start):
    appointment = book(desk, service, start=local_start, now=local_start - timedelta(days=1))
    ics = appointment_ics(appointment=appointment, method="PUBLISH")
    calendar, event = event_of(ics)
    assert calendar["METHOD"] == "PUBLISH"
    assert event.decoded("DTSTART") == utc_start
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == utc_start + timedelta(minutes=15)
    assert f"DTSTART:{utc_start:%Y%m%dT%H%M%S}Z".encode() in ics


def test_event_carries_location_summary_description_organizer(desk, service, monday_morning, settings):
    settings.DEFAULT_FROM_EMAIL = "Expat Desk <desk@example.nl>"
    start = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
    appointment = book(desk, service, start=start, now=monday_morning)
    calendar, event = event_of(appointment_ics(appointment=appointment, now=monday_morning))
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == f"{appointment.reference}@expatdesk"
    assert event["SEQUENCE"] == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert desk.street in str(event["LOCATION"]) and desk.city in str(event["LOCATION"])
    assert service.name_en in str(event["SUMMARY"])
    assert appointment.reference in str(event["DESCRIPTION"])
    assert str(event["ORGANIZER"]) == "mailto:desk@example.nl"
    assert event["ORGANIZER"].params["CN"] == "Expat Desk"
    assert str(event["ATTENDEE"]) == "mailto:ann@example.org"
    assert event.decoded("DTSTAMP") == monday_morning.astimezone(UTC)


def test_download_names_no_attendee(desk, service, monday_morning):
    appointment = book(desk, service, start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM), now=monday_morning)
    _, event = event_of(appointment_ics(appointment=appointment, method="PUBLISH"))
    assert "ATTENDEE" not in event


def test_summary_follows_the_booking_language(desk, service, monday_morning):
    appointment = book(
        desk, service, start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM), now=monday_morning, language="nl"
    )
    _, event = event_of(appointment_ics(appointment=appointment))
    assert service.name_nl in str(event["SUMMARY"])


def test_uid_is_stable_across_reschedule_and_cancel_while_sequence_grows(desk, service, monday_morning):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
    appointment = book(desk, service, start=start, now=monday_morning)
    _, booked = event_of(appointment_ics(appointment=appointment))

    moved = actions.reschedule_appointment(
        appointment=appointment, new_start=start + timedelta(hours=1), now=monday_morning
    )
    _, rescheduled = event_of(appointment_ics(appointment=moved))

    cancelled = actions.cancel_appointment(appointment=moved, now=monday_morning)
    calendar, cancellation = event_of(appointment_ics(appointment=cancelled, method="CANCEL"))

    assert booked["UID"] == rescheduled["UID"] == cancellation["UID"]
    assert [booked["SEQUENCE"], rescheduled["SEQUENCE"], cancellation["SEQUENCE"]] == [0, 1, 2]
    assert rescheduled.decoded("DTSTART") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert calendar["METHOD"] == "CANCEL"
    assert str(cancellation["STATUS"]) == "CANCELLED"


def test_a_cancelled_booking_is_always_a_cancel(desk, service, monday_morning):
    appointment = book(desk, service, start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM), now=monday_morning)
    cancelled = actions.cancel_appointment(appointment=appointment, now=monday_morning)
    calendar, _ = event_of(appointment_ics(appointment=cancelled, method="PUBLISH"))
    assert calendar["METHOD"] == "CANCEL"


def test_unknown_method_is_refused(desk, service, monday_morning):
    appointment = book(desk, service, start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM), now=monday_morning)
    with pytest.raises(ValueError, match="method"):
        appointment_ics(appointment=appointment, method="ADD")
