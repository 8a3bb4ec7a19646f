"""In Chromium: the insights dashboard with its charts passes axe-core in English and Dutch, fits a 320 px
screen (charts and tables scroll inside their own box), prints without the filter form; the feedback pages
pass axe-core too (issue 14)."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from bookings.models import Appointment, AppointmentStatus, EmailKind, Location, OutboxEmail, OutboxStatus
from bookings.tokens import hash_token, new_manage_token
from desk import clock
from insights.models import Feedback, FirstFreeDayRecord
from services.models import Service
from tests.support.browser import NARROW, assert_accessible, assert_fits, signed_in_context
from tests.support.desk import desk_admin
from tests.support.env import AMSTERDAM
from tests.support.insights import make_appointment

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
NOW = datetime(2026, 12, 20, 12, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def history(site, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)  # the live server runs in this process
    location = Location.objects.get()
    services = list(Service.objects.order_by("display_order")[:3])
    for day in range(1, 19):
        start = datetime(2026, 12, day, 9, 0, tzinfo=AMSTERDAM)
        status = [AppointmentStatus.DONE, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED][day % 3]
        appointment = make_appointment(
            location,
            services[day % 3],
            start=start,
            status=status,
            checked_in_at=start,
            started_at=start + timedelta(minutes=4),
            done_at=start + timedelta(minutes=14),
            municipality=["Maastricht", "Heerlen"][day % 2],
        )
        if status == AppointmentStatus.DONE:
            Feedback.objects.create(appointment=appointment, score=6 + day % 5, created_at=start, updated_at=start)
        for index, service in enumerate(services):
            FirstFreeDayRecord.objects.create(
                location=location,
                service=service,
                day=date(2026, 12, day),
                days_to_first_free=(day + index) % 6,
                recorded_at=start,
            )
    return site


@pytest.mark.parametrize("locale", ["en-GB", "nl-NL"])
def test_the_dashboard_with_its_charts_passes_axe_fits_320_px_and_prints(history, new_context, locale):
    user = desk_admin()
    for viewport in (DESKTOP, NARROW):
        page = signed_in_context(new_context, history, user, viewport=viewport, locale=locale).new_page()
        page.goto(history.url + "/desk/insights/")
        assert page.locator("svg.chart").count() == 4
        assert page.locator("table").count() == 6  # the waitlist's table too
        assert_accessible(page, where=f"the insights dashboard ({locale}, {viewport['width']} px)")
        if viewport is NARROW:
            assert_fits(page, where="the insights dashboard")
    page.emulate_media(media="print")
    assert not page.locator("form.insights-filter").is_visible()
    assert page.locator("svg.chart").first.is_visible()


def test_the_feedback_pages_pass_axe(site, new_context):
    location = Location.objects.get()
    service = Service.objects.order_by("display_order").first()
    now = timezone.now()
    appointment = make_appointment(
        location,
        service,
        start=now - timedelta(hours=3),
        status=AppointmentStatus.DONE,
        done_at=now - timedelta(hours=2),
    )
    Appointment.objects.filter(pk=appointment.pk).update(contact_email="ann@example.org")
    token = new_manage_token()
    OutboxEmail.objects.create(
        appointment=appointment,
        kind=EmailKind.FEEDBACK,
        status=OutboxStatus.SENT,
        created_at=now,
        sent_at=now,
        manage_token_hash=hash_token(token),
    )
    page = new_context(viewport=NARROW).new_page()
    page.goto(f"{site.url}/feedback/{token}/?score=8")
    assert page.get_by_label("8", exact=True).is_checked()
    assert_accessible(page, where="the feedback score page")
    assert_fits(page, where="the feedback score page")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/comment/")
    assert_accessible(page, where="the feedback comment page")
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Quick and friendly.")
    page.get_by_role("button", name="Send the comment").click()
    page.wait_for_url("**/thanks/")
    assert_accessible(page, where="the feedback thank-you page")
    feedback = Feedback.objects.get()
    assert (feedback.score, feedback.comment) == (8, "Quick and friendly.")
