"""Browser-test helpers: Debian's Chromium, and axe-core scans loaded from node_modules (never a CDN)."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from services.catalogue import DESK_SERVICES
from services.models import Service
from tests.support.env import require
from tests.support.factories import make_desk

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}
# The narrowest screen every page must fit without sideways scrolling (WCAG 1.4.10 reflow).
NARROW = {"width": 320, "height": 640}
# Playwright waits this long (ms) for an element or a navigation before failing the test.
TIMEOUT_MS = 15_000


def axe_violations(page) -> list[dict]:
    """Run axe-core (loaded from node_modules, never from a CDN) on the page; WCAG 2.0/2.1 A and AA rules."""
    # Evaluated through the DevTools protocol, not as a <script> tag: the site's Content-Security-Policy
    # (script-src 'self') rightly refuses inline scripts, and the test must not weaken it (no bypass_csp).
    page.evaluate(AXE_JS.read_text() + "\n;undefined")
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}  — {summary}")
    return "\n".join(lines)


def assert_accessible(page, *, where: str) -> None:
    require(AXE_JS.exists(), f"axe-core at {AXE_JS} (npm ci)")
    violations = axe_violations(page)
    assert not violations, f"axe-core: WCAG 2.1 A/AA violations on {where} ({page.url}):\n" + format_violations(
        violations
    )


def assert_fits(page, *, where: str, width: int = NARROW["width"]) -> None:
    """Nothing wider than the screen: no sideways scrolling at 320 px (WCAG 1.4.10 reflow)."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where} is {scroll_width}px wide at a {width}px screen ({page.url})"


def assert_strong_focus(locator, *, where: str) -> None:
    """The focused element shows the site's strong focus ring (3px solid outline), not Bootstrap's faint glow."""
    style = locator.evaluate(
        "element => { const s = getComputedStyle(element); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert style == ["solid", "3px"], f"{where}: focus outline is {style}"


# ---- fixtures, registered by tests/browser/conftest.py and tests/browser_desk/conftest.py ----


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    """One Chromium for the browser tests, closed when they are done (before the rest of the suite runs on)."""
    require(os.path.exists(CHROMIUM), f"Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev.txt installs it
        require(False, "the playwright package (pip install -r requirements-dev.txt)")
    # Playwright's sync API runs an asyncio loop in the test thread; Django would refuse the tests' ORM calls
    # while it is running. Allowed only for as long as Playwright runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(chromium) -> Iterator[Callable[..., object]]:
    """Open a fresh browser context (own cookies); phone-sized, English, JavaScript on unless told."""
    contexts = []

    def open_context(**options: object) -> object:
        options.setdefault("viewport", PHONE)
        options.setdefault("locale", "en-GB")
        options.setdefault("timezone_id", "Europe/Amsterdam")
        context = chromium.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context) -> object:
    return new_context().new_page()


@pytest.fixture
def site(chromium, live_server, settings, mailoutbox) -> object:
    """The live server with the desk's six real services and one open desk, and e-mail links pointing at it."""
    settings.EXPATDESK_SITE_URL = live_server.url
    cache.clear()  # rate-limit counters of an earlier test
    services = []
    for row in DESK_SERVICES:
        service, _ = Service.objects.update_or_create(code=row["code"], defaults=row)
        services.append(service)
    make_desk(services=services, counters=3, weekdays=(0, 1, 2, 3, 4), name="Expat Centre Maastricht")
    return live_server


def signed_in_context(new_context, live_server, user, **options):
    """A browser context whose session is `user` signed in past the second factor (as tests.support.desk's
    sign_in does for the Django test client)."""
    from django.conf import settings as django_settings
    from django.test import Client

    from tests.support.desk import sign_in

    client = sign_in(Client(), user)
    context = new_context(**options)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context
