"""The public pages and a booking agent (bookings/agents.py): HR staff signed in book for an employee.

bookings learns who is an agent only through the provider named in EXPATDESK_BOOKING_AGENT_PROVIDER
(employers.agent.booking_agent): it imports no app above it (tests/test_layers.py).
"""

from html import unescape

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from bookings.models import Appointment
from employers import actions as employer_actions
from employers.models import EmployerBooking
from tests.support.desk import PASSWORD, sign_in
from tests.support.public_flow import details_data, hold_first_time, page
from tests.support.urls import reverse

pytestmark = pytest.mark.django_db

BANNER = "Signed in as hr@brightlands.example: you book for an employee of Brightlands B.V."


def hr_user() -> User:
    employer = employer_actions.sign_up_employer(
        name="Brightlands B.V.",
        sponsor_number="",
        contact_name="Hanna Rood",
        email="hr@brightlands.example",
        password=PASSWORD,
        now=timezone.now(),
    )
    employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    return User.objects.get(username="hr@brightlands.example")


def flow_pages(client, service) -> dict[str, str]:
    """Every page of the flow up to the details form, as the signed-in person sees it."""
    pages = {
        "start": page(client.get(reverse("bookings:start"))),
        "questions": page(client.get(reverse("bookings:questions", kwargs={"service_code": service.code}))),
    }
    _held, times_url = hold_first_time(client, service, 1)
    pages["times"] = page(client.get(times_url))
    pages["details"] = page(client.get(reverse("bookings:details")))
    return {name: unescape(html) for name, html in pages.items()}


def test_hr_staff_see_on_every_booking_page_that_they_are_signed_in_with_a_way_back(client, desk, service):
    sign_in(client, hr_user())
    for name, html in flow_pages(client, service).items():
        assert BANNER in html, name
        assert 'href="/employer/"' in html, name
        assert "Back to your organisation's bookings" in html, name


def test_the_details_form_speaks_of_the_employee(client, desk, service):
    sign_in(client, hr_user())
    html = flow_pages(client, service)["details"]
    assert "The employee's name" in html
    assert "The employee's e-mail address" in html
    assert "How we reach the employee" in html
    assert "Your name" not in html and "How we reach you" not in html
    response = client.post(reverse("bookings:details"), details_data(1, email=""))
    assert "Please enter the employee's e-mail address." in unescape(page(response))


def test_the_public_sees_neither_the_banner_nor_employee_wording(client, desk, service):
    html = flow_pages(client, service)
    assert all("Signed in as" not in text for text in html.values())
    assert "Your name" in html["details"] and "employee" not in html["details"]


def test_without_a_provider_nobody_books_as_an_agent(client, desk, service, settings):
    settings.EXPATDESK_BOOKING_AGENT_PROVIDER = ""
    sign_in(client, hr_user())
    assert all("Signed in as" not in text for text in flow_pages(client, service).values())
    assert client.post(reverse("bookings:details"), details_data(1)).status_code == 302
    assert Appointment.objects.get(status="booked").booked_by is None
    assert not EmployerBooking.objects.exists()
