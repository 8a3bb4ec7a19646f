"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

One Chromium for all browser tests (the machine has two cores); every test gets fresh contexts. The live
server runs in a thread of this process, so settings overrides, django.core.mail.outbox and the eager
Celery tasks are shared with the test.
"""

from tests.support.browser import chromium, new_context, page, site  # noqa: F401  (fixtures)
