"""A family books one visit of two services on a phone (issue 13): fast-track registration for all four,
biometrics for the two adults; in English and in Dutch, with JavaScript (every new page scanned by axe-core)
and without it (every step still works with plain links and forms). No page scrolls sideways on the phone.

The walk goes by the pages' structure (field names, the calendar's links), so it reads the same in both
languages; the language is chosen with the on-page switch."""

import pytest

from bookings.models import AppointmentPart, AppointmentStatus
from tests.support.browser import PHONE, axe_violations, format_violations
from tests.support.browser_flow import first_day_after_today, manage_link_from_last_email, only_appointment

pytestmark = pytest.mark.browser

NAMES = [("Ana", "Novak"), ("Luka", "Novak"), ("Mila", "Novak"), ("Tin", "Novak")]
EMAIL = "ana.novak@example.com"


class Walk:
    """Checks every page it is shown; reports all failures at the end, not just the first page's."""

    def __init__(self, page, *, language: str, javascript: bool) -> None:
        self.page, self.language, self.javascript = page, language, javascript
        self.failures: list[str] = []

    def check(self, where: str) -> None:
        page = self.page
        page.locator("main h1").wait_for()
        assert page.locator("html").get_attribute("lang") == self.language, f"{where}: wrong lang attribute"
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.failures.append(f"{where} ({page.url}): {width}px wide on a {PHONE['width']}px phone")
        if self.javascript:
            violations = axe_violations(page)
            if violations:
                self.failures.append(f"{where} ({page.url}):\n{format_violations(violations)}")

    def assert_clean(self) -> None:
        assert not self.failures, f"failures in {self.language}:\n\n" + "\n\n".join(self.failures)


def submit(page) -> None:
    page.locator("main form button[type=submit]").first.click()


@pytest.mark.parametrize("javascript", [pytest.param(True, id="axe"), pytest.param(False, id="no-javascript")])
@pytest.mark.parametrize("language", [pytest.param("en", id="English"), pytest.param("nl", id="Dutch")])
def test_a_family_books_a_visit_of_two_services_on_a_phone(site, new_context, language, javascript):
    page = new_context(java_script_enabled=javascript, viewport=PHONE).new_page()
    walk = Walk(page, language=language, javascript=javascript)
    page.goto(site.url + "/")
    with page.expect_navigation():
        page.locator(f"header button[name=language][value={language}]").click()
    walk.check("start")

    page.locator("main a[href$='/book/visit/']").click()
    walk.check("visit: services")
    submit(page)  # nothing chosen
    assert page.locator("main .invalid-feedback, main .alert-danger").first.is_visible()
    walk.check("visit: services, with errors")
    page.locator("select[name=persons]").select_option("4")
    page.locator("input[name=services][value=registration-eu]").check()
    page.locator("input[name=services][value=biometrics]").check()
    submit(page)

    walk.check("visit: who needs each service")
    # Everyone is ticked for every service to start with; the children do not need biometrics.
    assert page.locator("input[name=persons_biometrics]:checked").count() == 4
    for number in (1, 2, 3, 4):
        page.locator(f"input[name=persons_registration-eu][value='{number}']").uncheck()
    submit(page)  # nobody for registration, and no municipality
    assert page.locator("main .invalid-feedback, main .alert-danger").first.is_visible()
    walk.check("visit: who needs each service, with errors")
    for number in (1, 2, 3, 4):
        page.locator(f"input[name=persons_registration-eu][value='{number}']").check()
    for number in (3, 4):
        page.locator(f"input[name=persons_biometrics][value='{number}']").uncheck()
    page.locator("select[name=municipality]").select_option("Maastricht")
    assert page.locator("main .bring-list li").count() >= 2  # what to bring, before booking
    submit(page)

    walk.check("visit: calendar")
    first_day_after_today(
        days=lambda: page.locator("main td.free a"), next_month=lambda: page.locator("main .month-nav a").last
    )
    walk.check("visit: times")
    page.locator("main .time-grid button").first.click()

    walk.check("details")
    for number, (first, last) in enumerate(NAMES, start=1):
        page.locator(f"input[name=first_name_{number}]").fill(first)
        page.locator(f"input[name=last_name_{number}]").fill(last)
    assert page.locator("input[name=first_name_5]").count() == 0  # every person's name once
    page.locator("input[name=email]").fill(EMAIL)
    page.locator(f"input[name=language][value={language}]").check()
    page.locator("input[name=consent]").check()
    submit(page)

    walk.check("confirmation")
    appointment = only_appointment()
    assert appointment.status == AppointmentStatus.BOOKED
    assert (appointment.persons, appointment.part_count, appointment.language) == (4, 2, language)
    parts = list(AppointmentPart.objects.filter(appointment=appointment).order_by("position"))
    assert [(part.service.code, part.persons) for part in parts] == [
        ("registration-eu", [1, 2, 3, 4]),
        ("biometrics", [1, 2]),
    ]
    assert page.get_by_text(appointment.reference, exact=True).is_visible()
    parts_list = page.locator("main ol.visit-parts li")
    assert parts_list.count() == 2
    assert "Ana Novak, Luka Novak" in parts_list.nth(1).inner_text()
    assert "Novak" not in page.url and appointment.reference not in page.url

    page.goto(manage_link_from_last_email(to=EMAIL))
    walk.check("manage")
    assert page.locator("main ol.visit-parts li").count() == 2
    walk.assert_clean()
