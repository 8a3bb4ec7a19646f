"""axe-core finds no WCAG 2.1 A/AA violation on the privacy and accessibility statements and on the
"busy, try again" page, in English and Dutch; the statements are reached from the footer. On a 320 px wide
screen none of them scrolls sideways (the Dutch headings are long compounds: "Toegankelijkheidsverklaring")."""

import pytest
from django.test import RequestFactory
from django.utils import translation

from expatdesk.busy import busy_response
from tests.support.browser import NARROW, assert_accessible, assert_fits

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_statements_and_the_busy_page_pass_axe(site, new_context, language):
    # bypass_csp: axe-core is injected as a script tag, which the Content Security Policy would refuse.
    page = new_context(locale="nl-NL" if language == "nl" else "en-GB", bypass_csp=True, viewport=NARROW).new_page()
    page.goto(site.url + "/")
    with page.expect_navigation():
        page.locator(f"header button[name=language][value={language}]").click()

    page.locator("footer a[href='/privacy/']").click()
    page.locator("main h1").wait_for()
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page, where=f"privacy statement ({language})")
    assert_fits(page, where=f"privacy statement ({language})")

    page.locator("footer a[href='/accessibility/']").click()
    page.locator("main h1").wait_for()
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page, where=f"accessibility statement ({language})")
    assert_fits(page, where=f"accessibility statement ({language})")

    # The busy page is only shown when a lock times out: serve its rendering from the live server's origin.
    with translation.override(language):
        busy = busy_response(RequestFactory().post("/book/hold/"))
    page.route(
        site.url + "/busy/",
        lambda route: route.fulfill(status=503, content_type="text/html; charset=utf-8", body=busy.content),
    )
    page.goto(site.url + "/busy/")
    page.locator("main h1").wait_for()
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page, where=f"busy page ({language})")
    assert_fits(page, where=f"busy page ({language})")
