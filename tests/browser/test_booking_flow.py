"""A person who has never seen the site books on a phone, gets the e-mail and cancels from its link,
with JavaScript on and with JavaScript off."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bookings.actions import PersonName, book_appointment
from bookings.models import Appointment, AppointmentStatus, SlotClaim
from tests.support.browser import assert_accessible
from tests.support.browser_flow import (
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

    # The link from the e-mail now says the appointment was cancelled (issue 11: it was a 404), and offers
    # to book again.
    page.goto(link)
    page.get_by_role("heading", name="This appointment was cancelled").wait_for()
    assert page.get_by_text(appointment.reference, exact=False).is_visible()
    assert page.get_by_role("link", name=re.compile("again")).is_visible()


def test_lapsed_hold_whose_time_was_taken_keeps_what_was_typed(site, page):
    page.goto(site.url + "/")
    choose_service(page, name="Biometrics (fingerprints, photo and signature)")
    page.get_by_role("button", name="Show free days").click()
    first_free_day(page)
    first_free_time(page)
    page.get_by_role("heading", name="Your details", exact=True).wait_for()

    # Ten minutes pass, and three other people book that time on the desk's three counters.
    held = only_appointment()
    past = timezone.now() - timedelta(minutes=1)
    Appointment.objects.filter(pk=held.pk).update(hold_expires_at=past)
    SlotClaim.objects.filter(appointment=held).update(expires_at=past)
    page.reload()
    assert page.get_by_text("The time we kept for you has run out.", exact=False).is_visible()
    assert_accessible(page, where="the details page after the hold lapsed")
    for number in range(3):
        book_appointment(
            location=held.location,
            service=held.service,
            start=held.start,
            names=[PersonName(first_name="Other", last_name=f"Person {number}")],
            contact_email=f"other{number}@example.com",
            now=timezone.now(),
        )

    fill_details(page, names=[("Ana", "Novak")], email=EMAIL)
    page.get_by_role("button", name="Book this appointment").click()

    page.get_by_role("alert").filter(has_text="Sorry, that time has just been taken").wait_for()
    assert page.get_by_label("First name(s)").input_value() == "Ana"
    assert page.get_by_label("E-mail address").input_value() == EMAIL
    assert_accessible(page, where="the details page when the time was taken")
    page.get_by_role("heading", name="The nearest free times").wait_for()
    page.locator("main form").first.get_by_role("button").first.click()

    page.get_by_role("heading", name="Your details", exact=True).wait_for()
    assert page.get_by_label("First name(s)").input_value() == "Ana"
    assert page.get_by_label("E-mail address").input_value() == EMAIL
    page.get_by_role("checkbox", name=re.compile("privacy statement")).check()
    page.get_by_role("button", name="Book this appointment").click()

    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    [booked] = Appointment.objects.filter(contact_email=EMAIL, status=AppointmentStatus.BOOKED)
    assert booked.start != held.start
    assert [(p.first_name, p.last_name) for p in booked.people.all()] == [("Ana", "Novak")]
