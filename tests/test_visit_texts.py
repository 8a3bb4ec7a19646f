"""What a family's visit of several services says (issue 13, point 6): one confirmation e-mail and one .ics
for the whole visit, each part with its service, persons, time and counter; the reminder too; the manage
page moves the whole visit to the visit's own arrival times. A booking of one service reads as before."""

from __future__ import annotations

import html
import re
from datetime import date, datetime

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from bookings import actions, emails
from bookings.ics import appointment_ics
from bookings.models import AppointmentPart, EmailKind, OutboxEmail
from bookings.visits import load_planner
from tests.support.env import AMSTERDAM, weekday_ahead
from tests.support.public_flow import page
from tests.support.urls import reverse
from tests.support.visits import family_desk, family_names

pytestmark = pytest.mark.django_db


def next_tuesday() -> date:
    """A Tuesday at least a week ahead (the desk opens Tuesday to Thursday)."""
    return weekday_ahead(1, days=7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def family():
    desk = family_desk()
    desk.registration.what_to_bring_en = "A passport for every person; your rental contract."
    desk.registration.save()
    desk.biometrics.what_to_bring_en = "A passport for every person; the IND letter."
    desk.biometrics.save()
    return desk


@pytest.fixture
def visit(family):
    from bookings.actions.visits import book_visit

    day = next_tuesday()
    return book_visit(
        location=family.location,
        parts=family.family(),
        start=at(day, 9),
        names=family_names(),
        contact_email="jansen@example.org",
        now=timezone.now(),
    )


def spans(appointment) -> list[str]:
    """Each part's time as the texts show it (the engine decides who goes when)."""
    return [
        f"{part.start.astimezone(AMSTERDAM):%H:%M}–{part.end.astimezone(AMSTERDAM):%H:%M}"
        for part in AppointmentPart.objects.filter(appointment=appointment).order_by("position")
    ]


def message_of(appointment, kind=EmailKind.CONFIRMATION):
    row = OutboxEmail.objects.filter(appointment=appointment, kind=kind).first() or OutboxEmail.objects.create(
        appointment=appointment, kind=kind, created_at=timezone.now()
    )
    return emails.build_message(row, manage_token=actions.issue_email_manage_token(email=row))


@pytest.mark.parametrize("kind", [EmailKind.CONFIRMATION, EmailKind.REMINDER])
def test_the_email_lists_every_part_with_its_time_persons_and_counter(visit, family, kind):
    appointment = visit.appointment
    assert OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.CONFIRMATION).count() == 1
    message = message_of(appointment, kind)
    text = message.body
    assert "Your visit, part by part" in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == 2
    registration, biometrics = spans(appointment)
    assert lines[0].startswith(f"- {registration} {family.registration.name}: Adult 1 Jansen, Adult 2 Jansen, Child 3")
    assert lines[1] == f"- {biometrics} {family.biometrics.name}: Adult 1 Jansen, Adult 2 Jansen (Counter: Counter 1)"
    assert "Counters: Counter 1, Counter 2, Counter 3" in lines[0]
    # What to bring: the union of both lists, each item once.
    assert "A passport for every person\nYour rental contract\nThe IND letter" in text
    assert text.count("A passport for every person") == 1
    html_body = message.alternatives[0][0]
    assert html.escape(family.biometrics.name) in html_body and "Counter: Counter 1" in html_body
    # One .ics attached: one event for the whole visit.
    [ics] = [part for part in message.attachments if "calendar" in str(part.get_content_type())]
    events = [c for c in Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")]
    assert len(events) == 1


def test_the_ics_is_one_event_from_arrival_to_the_end_of_the_last_part(visit, family):
    appointment = visit.appointment
    [event] = Calendar.from_ical(appointment_ics(appointment=appointment, method="PUBLISH")).walk("VEVENT")
    assert event.decoded("dtstart") == at(next_tuesday(), 9)
    assert event.decoded("dtend") == at(next_tuesday(), 9, 45)
    description = str(event["description"])
    registration, biometrics = spans(appointment)
    assert f"{registration} {family.registration.name}: Adult 1 Jansen, Adult 2 Jansen, Child 3 Jansen" in description
    assert f"{biometrics} {family.biometrics.name}: Adult 1 Jansen, Adult 2 Jansen (Counter 1)" in description
    assert family.registration.name in str(event["summary"]) and family.biometrics.name in str(event["summary"])


def test_a_one_service_booking_reads_as_before(family):
    result = actions.book_appointment(
        location=family.location,
        service=family.registration,
        start=at(next_tuesday(), 10),
        names=family_names(2),
        contact_email="one@example.org",
        now=timezone.now(),
    )
    text = message_of(result.appointment).body
    assert "part by part" not in text and "Counter" not in text
    assert "A passport for every person; your rental contract." in text  # the service's own text, as it is
    [event] = Calendar.from_ical(appointment_ics(appointment=result.appointment)).walk("VEVENT")
    assert "part by part" not in str(event["description"])
    content = page(Client().get(reverse("bookings:manage", kwargs={"token": result.manage_token})))
    assert "part by part" not in content and "Counter" not in content
    assert "Ask for an earlier time" in content


def test_the_manage_page_lists_the_parts_and_the_union_of_what_to_bring(client, visit, family):
    content = page(client.get(reverse("bookings:manage", kwargs={"token": visit.manage_token})))
    assert "Your visit, part by part" in content
    assert "Adult 1 Jansen, Adult 2 Jansen" in content and "Counter: Counter 1" in content
    bring = content.split('class="bring-list"')[1].split("</ul>")[0]
    assert re.findall(r"<li>([^<]+)</li>", bring) == [
        "A passport for every person",
        "Your rental contract",
        "The IND letter",
    ]


def test_moving_a_visit_offers_the_visits_arrival_times_and_moves_it_whole(client, visit, family):
    appointment = visit.appointment
    day = next_tuesday()
    url = reverse("bookings:reschedule", kwargs={"token": visit.manage_token})
    response = client.get(f"{url}?day={day.isoformat()}")
    assert response.status_code == 200
    offered = [html.unescape(v) for v in re.findall(r'name="start" value="([^"]+)"', page(response))]
    planner = load_planner(
        location=family.location,
        parts=family.family(),
        start_date=day,
        end_date=day,
        now=timezone.now(),
        ignore_appointment_id=appointment.pk,
    )
    expected = [slot.start.isoformat() for slot in planner.free_arrivals_on(day) if slot.start != appointment.start]
    assert offered == expected
    # The last arrival leaves room for the whole visit (45 minutes), not only for the registration of four (30).
    assert at(day, 16, 15).isoformat() in offered and at(day, 16, 30).isoformat() not in offered

    new_start = at(day, 14)
    response = client.post(url, {"start": new_start.isoformat(), "confirm": "yes"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.start, appointment.end) == (new_start, at(day, 14, 45))
    parts = list(AppointmentPart.objects.filter(appointment=appointment).order_by("position"))
    assert parts[0].start == new_start and parts[1].end == at(day, 14, 45)


def test_a_dutch_visit_is_told_in_dutch(family):
    from bookings.actions.visits import book_visit

    result = book_visit(
        location=family.location,
        parts=family.family(),
        start=at(next_tuesday(), 9),
        names=family_names(),
        contact_email="jansen@example.org",
        language="nl",
        now=timezone.now(),
    )
    text = message_of(result.appointment).body
    assert "Uw bezoek, onderdeel voor onderdeel" in text and "(Loket: Counter 1)" in text
    assert "Diensten:" in text
    [event] = Calendar.from_ical(appointment_ics(appointment=result.appointment)).walk("VEVENT")
    assert "Uw bezoek, onderdeel voor onderdeel:" in str(event["description"])


def test_a_visit_is_not_offered_the_one_service_waitlist_for_an_earlier_time(client, visit):
    content = page(client.get(reverse("bookings:manage", kwargs={"token": visit.manage_token})))
    assert "Ask for an earlier time" not in content
