"""The waiting-room display survives a real server restart (issue 15): the display is served by a real server
process (tests/support/server.py), which is stopped and started again on the same port; a call made after the
restart shows on the display within a few seconds, without reloading the page by hand."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bookings import actions
from bookings.models import Appointment, AppointmentStatus
from bookings.tokens import new_reference
from queueing import devices
from queueing.models import DeviceKind, Ticket
from tests.support.browser import signed_in_context
from tests.support.desk import desk_staff
from tests.support.factories import make_desk
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
TV = {"width": 1920, "height": 1080}


@pytest.fixture
def server(postgresql, transactional_db, tmp_path):
    """A real server process against the test database; what the test writes is committed for it to read."""
    process = ServerProcess(log_path=tmp_path / "server.log")
    process.start()
    yield process
    process.stop()


def checked_in_now(desk, service) -> Ticket:
    """Someone checked in right now (the server runs on the real clock): their ticket, issued by the check-in."""
    now = timezone.now()
    appointment = Appointment.objects.create(
        reference=new_reference(short_code=desk.short_code),
        service=service,
        location=desk,
        start=now,
        end=now + timedelta(minutes=15),
        persons=1,
        status=AppointmentStatus.BOOKED,
        booked_at=now - timedelta(days=1),
        created_at=now - timedelta(days=1),
    )
    actions.check_in(appointment=appointment, now=now, actor=None)
    return Ticket.objects.get(appointment=appointment)


def test_the_display_shows_a_call_made_after_a_real_server_restart(server, service, new_context):
    desk = make_desk(services=[service], name="Expat Centre Maastricht")
    staff = desk_staff("marieke")
    ticket = checked_in_now(desk, service)
    _tv, code = devices.create_device(location=desk, kind=DeviceKind.DISPLAY, name="TV", now=timezone.now(), actor=None)

    display = new_context(viewport=TV).new_page()
    display.goto(f"{server.url}/device/sign-in/{code}/")
    display.get_by_role("button", name="Sign this screen in").click()
    display.wait_for_url(f"**/display/{desk.slug}/")
    status = display.locator("#display")
    expect(status).to_have_attribute("data-online", "yes", timeout=5000)
    expect(display.locator("tbody")).not_to_contain_text(ticket.code)
    display.evaluate("window.expatdeskSamePage = true")  # gone if the page is reloaded

    # The server process stops: the polls fail and the display says it is reconnecting.
    server.stop()
    expect(status).to_have_attribute("data-online", "no", timeout=8000)
    expect(display.locator("[data-offline]")).to_be_visible()

    # It starts again on the same port (a new process: an empty cache, new database connections) ...
    server.start()
    counter = desk.counters.order_by("name").first()
    staff_page = signed_in_context(new_context, server, staff, viewport=DESKTOP).new_page()
    staff_page.goto(f"{server.url}/desk/queue/counter/{counter.pk}/")
    staff_page.get_by_role("button", name="Call next").click()
    expect(staff_page.get_by_text(f"{ticket.code} is called to {counter.name}.")).to_be_visible()

    # ... and the display shows the call within a few seconds, by itself.
    expect(display.locator("tbody tr").first).to_contain_text(ticket.code, timeout=7000)
    expect(display.locator("tbody tr").first).to_contain_text(counter.name)
    expect(status).to_have_attribute("data-online", "yes")
    expect(display.locator("[data-offline]")).to_be_hidden()
    assert display.evaluate("window.expatdeskSamePage === true"), "the display was reloaded"
