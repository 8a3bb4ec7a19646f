"""A person who has never seen the site books on a phone, gets the e-mail and cancels from its link,
with JavaScript on and with JavaScript off."""

import re

import pytest
from django.core import mail

from bookings.models import AppointmentStatus
from tests.browser.flow import (
    choose_service,
    fill_details,
    first_free_day,
    first_free_time,
    manage_link_from_last_email,
    only_appointment,
)

pytestmark = pytest.mark.browser

EMAIL = "ana.novak@example.com"


@pytest.mark.parametrize("javascript", [pytest.param(True, id="javascript"), pytest.param(False, id="no-javascript")])
def test_new_user_books_on_a_phone_then_cancels_from_the_email(site, new_context, javascript):
    page = new_context(java_script_enabled=javascript).new_page()
    page.goto(site.url + "/")
    choose_service(page, name="Fast-track registration (EU/EEA/Swiss nationals)")

    page.get_by_label("How many persons is the appointment for?").select_option("2")
    page.get_by_label("Which municipality do you live in, or are you moving to?").select_option("Maastricht")
    page.get_by_role("button", name="Show free days").click()

    page.get_by_role("heading", name="Choose a day").wait_for()
    first_free_day(page)
    page.get_by_role("heading", name="Choose a time").wait_for()
    chosen = first_free_time(page)

    page.get_by_role("heading", name="Your details", exact=True).wait_for()
    assert page.get_by_text(re.compile(r"We keep this time for you until \d{2}:\d{2}")).is_visible()
    # The countdown is JavaScript's extra: it shows the minutes left only when scripts run.
    countdown = page.get_by_role("timer")
    if javascript:
        assert re.search(r"\d+ minutes? left", countdown.inner_text())
    else:
        assert not countdown.is_visible()
    fill_details(page, names=[("Ana", "Novak"), ("Luka", "Novak")], email=EMAIL)
    page.get_by_role("button", name="Book this appointment").click()

    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    appointment = only_appointment()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.persons == 2
    assert appointment.municipality == "Maastricht"
    assert page.get_by_text(appointment.reference, exact=True).is_visible()
    assert page.get_by_text(chosen, exact=True).first.is_visible()
    assert page.get_by_role("link", name="Show on the map (OpenStreetMap)").is_visible()
    assert page.get_by_role("link", name=re.compile(r"\.ics")).is_visible()
    # Nothing personal in any URL the person saw.
    assert "Novak" not in page.url and appointment.reference not in page.url

    [confirmation] = [m for m in mail.outbox if EMAIL in m.to]
    assert appointment.reference in confirmation.subject + confirmation.body
    link = manage_link_from_last_email(to=EMAIL)
    assert link.startswith(site.url)

    page.goto(link)
    page.get_by_role("heading", name="Your appointment", exact=True).wait_for()
    assert page.get_by_text(appointment.reference, exact=True).is_visible()
    page.get_by_role("link", name="Cancel the appointment").click()

    page.get_by_role("heading", name="Cancel your appointment?").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED  # the confirmation step changes nothing
    page.get_by_role("button", name="Yes, cancel the appointment").click()

    page.get_by_role("heading", name="Your appointment is cancelled").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert len([m for m in mail.outbox if EMAIL in m.to]) == 2

    # The link from the e-mail no longer opens the booking.
    response = page.goto(link)
    assert response.status == 404
