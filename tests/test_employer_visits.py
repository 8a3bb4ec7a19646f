"""HR staff book a visit of several parts for an employee and family (issue 13, point 5), within the employer's
fair share; their booking pages list the parts."""

from datetime import date, datetime, time

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from bookings.models import Appointment, AppointmentStatus, EmailKind, OutboxEmail
from employers import actions as employer_actions
from employers.fairness import employer_share
from employers.models import EmployerBooking
from tests.support.desk import PASSWORD, desk_staff, sign_in
from tests.support.env import AMSTERDAM, weekday_ahead
from tests.support.visits import family_desk

pytestmark = pytest.mark.django_db

# The views use the real clock: the visit goes on the first Tuesday at least a week from today.
TUESDAY = weekday_ahead(1, days=7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


@pytest.fixture
def family():
    return family_desk()


@pytest.fixture
def hr(family):
    employer = employer_actions.sign_up_employer(
        name="Brightlands B.V.",
        sponsor_number="",
        contact_name="HR",
        email="hr@brightlands.example",
        password=PASSWORD,
        now=timezone.now(),
    )
    employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    return employer, User.objects.get(username="hr@brightlands.example")


@pytest.fixture
def hr_client(client, hr):
    return sign_in(client, hr[1])


def visit_form(family, **extra) -> dict:
    """A family of four: registration for everyone, biometrics for the two adults."""
    data = {
        "location": family.location.pk,
        "day": TUESDAY.isoformat(),
        "contact_email": "new.employee@example.org",
        "first_name_1": "Adult",
        "last_name_1": "One",
        "first_name_2": "Adult",
        "last_name_2": "Two",
        "first_name_3": "Child",
        "last_name_3": "Three",
        "first_name_4": "Child",
        "last_name_4": "Four",
        "service_1": family.registration.pk,
        "service_2": family.biometrics.pk,
        "persons_2": ["1", "2"],
    }
    return data | extra


def test_hr_staff_book_a_visit_for_an_employee_and_family(hr_client, hr, family):
    employer, user = hr
    response = hr_client.post("/employer/visit/", visit_form(family))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="time" value="09:00"' in html and 'name="time" value="12:30"' not in html
    assert not Appointment.objects.exists()  # only the times, nothing booked yet
    response = hr_client.post("/employer/visit/", visit_form(family, time="09:00"))
    assert response.status_code == 302
    visit = Appointment.objects.get()
    assert response.url == f"/employer/booking/{visit.reference}/"
    assert (visit.status, visit.part_count, visit.persons, visit.start) == (
        AppointmentStatus.BOOKED,
        2,
        4,
        at(TUESDAY, 9),
    )
    assert list(visit.parts.order_by("position").values_list("service", "persons")) == [
        (family.registration.pk, [1, 2, 3, 4]),
        (family.biometrics.pk, [1, 2]),
    ]
    # Within the employer's fair share, on its list, booked by the HR staff member; the employee is told.
    assert visit.client_key == employer_share(employer).key
    assert visit.booked_by == user
    assert EmployerBooking.objects.filter(appointment=visit, employer=employer, booked_by=user).exists()
    assert OutboxEmail.objects.filter(appointment=visit, kind=EmailKind.CONFIRMATION).count() == 1


def test_the_booking_pages_list_the_parts(hr_client, family):
    hr_client.post("/employer/visit/", visit_form(family, time="09:00"))
    visit = Appointment.objects.get()
    listing = hr_client.get("/employer/").content.decode()
    assert family.registration.name in listing and family.biometrics.name in listing
    assert "09:15–09:45" in listing and "Adult One, Adult Two" in listing
    page = hr_client.get(f"/employer/booking/{visit.reference}/")
    html = page.content.decode()
    assert "Parts of the visit" in html and "Child Three, Child Four" in html
    # Moving it offers the visit's arrival times, not its first service's free times.
    starts = {slot.start for slot in page.context["move"].slots}
    assert at(TUESDAY, 10) in starts and at(TUESDAY, 12, 15) not in starts


@pytest.mark.parametrize(
    "extra",
    [
        {"persons_2": ["1", "5"]},  # person 5 has no name
        {"service_1": ""},
        {"service_2": "", "service_1": ""},
        {"last_name_4": ""},
        {"day": "soon"},
    ],
)
def test_a_bad_visit_request_is_a_clear_400(hr_client, family, extra):
    response = hr_client.post("/employer/visit/", visit_form(family, **extra))
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_visit_whose_parts_leave_a_person_out_is_refused(hr_client, family):
    # Four names, but the only part is for persons 1 and 2.
    response = hr_client.post("/employer/visit/", visit_form(family, service_2="", persons_1=["1", "2"], time="09:00"))
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_only_hr_staff_book_visits(client, family):
    assert client.get("/employer/visit/").status_code == 302
    sign_in(client, desk_staff())
    assert client.get("/employer/visit/").status_code == 403
    assert client.post("/employer/visit/", visit_form(family, time="09:00")).status_code == 403
    assert not Appointment.objects.exists()
