"""The desk's browser tests use the same Chromium, contexts and axe-core helpers as tests/browser."""

from tests.support.browser import chromium, new_context, site  # noqa: F401  (fixtures)
