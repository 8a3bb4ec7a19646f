"""Production settings: refuse to start without a secret key, a database and Redis."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASE_URL, EXPATDESK_REQUIRE_2FA, LOGGING, REDIS_URL, SECRET_KEY, env_bool, env_int

_missing = [
    name
    for name, value in (
        ("DJANGO_SECRET_KEY", SECRET_KEY),
        ("DATABASE_URL", DATABASE_URL),
        ("REDIS_URL", REDIS_URL),
    )
    if not value
]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: "
        + ", ".join(_missing)
        + ". See the configuration table in README.md."
    )
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long and random.")

if not EXPATDESK_REQUIRE_2FA:
    raise ImproperlyConfigured(
        "EXPATDESK_REQUIRE_2FA cannot be switched off in production: staff need a second factor."
    )

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# The load balancer asks for /healthz over plain HTTP on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Manage links carry a token in the path: never send the address to another site.
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True  # no script reads it: every form carries the token in a hidden field
# Logs as JSON lines unless DJANGO_LOG_FORMAT=plain.
LOGGING["handlers"]["console"]["formatter"] = "plain" if os.environ.get("DJANGO_LOG_FORMAT") == "plain" else "json"
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
