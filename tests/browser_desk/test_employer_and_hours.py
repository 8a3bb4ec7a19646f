"""In Chromium: an employer signs up, is approved, its HR staff member signs in with password and TOTP code,
books for a new employee through the public pages (the confirmation shows the QR code) and sees the booking
in the employer's list; an admin previews and saves new opening hours. axe-core clean on every page."""

import re
from datetime import datetime, time

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings import actions
from bookings.models import Appointment, OpeningHours
from desk import clock
from employers import actions as employer_actions
from employers.models import Employer, EmployerBooking
from tests.support.browser import assert_accessible
from tests.support.browser_flow import choose_service, fill_details, first_free_day, first_free_time
from tests.support.desk import PASSWORD, desk_admin
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
HR_EMAIL = "hanna@brightlands.example"


def confirm_code(page, username: str) -> None:
    device = TOTPDevice.objects.get(user__username=username)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Confirm").click()


def test_an_employer_signs_up_is_approved_and_books_for_an_employee(site, new_context):
    page = new_context().new_page()
    page.goto(site.url + "/employer/sign-up/")
    assert_accessible(page, where="employer sign-up")
    page.get_by_role("button", name="Ask for an account").click()  # empty: errors, nothing created
    page.get_by_text("This field is required.").first.wait_for()
    assert_accessible(page, where="employer sign-up with errors")
    assert not Employer.objects.exists()
    page.get_by_label("Organisation name").fill("Brightlands B.V.")
    page.get_by_label("Your name").fill("Hanna Rood")
    page.get_by_label("Your work e-mail address").fill(HR_EMAIL)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password_again").fill(PASSWORD)
    page.get_by_role("button", name="Ask for an account").click()
    page.get_by_role("heading", name="Request received").wait_for()
    assert_accessible(page, where="employer sign-up received")

    employer_actions.approve_employer(employer=Employer.objects.get(), now=timezone.now(), actor=None)

    page.goto(site.url + "/employer/")
    page.wait_for_url("**/employer/login/**")
    assert_accessible(page, where="employer sign-in")
    page.get_by_label("E-mail address").fill(HR_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk/2fa/setup/**")
    confirm_code(page, HR_EMAIL)
    page.get_by_role("heading", name="Bookings of Brightlands B.V.").wait_for()
    page.get_by_text("Your organisation has no bookings yet.").wait_for()
    assert_accessible(page, where="employer bookings, empty")

    page.get_by_role("link", name="Book an appointment for an employee").click()
    choose_service(page, name="Biometrics (fingerprints, photo and signature)")
    page.get_by_role("button", name="Show free days").click()
    first_free_day(page)
    first_free_time(page)
    page.get_by_text("Signed in as hanna@brightlands.example").wait_for()  # and the way back to the list
    assert page.get_by_role("link", name="Back to your organisation's bookings").is_visible()
    fill_details(page, names=[("Noor", "Bakker")], email="noor.bakker@example.org", for_employee=True)
    page.get_by_role("button", name="Book this appointment").click()
    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    appointment = Appointment.objects.get(contact_email="noor.bakker@example.org")
    qr = page.get_by_role("img", name=re.compile(f"QR code of your booking reference {appointment.reference}"))
    assert qr.is_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the data: URI loads under the CSP
    assert_accessible(page, where="confirmation with the QR code")
    assert EmployerBooking.objects.get().appointment == appointment

    page.goto(site.url + "/employer/")
    page.get_by_role("cell", name=appointment.reference).wait_for()
    assert page.get_by_text("Noor Bakker").is_visible()
    assert_accessible(page, where="employer bookings")
    # The booking's own page: move it to another free time, or cancel it.
    page.get_by_role("link", name=appointment.reference).click()
    page.get_by_role("heading", name="Move to another time").wait_for()
    assert_accessible(page, where="an employer's booking")
    page.get_by_role("button", name="Cancel this appointment").click()
    page.get_by_text(f"{appointment.reference} is cancelled. The employee gets an e-mail.").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert page.goto(site.url + "/desk/").status == 403


def test_an_admin_previews_and_saves_new_opening_hours(live_server, service, monday_morning, new_context, monkeypatch):
    cache.clear()
    monkeypatch.setattr(clock, "now", lambda: monday_morning)
    desk = make_desk(services=[service], name="Expat Centre Maastricht")
    booked = actions.book_appointment(
        location=desk,
        service=service,
        start=datetime(2026, 12, 1, 14, 0, tzinfo=AMSTERDAM),
        names=[actions.PersonName("Anna", "Jansen")],
        contact_email="anna@example.org",
        now=monday_morning,
    ).appointment
    desk_admin("boss")
    page = new_context(viewport=DESKTOP).new_page()
    page.goto(live_server.url + "/desk/capacity/hours/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk/2fa/setup/**")
    confirm_code(page, "boss")
    page.get_by_role("heading", name="Change opening hours").wait_for()
    assert_accessible(page, where="opening hours")

    # Tuesdays only in the morning: Anna's afternoon appointment would be left outside.
    page.get_by_label("Weekday").select_option(label="Tuesday")
    page.get_by_label("Interval 1 opens").fill("09:00")
    page.get_by_label("Interval 1 closes").fill("12:30")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("1 appointment would fall outside the new opening hours").wait_for()
    assert page.get_by_role("link", name=booked.reference).is_visible()
    assert page.get_by_role("button", name="Save the new opening hours").count() == 0
    assert_accessible(page, where="opening hours with an appointment outside")

    # From 8 December on it leaves nobody outside: preview, then save.
    page.get_by_label("Valid from").fill("2026-12-08")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("No appointment would fall outside the new opening hours.").wait_for()
    page.get_by_role("button", name="Save the new opening hours").click()
    page.get_by_text("The new opening hours are saved.").wait_for()
    assert OpeningHours.objects.filter(location=desk, weekday=1, valid_from__isnull=False).count() == 1
    assert OpeningHours.objects.filter(location=desk, weekday=1, start_time=time(13, 30)).get().valid_until
    assert User.objects.filter(username="boss").exists()
