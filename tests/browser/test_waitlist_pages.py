"""The waitlist's pages pass axe-core (WCAG 2.1 A/AA) at 320 px, in English and Dutch: joining (with its
refusal), the confirmation, an offer from its e-mail, and leaving."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bookings.actions import cancel_appointment
from bookings.models import Location
from services.models import Service
from tests.support.browser import NARROW, assert_accessible
from tests.support.waitlist import fill_day, make_entry

pytestmark = pytest.mark.browser


def narrow_enough(page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"{where}: {width}px wide at a {NARROW['width']}px screen"


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_waitlist_pages_pass_axe(site, new_context, language):
    service = Service.objects.filter(requires_municipality=False).order_by("pk").first()
    page = new_context(viewport=NARROW, locale="nl-NL" if language == "nl" else "en-GB").new_page()
    page.set_extra_http_headers({"Accept-Language": language})

    location = Location.objects.get()
    page.goto(f"{site.url}/waitlist/{location.slug}/{service.code}/join/?persons=1")
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page, where="join")
    narrow_enough(page, "join")
    page.locator("main form button[type=submit]").first.click()  # nothing filled in: the refusal
    page.locator("main .alert-danger").wait_for()
    assert_accessible(page, where="join, refused")
    page.locator("input[name=day_parts]").first.check()
    page.fill("input[name=first_name_1]", "Ana")
    page.fill("input[name=last_name_1]", "Silva")
    page.fill("input[name=email]", "ana@example.org")
    page.locator("input[name=language]").first.check()
    page.locator("input[name=consent]").check()
    page.locator("main form button[type=submit]").first.click()
    page.locator("main .alert-success").wait_for()
    assert_accessible(page, where="joined")

    # An offer, from its e-mail: a day a week from now, full but for one freed time.
    location = Location.objects.get()
    now = timezone.now()
    day = (now + timedelta(days=7)).astimezone(location.tz).date()
    while day.weekday() > 4:
        day += timedelta(days=1)
    other = Service.objects.exclude(pk=service.pk).filter(requires_municipality=False).order_by("pk").first()
    full = fill_day(location=location, service=other, day=day, now=now)
    make_entry(location=location, service=other, now=now, day=day, email="offer@example.org", language=language)
    cancel_appointment(appointment=full[0], now=now)
    body = next(m.body for m in mail.outbox if "/waitlist/offer/" in m.body)
    token = re.search(r"/waitlist/offer/([0-9a-f]{64})/", body).group(1)
    page.goto(f"{site.url}/waitlist/offer/{token}/")
    assert_accessible(page, where="offer")
    narrow_enough(page, "offer")
    page.goto(f"{site.url}/waitlist/leave/{token}/")
    assert_accessible(page, where="leave")
    page.locator("main form button[type=submit]").click()
    page.locator("main .alert-success").wait_for()
    assert_accessible(page, where="left")
