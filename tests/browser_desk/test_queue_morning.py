"""A morning with the queue in Chromium: the kiosk and the display signed in once with their one-time links,
a check-in at the kiosk, a call from the counter page, the display showing it within 2 seconds; axe-core clean
on the kiosk and the display in English and Dutch; the display recovering by itself after its polling fails."""

from datetime import datetime

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from desk import clock
from queueing import devices
from queueing.models import DeviceKind, Ticket
from tests.support.browser import assert_accessible, signed_in_context
from tests.support.desk import book, desk_staff
from tests.support.env import AMSTERDAM
from tests.support.factories import make_desk

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
TV = {"width": 1920, "height": 1080}
TABLET = {"width": 800, "height": 1280}
TUESDAY = datetime(2026, 12, 1, tzinfo=AMSTERDAM)


def at(hour: int, minute: int = 0) -> datetime:
    return TUESDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def morning(live_server, service, monday_morning, monkeypatch):
    cache.clear()
    monkeypatch.setattr(clock, "now", lambda: at(9, 50))  # the live server runs in this process
    desk = make_desk(services=[service], name="Expat Centre Maastricht")
    anna = book(desk, service, at(10), now=monday_morning, names=[("Anna", "Jansen")])
    bram = book(desk, service, at(10, 15), now=monday_morning, names=[("Bram", "de Vries")])
    _kiosk, kiosk_code = devices.create_device(location=desk, kind=DeviceKind.KIOSK, name="Door", now=at(9), actor=None)
    _tv, tv_code = devices.create_device(location=desk, kind=DeviceKind.DISPLAY, name="TV", now=at(9), actor=None)
    return {
        "server": live_server,
        "desk": desk,
        "anna": anna,
        "bram": bram,
        "kiosk_code": kiosk_code,
        "tv_code": tv_code,
        "staff": desk_staff("marieke"),
    }


def sign_in_screen(page, base: str, code: str) -> None:
    page.goto(f"{base}/device/sign-in/{code}/")
    page.get_by_role("button", name="Sign this screen in").click()


def test_a_morning_with_the_kiosk_the_counter_and_the_display(morning, new_context):
    base, desk = morning["server"].url, morning["desk"]

    # The kiosk at the entrance, signed in once.
    kiosk = new_context(viewport=TABLET).new_page()
    kiosk.goto(f"{base}/kiosk/{desk.slug}/")
    expect(kiosk.get_by_role("heading", name="This screen is not signed in")).to_be_visible()
    sign_in_screen(kiosk, base, morning["kiosk_code"])
    kiosk.wait_for_url(f"**/kiosk/{desk.slug}/")
    expect(kiosk.get_by_label("Scan the QR code of your confirmation, or type your booking code")).to_be_focused()
    assert_accessible(kiosk, where="kiosk start (EN)")

    # Anna scans her QR code: the scanner types the reference and Enter.
    kiosk.keyboard.type(morning["anna"].reference)
    kiosk.keyboard.press("Enter")
    expect(kiosk.get_by_test_id("ticket")).to_be_visible()
    ticket = Ticket.objects.get(appointment=morning["anna"])
    expect(kiosk.get_by_test_id("ticket")).to_have_text(ticket.code)
    expect(kiosk.get_by_role("heading", name="Welcome, A.")).to_be_visible()
    assert "Jansen" not in kiosk.content()
    assert_accessible(kiosk, where="kiosk ticket (EN)")

    # Bram prefers Dutch.
    kiosk.goto(f"{base}/kiosk/{desk.slug}/")
    kiosk.get_by_role("button", name="Nederlands").click()
    expect(kiosk.get_by_role("heading", name="Welkom · Expat Centre Maastricht")).to_be_visible()
    assert_accessible(kiosk, where="kiosk start (NL)")
    kiosk.keyboard.type(morning["bram"].reference.lower())
    kiosk.keyboard.press("Enter")
    expect(kiosk.get_by_test_id("ticket")).to_be_visible()
    expect(kiosk.get_by_text("Uw volgnummer")).to_be_visible()
    assert_accessible(kiosk, where="kiosk ticket (NL)")
    bram_ticket = Ticket.objects.get(appointment=morning["bram"])

    # The display in the waiting room.
    display = new_context(viewport=TV).new_page()
    sign_in_screen(display, base, morning["tv_code"])
    display.wait_for_url(f"**/display/{desk.slug}/")
    assert_accessible(display, where="display")

    # Marieke calls the next person from her counter page: the display shows it within 2 seconds.
    counter = desk.counters.order_by("name").first()
    staff = signed_in_context(new_context, morning["server"], morning["staff"], viewport=DESKTOP).new_page()
    staff.goto(f"{base}/desk/queue/counter/{counter.pk}/")
    assert_accessible(staff, where="counter page")
    staff.get_by_role("button", name="Call next").click()
    expect(staff.get_by_text(f"{ticket.code} is called to {counter.name}.")).to_be_visible()
    expect(display.locator("tbody tr").first).to_contain_text(ticket.code, timeout=2000)
    expect(display.locator("tbody tr").first).to_contain_text(counter.name)

    # English and Dutch take turns; both are clean.
    html = display.locator("html")
    expect(html).to_have_attribute("lang", "nl" if html.get_attribute("lang") == "en" else "en", timeout=10_000)
    assert_accessible(display, where=f"display ({html.get_attribute('lang')})")
    expect(display.get_by_text("Nu aan de beurt").or_(display.get_by_text("Now calling"))).to_be_visible()

    # The server goes away: the polls fail, the display says it is reconnecting and keeps its last calls.
    display.route("**/calls.json", lambda route: route.abort())
    expect(display.locator("#display")).to_have_attribute("data-online", "no", timeout=5000)
    staff.get_by_role("button", name="Done").click()
    staff.get_by_role("button", name="Call next").click()
    expect(staff.get_by_text(f"{bram_ticket.code} is called to {counter.name}.")).to_be_visible()
    # ... and it comes back: no reload by hand.
    display.unroute("**/calls.json")
    expect(display.locator("tbody tr").first).to_contain_text(bram_ticket.code, timeout=8000)
    expect(display.locator("#display")).to_have_attribute("data-online", "yes")
    expect(display.locator("[data-offline]")).to_be_hidden()
