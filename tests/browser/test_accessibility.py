"""axe-core finds no WCAG 2.1 A/AA violation on any public page, in English and in Dutch."""

import pytest

from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser


def switch_language(page, *, to: str) -> None:
    """Use the on-page English/Dutch switch (a POST form, so it works without JavaScript too)."""
    with page.expect_navigation():
        page.get_by_role("button", name=to).click()


@pytest.mark.parametrize(("language", "button", "lang"), [("English", "English", "en"), ("Dutch", "Nederlands", "nl")])
def test_start_page(site, page, language, button, lang):
    page.goto(site.url + "/")
    if lang != "en":
        switch_language(page, to=button)
    assert page.locator("html").get_attribute("lang") == lang
    assert_accessible(page, where=f"the start page in {language}")
