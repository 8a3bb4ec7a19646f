"""A desk employee's morning in Chromium: sign in with password and TOTP code, check in, no-show, walk-in;
axe-core finds no WCAG 2.1 A/AA violation on the desk pages."""

from datetime import datetime

import pytest
from django.core.cache import cache
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings.models import Appointment, AppointmentStatus, Closure
from desk import clock
from tests.support.browser import assert_accessible
from tests.support.desk import PASSWORD, book, desk_admin, desk_staff, totp_device
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
TUESDAY = datetime(2026, 12, 1, tzinfo=AMSTERDAM)


def at(hour: int, minute: int = 0) -> datetime:
    return TUESDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def morning(live_server, service, monday_morning, monkeypatch):
    """Tuesday 10:05 at the desk: Bea was due at 10:00, Anna comes at 10:30."""
    cache.clear()
    monkeypatch.setattr(clock, "now", lambda: at(10, 5))  # the live server runs in this process
    desk = make_desk(services=[service], name="Expat Centre Maastricht")
    bea = book(desk, service, at(10), now=monday_morning, names=[("Bea", "Late")])
    anna = book(desk, service, at(10, 30), now=monday_morning, names=[("Anna", "Jansen")])
    staff = desk_staff("marieke")
    device = totp_device(staff)
    return {"server": live_server, "desk": desk, "service": service, "bea": bea, "anna": anna, "device": device}


def test_a_morning_at_the_desk(morning, new_context):
    page = new_context(viewport=DESKTOP).new_page()
    base = morning["server"].url

    page.goto(base + "/desk/")
    assert "/desk/login/" in page.url
    assert_accessible(page, where="login")
    page.get_by_label("Username").fill("marieke")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/desk/verify/**")
    assert_accessible(page, where="second factor")
    device = morning["device"]
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url("**/desk/")
    page.get_by_role("heading", name="Agenda: Expat Centre Maastricht").wait_for()
    assert_accessible(page, where="agenda")

    # Anna arrives and shows the QR code of her reference; the scanner types it into the field.
    anna, bea = morning["anna"], morning["bea"]
    page.get_by_label("Check in by reference").fill(anna.reference.lower())
    page.get_by_label("Check in by reference").press("Enter")
    page.get_by_text(f"{anna.reference} is checked in.").wait_for()

    # Bea did not come.
    page.get_by_role("button", name=f"No-show {bea.reference}").click()
    page.get_by_text(f"{bea.reference} is marked as a no-show.").wait_for()
    assert_accessible(page, where="agenda after actions")

    # A walk-in.
    page.get_by_role("link", name="Walk-in").click()
    page.get_by_role("heading", name="Walk-in").wait_for()
    assert_accessible(page, where="walk-in form")
    page.get_by_label("Service").select_option(label=morning["service"].name)
    page.get_by_label("Person 1: first name(s)").fill("Li")
    page.get_by_label("Person 1: last name").fill("Wei")
    page.get_by_role("button", name="Book walk-in").click()
    page.get_by_text("booked at 10:15 and checked in").wait_for()
    assert_accessible(page, where="appointment page")

    walk_in = Appointment.objects.exclude(pk__in=[anna.pk, bea.pk]).get()
    statuses = {a.pk: a.status for a in Appointment.objects.all()}
    assert statuses == {
        anna.pk: AppointmentStatus.CHECKED_IN,
        bea.pk: AppointmentStatus.NO_SHOW,
        walk_in.pk: AppointmentStatus.CHECKED_IN,
    }
    assert walk_in.start == at(10, 15)

    # Counter 1 falls ill from 11:00; Cora's booking there is listed to be moved or cancelled.
    desk = morning["desk"]
    counter = desk.counters.get(name="Counter 1")
    cora = book(desk, morning["service"], at(11), now=at(9), names=[("Cora", "Ill")], counter=counter)
    page.get_by_role("link", name="Block a counter").click()
    page.get_by_role("heading", name="Block a counter").wait_for()
    assert_accessible(page, where="block form")
    page.locator("#id_counter").select_option(label=str(counter))
    page.locator("#id_day").fill("2026-12-01")
    page.locator("#id_start_time").fill("11:00")
    page.locator("#id_end_time").fill("12:30")
    page.locator("#id_reason").fill("Illness")
    page.get_by_role("button", name="Block", exact=True).click()
    page.get_by_text("1 appointment is still on this counter").wait_for()
    assert_accessible(page, where="block page with an affected appointment")
    page.get_by_role("link", name=cora.reference).click()
    page.get_by_role("heading", name="Move to another time or counter").wait_for()
    assert_accessible(page, where="appointment page with move and cancel")
    page.goto(base + f"/desk/print/?location={morning['desk'].pk}&day=2026-12-01")
    assert_accessible(page, where="print view")
    page.goto(base + "/desk/check-in/")
    assert_accessible(page, where="check-in page")


def test_an_admin_sets_up_the_app_and_previews_a_closed_day(
    live_server, service, monday_morning, new_context, monkeypatch
):

    cache.clear()
    monkeypatch.setattr(clock, "now", lambda: monday_morning)
    desk = make_desk(services=[service], name="Expat Centre Maastricht")
    booked = book(desk, service, at(11), now=monday_morning)
    desk_admin("boss")
    page = new_context(viewport=DESKTOP).new_page()

    page.goto(live_server.url + "/desk/capacity/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk/2fa/setup/**")
    assert_accessible(page, where="authenticator setup")
    device = TOTPDevice.objects.get(user__username="boss")
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Capacity for the next six weeks").wait_for()
    assert_accessible(page, where="capacity")

    # Tuesday has a booking: the preview lists it and offers no save.
    page.locator("#id_start_date").fill("2026-12-01")
    page.locator("#id_reason").fill("Staff outing")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("1 appointment falls on these days").wait_for()
    assert page.get_by_role("link", name=booked.reference).is_visible()
    assert_accessible(page, where="capacity with a closure over a booking")

    # Wednesday is free: preview, then save.
    page.locator("#id_start_date").fill("2026-12-02")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("No appointment falls on these days.").wait_for()
    page.get_by_role("button", name="Save the closure").click()
    page.get_by_text("The closure is saved.").wait_for()
    assert Closure.objects.get().reason == "Staff outing"
