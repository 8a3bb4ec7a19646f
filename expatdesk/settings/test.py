"""Settings for the test suite: the same as the embedded default, with fast hashing."""

from .base import *  # noqa: F403
from .base import SECRET_KEY

SECRET_KEY = SECRET_KEY or "test-secret-key-not-for-production-use-0123456789abcdef"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks in-process and keep rate-limit counters per test run; the integration
# tests start their own Celery worker against REDIS_URL.
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The public flow tests send many requests from one address: rate limits and the holds-per-address
# cap are raised here; tests/test_abuse.py sets the real limits with override_settings.
EXPATDESK_RATE_HOLD = EXPATDESK_RATE_CONFIRM = EXPATDESK_RATE_FIND = "10000/m"
EXPATDESK_RATE_MANAGE = EXPATDESK_RATE_LOGIN = EXPATDESK_RATE_WAITLIST = "10000/m"
EXPATDESK_MAX_HOLDS_PER_IP = 1000
# Many older tests book one test address repeatedly: the one-booking-per-address rule and the
# cool-down are on in production and switched on with override_settings in tests/test_abuse.py.
EXPATDESK_ONE_BOOKING_PER_EMAIL = False
EXPATDESK_COOLDOWN_CANCELLATIONS = 0
# ... and the fair-share caps, which tests/test_fairness.py sets to the real values.
EXPATDESK_FAIR_SHARE_DAY_MINUTES = EXPATDESK_FAIR_SHARE_HORIZON_MINUTES = 1_000_000
EXPATDESK_EMPLOYER_DAY_MINUTES = EXPATDESK_EMPLOYER_HORIZON_MINUTES = 1_000_000

# Tests serve static files from the app and project folders (no collectstatic), so WhiteNoise has no
# STATIC_ROOT to read and does not warn about a missing one on every request handler it builds.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
