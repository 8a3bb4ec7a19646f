"""Settings of the Celery worker that the integration tests start: the test settings, with real
Redis (REDIS_URL), the test database (DATABASE_URL), SMTP to the test's aiosmtpd server and a
one-second retry backoff. Every message the worker publishes is logged for the ids-only check."""

import json
import os

from celery.signals import before_task_publish

from expatdesk.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ["EMAIL_HOST"]
EMAIL_PORT = int(os.environ["EMAIL_PORT"])
EMAIL_USE_TLS = False
EMAIL_TIMEOUT = 5
EXPATDESK_EMAIL_RETRY_SECONDS = 1

_PUBLISH_LOG = os.environ["EXPATDESK_TEST_PUBLISH_LOG"]


def _log_publish(sender=None, body=None, headers=None, **kwargs):
    args, task_kwargs = (body[0], body[1]) if isinstance(body, tuple | list) else (headers.get("argsrepr"), {})
    with open(_PUBLISH_LOG, "a") as log:
        log.write(json.dumps({"task": sender, "args": args, "kwargs": task_kwargs}) + "\n")


before_task_publish.connect(_log_publish, weak=False)
