"""The API docs page (/api/v1/docs/) in Chromium under the site's Content-Security-Policy: Swagger UI
loads from our own static files only, shows every operation, and the browser reports no CSP violation."""

from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

OPERATIONS = 13


def test_api_docs_render_every_operation_without_csp_violations(site, page):
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{site.url}/api/v1/docs/")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() == OPERATIONS
    assert "ExpatDesk API" in page.locator(".title").first.inner_text()
    assert page.evaluate("window.cspViolations") == []
    assert errors == []
    assert hosts == {urlparse(site.url).netloc}
