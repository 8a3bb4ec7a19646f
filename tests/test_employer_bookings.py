"""HR staff move and cancel their employer's bookings from /employer/ (and only theirs)."""

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from bookings import actions
from bookings.models import AppointmentStatus, EmailKind, EventKind, OutboxEmail
from employers import actions as employer_actions
from tests.support.desk import PASSWORD, sign_in
from tests.support.env import AMSTERDAM, weekday_ahead

pytestmark = pytest.mark.django_db


# The views use the real clock: the booking goes on the first Tuesday at least a week from today.
TODAY = timezone.now().astimezone(AMSTERDAM).date()
TUESDAY = weekday_ahead(1, days=7)
WEDNESDAY, MONDAY = TUESDAY + timedelta(days=1), TUESDAY + timedelta(days=6)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def iso(day: date, hour: int, minute: int = 0) -> str:
    return at(day, hour, minute).isoformat()


def shown(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def employer_with_hr(name: str, email: str):
    employer = employer_actions.sign_up_employer(
        name=name, sponsor_number="", contact_name="HR", email=email, password=PASSWORD, now=timezone.now()
    )
    employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    return employer, User.objects.get(username=email)


@pytest.fixture
def ours(desk, service):
    """Brightlands' booking on a Tuesday at 10:00 a week or more ahead, made by its HR staff."""
    employer, user = employer_with_hr("Brightlands B.V.", "hr@brightlands.example")
    appointment = actions.book_appointment(
        location=desk,
        service=service,
        start=at(TUESDAY, 10),
        names=[actions.PersonName("New", "Employee")],
        contact_email="new.employee@example.org",
        now=timezone.now(),
    ).appointment
    employer_actions.record_employer_booking(appointment=appointment, user=user, now=timezone.now())
    return {"employer": employer, "user": user, "appointment": appointment}


@pytest.fixture
def hr_client(client, ours):
    return sign_in(client, ours["user"])


def test_the_list_links_each_booking_to_its_page(hr_client, ours):
    ref = ours["appointment"].reference
    assert f'href="/employer/booking/{ref}/"' in hr_client.get("/employer/").content.decode()
    page = hr_client.get(f"/employer/booking/{ref}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "New Employee" in html
    assert f'action="/employer/booking/{ref}/cancel/"' in html
    assert f'action="/employer/booking/{ref}/move/"' in html
    assert f"Free times on {shown(TUESDAY)}" in html
    assert f'value="{iso(TUESDAY, 10)}"' not in html  # its own time is not offered
    assert f'value="{iso(TUESDAY, 14)}"' in html


def test_hr_staff_move_a_booking_and_the_employee_is_told(hr_client, ours, django_capture_on_commit_callbacks):
    appointment, ref = ours["appointment"], ours["appointment"].reference
    other_day = hr_client.get(f"/employer/booking/{ref}/?day={WEDNESDAY.isoformat()}").content.decode()
    assert f'value="{iso(WEDNESDAY, 9)}"' in other_day
    response = hr_client.post(f"/employer/booking/{ref}/move/", {"start": iso(WEDNESDAY, 9)})
    assert response.status_code == 302 and response.url == f"/employer/booking/{ref}/"
    appointment.refresh_from_db()
    assert appointment.start == at(WEDNESDAY, 9)
    assert OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.RESCHEDULE).count() == 1
    event = appointment.events.latest("pk")
    assert (event.kind, event.actor) == (EventKind.RESCHEDULED, ours["user"])
    assert f"is moved to {shown(WEDNESDAY)}, 09:00" in hr_client.get(response.url).content.decode()


@pytest.mark.parametrize(
    "start", ["", "tomorrow", iso(WEDNESDAY, 9, 7), iso(MONDAY, 10), iso(TODAY - timedelta(1), 10)]
)
def test_a_bad_or_closed_time_is_refused_and_nothing_changes(hr_client, ours, start):
    appointment = ours["appointment"]
    response = hr_client.post(f"/employer/booking/{appointment.reference}/move/", {"start": start})
    assert response.status_code == 400
    assert "Nothing was changed." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == at(TUESDAY, 10)


def test_hr_staff_cancel_a_booking_and_the_employee_is_told(hr_client, ours):
    appointment = ours["appointment"]
    response = hr_client.post(f"/employer/booking/{appointment.reference}/cancel/")
    assert response.status_code == 302 and response.url == "/employer/"
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert OutboxEmail.objects.filter(appointment=appointment, kind=EmailKind.CANCELLATION).count() == 1
    assert appointment.events.latest("pk").actor == ours["user"]
    page = hr_client.get(f"/employer/booking/{appointment.reference}/").content.decode()
    assert "can no longer be moved or cancelled" in page
    assert hr_client.post(f"/employer/booking/{appointment.reference}/cancel/").status_code == 400


def test_another_employers_booking_is_not_found(client, ours, desk, service):
    _other, other_user = employer_with_hr("Other B.V.", "hr@other.example")
    sign_in(client, other_user)
    ref = ours["appointment"].reference
    assert client.get(f"/employer/booking/{ref}/").status_code == 404
    assert client.post(f"/employer/booking/{ref}/cancel/").status_code == 404
    assert client.post(f"/employer/booking/{ref}/move/", {"start": iso(WEDNESDAY, 9)}).status_code == 404
    ours["appointment"].refresh_from_db()
    assert (ours["appointment"].status, ours["appointment"].start) == (AppointmentStatus.BOOKED, at(TUESDAY, 10))


def test_the_action_refuses_another_employers_booking(ours):
    other, other_user = employer_with_hr("Other B.V.", "hr@other.example")
    with pytest.raises(actions.BookingError) as refused:
        employer_actions.cancel_employee_booking(
            employer=other, appointment=ours["appointment"], now=timezone.now(), actor=other_user
        )
    assert refused.value.code == employer_actions.NOT_YOUR_BOOKING
    with pytest.raises(actions.BookingError):
        employer_actions.move_employee_booking(
            employer=other,
            appointment=ours["appointment"],
            new_start=at(WEDNESDAY, 9),
            now=timezone.now(),
            actor=other_user,
        )
    ours["appointment"].refresh_from_db()
    assert ours["appointment"].status == AppointmentStatus.BOOKED
