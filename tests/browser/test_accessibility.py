"""axe-core finds no WCAG 2.1 A/AA violation on any public page, in English and in Dutch; and the same walk
through every page (book, move, cancel from the e-mail's link) works with JavaScript off in both languages.
The walk runs on a 320 px wide screen, and no page may scroll sideways there (WCAG 1.4.10 reflow).

The walk goes through the pages by their structure (form field names, the calendar's links) rather than by
their wording, so it reads the same in both languages; the language is chosen with the on-page switch.
"""

import pytest

from bookings.models import AppointmentStatus
from tests.support.browser import NARROW, axe_violations, format_violations
from tests.support.browser_flow import manage_link_from_last_email, only_appointment

pytestmark = pytest.mark.browser

LANGUAGES = [pytest.param("en", id="English"), pytest.param("nl", id="Dutch")]


class Scanner:
    """Scans every page it is shown and reports all violations at the end, not just the first page's."""

    def __init__(self, page, *, language: str, javascript: bool) -> None:
        self.page = page
        self.language = language
        self.javascript = javascript
        self.scanned: list[str] = []
        self.failures: list[str] = []  # axe-core violations, and pages wider than the screen

    def scan(self, where: str) -> None:
        page = self.page
        page.locator("main h1").wait_for()
        assert page.locator("html").get_attribute("lang") == self.language, f"{where}: wrong lang attribute"
        self.scanned.append(where)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > NARROW["width"]:
            self.failures.append(f"{where} ({page.url}): {width}px wide at a {NARROW['width']}px screen")
        if not self.javascript:
            return  # axe-core is JavaScript; without it the walk shows that every step still works
        violations = axe_violations(page)
        if violations:
            self.failures.append(f"{where} ({page.url}):\n{format_violations(violations)}")

    def assert_clean(self) -> None:
        assert not self.failures, f"WCAG 2.1 A/AA failures in {self.language}:\n\n" + "\n\n".join(self.failures)


def submit(page) -> None:
    """Press the main form's first submit button."""
    page.locator("main form button[type=submit]").first.click()


def switch_language(page, *, to: str) -> None:
    with page.expect_navigation():
        page.locator(f"header button[name=language][value={to}]").click()


def pick_free_day(page, *, last: bool = False) -> None:
    """The month's first (or last) day with free times; the next month while this one has none."""
    for _ in range(3):
        days = page.locator("main td.free a")
        if days.count():
            (days.last if last else days.first).click()
            return
        page.locator("main .month-nav a").last.click()
    raise AssertionError("no free day in three months")


@pytest.mark.parametrize("javascript", [pytest.param(True, id="axe"), pytest.param(False, id="no-javascript")])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_page_passes_axe(site, new_context, language, javascript):
    page = new_context(java_script_enabled=javascript, viewport=NARROW).new_page()
    scanner = Scanner(page, language=language, javascript=javascript)
    page.goto(site.url + "/")
    switch_language(page, to=language)
    scanner.scan("start")

    page.locator("footer a[href$='/find/']").click()
    scanner.scan("find my booking")
    submit(page)
    scanner.scan("find my booking, with errors")
    page.locator("input[name=reference]").fill("MAA-0000-0000")
    page.locator("input[name=email]").fill("nobody@example.com")
    submit(page)
    scanner.scan("find my booking, sent")

    page.locator("footer a[href='/privacy/']").click()
    scanner.scan("privacy statement")

    page.goto(site.url + "/no-such-page/")
    scanner.scan("404")

    # Fast-track registration asks for persons and the municipality; "another municipality" is told where to go.
    page.goto(site.url + "/")
    page.locator("main a[href$='/book/registration-eu/']").click()
    scanner.scan("questions")
    page.locator("select[name=municipality]").select_option("")
    submit(page)
    scanner.scan("questions, with errors")
    page.locator("select[name=municipality]").select_option("other")
    submit(page)
    scanner.scan("outside the participating municipalities")

    page.goto(site.url + "/")
    page.locator("main a[href$='/book/registration-eu/']").click()
    page.locator("select[name=persons]").select_option("2")
    page.locator("select[name=municipality]").select_option("Maastricht")
    submit(page)
    scanner.scan("calendar")
    pick_free_day(page)
    scanner.scan("times")
    page.locator("main .time-grid button").first.click()
    scanner.scan("details")
    submit(page)
    scanner.scan("details, with errors")
    for number, (first, last) in enumerate([("Ana", "Novak"), ("Luka", "Novak")], start=1):
        page.locator(f"input[name=first_name_{number}]").fill(first)
        page.locator(f"input[name=last_name_{number}]").fill(last)
    page.locator("input[name=email]").fill("ana.novak@example.com")
    page.locator(f"input[name=language][value={language}]").check()
    page.locator("input[name=consent]").check()
    submit(page)
    scanner.scan("confirmation")
    assert only_appointment().language == language

    # The manage link from the e-mail, sent in the booking's language.
    manage_link = manage_link_from_last_email(to="ana.novak@example.com")
    page.goto(manage_link)
    scanner.scan("manage")
    page.locator("main a[href$='/move/']").click()
    scanner.scan("move: choose a day")
    # The month's last free day and its last time: another time than the booked one even late in the day.
    pick_free_day(page, last=True)
    scanner.scan("move: choose a time")
    booked_start = only_appointment().start
    page.locator("main .time-grid button").last.click()
    scanner.scan("move: confirm the new time")
    assert only_appointment().start == booked_start  # nothing moves before the confirmation
    submit(page)
    scanner.scan("manage, after the move")
    assert only_appointment().start != booked_start
    page.locator("main a[href$='/cancel/']").click()
    scanner.scan("cancel, confirmation step")
    submit(page)
    scanner.scan("cancelled")
    assert only_appointment().status == AppointmentStatus.CANCELLED
    page.goto(manage_link)
    scanner.scan("the manage link of a cancelled booking")

    assert len(scanner.scanned) == 22
    scanner.assert_clean()
