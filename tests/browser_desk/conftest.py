"""The desk's browser tests reuse the Chromium, contexts and axe-core helpers of tests/browser."""

from tests.browser.conftest import chromium, new_context, site  # noqa: F401  (fixtures)
