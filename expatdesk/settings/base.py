"""Settings shared by every environment, read from the environment where they vary.

With nothing set, the app runs on the embedded default: SQLite, Celery tasks run eagerly in
the web process, and e-mails are written to files. See README.md for every variable.
"""

import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, *, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, *, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from error


def env_list(name: str, *, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "services",
    "bookings",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "desk",
    "employers",
    "api",
    # The desk's own measures (issue 14): feedback after the visit and the KPI dashboard at /desk/insights/.
    "insights",
    # The waitlist (issue 14 §3): people waiting for a time that suits, offered freed counter time.
    "waitlist",
    # The day of the visit: tickets, calling, the check-in kiosk and the waiting-room display (issue 15).
    "queueing",
    # `manage.py seed_demo`, the demo desk of `make run`: it uses every app, so it has its own on top.
    "demo",
    # Our own JSON API at /api/v1/ (api/v1/): Django REST framework, its OpenAPI schema, and the
    # schema viewer's assets served from static (no CDN).
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A body sent with Transfer-Encoding: chunked and no Content-Length is read too (expatdesk/chunked.py).
    "expatdesk.chunked.ChunkedBodyMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Cache-Control: no-store on every page that shows personal data (expatdesk/security.py).
    "expatdesk.security.NoStoreForPersonalDataMiddleware",
    # A fresh shared API answer (slot lists, free days and times) straight from the cache, before the session,
    # language, CSRF and authentication middleware and the view (api/middleware.py).
    "api.middleware.SharedAnswerMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # A fresh shared public page (a service's calendar, a day's free times) for a visitor without a session,
    # straight from the cache, with the visitor's own CSRF token, before authentication, messages and the
    # view (bookings/shared_pages.py).
    "bookings.shared_pages.SharedPageMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A signed-in session idle for EXPATDESK_STAFF_IDLE_MINUTES ends.
    "desk.middleware.IdleSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A database lock not granted within DATABASE_LOCK_TIMEOUT_MS: a 503 "busy, try again" page.
    "expatdesk.busy.BusyDatabaseMiddleware",
    # django-ratelimit's Ratelimited exception → the friendly 429 page (expatdesk/ratelimits.py).
    "expatdesk.ratelimits.RatelimitedMiddleware",
    # Last, so that it sees the outcome of every login attempt (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "expatdesk.urls"

# Who books for someone else on the public pages (bookings/agents.py): HR staff of an approved employer
# book for employees. bookings imports no app above it; this wires the employers app in.
EXPATDESK_BOOKING_AGENT_PROVIDER = "employers.agent.booking_agent"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # `booking_agent` on the public pages: who is signed in to book for someone else.
                "bookings.agents.booking_agent",
            ],
        },
    },
]

WSGI_APPLICATION = "expatdesk.wsgi.application"

# The embedded default is a SQLite file next to manage.py; DATABASE_URL switches to PostgreSQL.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=0),
    )
}
# A lock that is not granted quickly means the desk is busy; answer rather than hang.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "options", f"-c lock_timeout={env_int('DATABASE_LOCK_TIMEOUT_MS', default=5000)}"
    )
    # psycopg 3 binds the parameters on the server and prepares a statement once a connection has run its text
    # DATABASE_PREPARE_THRESHOLD times: PostgreSQL then plans the booking path's statements once a connection,
    # not at every call (README, Performance). A negative threshold prepares nothing (a pooler in transaction
    # mode, such as PgBouncer before 1.21, cannot keep prepared statements).
    if importlib.util.find_spec("psycopg") is not None:  # what Django uses when it is there (requirements.txt)
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        _threshold = env_int("DATABASE_PREPARE_THRESHOLD", default=5)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", _threshold if _threshold >= 0 else None)

# Staff sign-in: password (throttled by django-axes), then a TOTP code (django-otp). See desk/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "desk:login"
# Desk staff land on the agenda, HR staff of an employer on their bookings (expatdesk/views.py).
LOGIN_REDIRECT_URL = "signed_in"
LOGOUT_REDIRECT_URL = "desk:login"
# Staff must confirm every sign-in with a TOTP code. Production refuses to start with it off; the
# embedded demo (local settings) may switch it off for a first look.
EXPATDESK_REQUIRE_2FA = env_bool("EXPATDESK_REQUIRE_2FA", default=True)
OTP_TOTP_ISSUER = "ExpatDesk"
# A signed-in session (staff, admins, HR staff) without activity for this many minutes ends: the next
# request asks for the password again (desk/middleware.py). The agenda's own refresh is not activity.
EXPATDESK_STAFF_IDLE_MINUTES = env_int("EXPATDESK_STAFF_IDLE_MINUTES", default=30)
# Failed logins: after AXES_FAILURE_LIMIT failures for one username from one address, that pair is
# locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "desk/locked_out.html"
# Never log passwords or codes that were typed into the login form.
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "token"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English in British day-month order with the 24-hour clock (expatdesk/formats/en/formats.py); Dutch as Django has it.
FORMAT_MODULE_PATH = ["expatdesk.formats"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Redis is optional in the embedded default: without REDIS_URL the cache is in memory and
# Celery runs tasks eagerly in the web process. On Redis: Django's RedisCache with one redis-py client per
# connection pool, and rate-limit counts in one round trip (expatdesk/cache_backend.py).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "expatdesk.cache_backend.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "expatdesk",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Without Redis, tasks run eagerly and the broker is never used; it still needs a host name, or kombu
# warns "No hostname was supplied" on the console of `make run`.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Tasks are acknowledged after they ran, so a worker that dies mid-task leaves the message for another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "expire-holds": {"task": "bookings.tasks.expire_holds_task", "schedule": 60.0},
    # Re-queue outbox rows whose task was lost (Redis or the worker was down).
    "sweep-outbox": {"task": "bookings.tasks.sweep_outbox", "schedule": 60.0},
    # Reminders are found by this scan, never by ETA tasks; the outbox makes each one unique.
    "send-due-reminders": {"task": "bookings.tasks.send_due_reminders", "schedule": 300.0},
    # Erase personal data EXPATDESK_ANONYMISE_AFTER_DAYS after the appointment (daily, at night).
    "anonymise-past-appointments": {
        "task": "bookings.tasks.anonymise_past_appointments_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # Delete the claims of past days, so the claims table grows with the horizon, not with history.
    "prune-past-claims": {"task": "bookings.tasks.prune_past_claims_task", "schedule": crontab(hour=3, minute=45)},
    # The daily days-to-first-free-slot record per location and service (insights); one row a day, so the
    # hourly runs after the first of the day change nothing and a missed run is made up within the hour.
    "record-first-free-days": {"task": "insights.tasks.record_first_free_days_task", "schedule": crontab(minute=5)},
    # The waitlist's safety net: lapse offers, end past entries, offer free time that suits (waitlist/actions.py).
    "waitlist-scan": {"task": "waitlist.tasks.offer_freed_time_task", "schedule": 60.0},
    "waitlist-sweep-messages": {"task": "waitlist.tasks.sweep_waitlist_messages", "schedule": 60.0},
    "waitlist-anonymise": {"task": "waitlist.tasks.anonymise_waitlist_task", "schedule": crontab(hour=3, minute=50)},
}

# E-mail: files under EMAIL_FILE_PATH by default; EMAIL_HOST switches to SMTP.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=20)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ExpatDesk <noreply@expatdesk.localhost>")

# Booking rules that are the desk's policy rather than a service's property.
EXPATDESK_HOLD_MINUTES = env_int("EXPATDESK_HOLD_MINUTES", default=10)
EXPATDESK_SITE_URL = os.environ.get("EXPATDESK_SITE_URL", "http://127.0.0.1:8000")
# The address name (Location.slug) of the location that the addresses without one (/book/…, /find/, from
# before every location had its own) lead to, and the privacy pages name; empty: the first active location.
EXPATDESK_DEFAULT_LOCATION = os.environ.get("EXPATDESK_DEFAULT_LOCATION", "")
# JSON APIs (api/): slot answers are cached this many seconds, shared by all callers (0: not shared);
# polling is counted per client address only when an answer is computed (a cached answer is not
# limited), writes (hold, book) on every request, as django-ratelimit rates ("10/m").
EXPATDESK_SLOT_CACHE_SECONDS = env_int("EXPATDESK_SLOT_CACHE_SECONDS", default=5)
EXPATDESK_API_POLL_RATE = os.environ.get("EXPATDESK_API_POLL_RATE", "120/m")
# A hold of a time a process has just read as taken is refused again by that process, without reading, for
# this many milliseconds (bookings/refusals.py; 0: read every time).
EXPATDESK_TAKEN_REMEMBERED_MS = env_int("EXPATDESK_TAKEN_REMEMBERED_MS", default=2000)
EXPATDESK_API_WRITE_RATE = os.environ.get("EXPATDESK_API_WRITE_RATE", "10/m")
# The HTTP benchmark's baseline views at /bench/ (bench/urls.py): only ever for `manage.py benchmark --http`.
EXPATDESK_BENCHMARK_URLS = env_bool("EXPATDESK_BENCHMARK_URLS", default=False)
# Our own API (/api/v1/, api/v1/): JSON only, no session authentication (so no CSRF); every error is
# one JSON shape {"code", "message", "fields"} (api/v1/errors.py). Free days and times are limited at
# EXPATDESK_API_POLL_RATE per client address, holds, bookings and changes at EXPATDESK_API_WRITE_RATE.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.v1.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.v1.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ExpatDesk API",
    "DESCRIPTION": (
        "Services, locations, free days and times, holds, bookings, and changing or cancelling a booking "
        "with its manage token, at the expat desk of South Limburg."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["api.v1.schema.only_api_v1"],
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "manageToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The manage token returned once by POST /api/v1/bookings/.",
            }
        }
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# E-mail: a reminder this many hours before the appointment; failed sends are retried after
# base, 2 * base, 4 * base, ... seconds, this many times, then the outbox row is marked failed.
EXPATDESK_REMINDER_HOURS = env_int("EXPATDESK_REMINDER_HOURS", default=24)
EXPATDESK_EMAIL_RETRY_SECONDS = env_int("EXPATDESK_EMAIL_RETRY_SECONDS", default=30)
EXPATDESK_EMAIL_MAX_RETRIES = env_int("EXPATDESK_EMAIL_MAX_RETRIES", default=6)
# An outbox row claimed ("sending") this many seconds ago without an outcome belongs to a worker that
# died mid-send: the sweep queues it again and a worker may claim it again.
EXPATDESK_OUTBOX_STALE_SECONDS = env_int("EXPATDESK_OUTBOX_STALE_SECONDS", default=600)
# A pending outbox row this many seconds old whose task never ran (Redis or the worker was down) is
# queued again by the sweep (sweep-outbox, every minute).
EXPATDESK_OUTBOX_REQUEUE_SECONDS = env_int("EXPATDESK_OUTBOX_REQUEUE_SECONDS", default=60)
# After a row's send task is published, the rows its process commits in the next this many seconds are
# queued by one delayed task at the end of that window, not by a publish each (bookings/outbox_kick.py);
# 0: a publish for every row.
EXPATDESK_OUTBOX_KICK_SECONDS = env_int("EXPATDESK_OUTBOX_KICK_SECONDS", default=1)
# Feedback (issue 14): the "How was your visit?" e-mail goes this many minutes after the appointment is
# marked done (its outbox row is written then, due at done + delay; the outbox sweep sends it). Its score
# links work for EXPATDESK_FEEDBACK_LINK_DAYS after sending; a score can be changed for
# EXPATDESK_FEEDBACK_CHANGE_HOURS after it was first given.
EXPATDESK_FEEDBACK_DELAY_MINUTES = env_int("EXPATDESK_FEEDBACK_DELAY_MINUTES", default=120)
EXPATDESK_FEEDBACK_LINK_DAYS = env_int("EXPATDESK_FEEDBACK_LINK_DAYS", default=14)
EXPATDESK_FEEDBACK_CHANGE_HOURS = env_int("EXPATDESK_FEEDBACK_CHANGE_HOURS", default=24)
# The desk's target for the days to the first free slot (the dashboard draws it against the history).
EXPATDESK_FIRST_FREE_TARGET_DAYS = env_int("EXPATDESK_FIRST_FREE_TARGET_DAYS", default=3)
# Called with the ids of the appointments being anonymised, inside the anonymisation's transaction: how
# apps above bookings erase what they keep about an appointment, without bookings importing them.
EXPATDESK_ANONYMISATION_HOOKS = ["insights.privacy.erase_feedback_of"]
# Called with the ids of the appointments of a data request (GDPR article 15): what apps above bookings
# keep about them, added to the export, as {appointment id: {key: value}}.
EXPATDESK_EXPORT_HOOKS = ["insights.privacy.export_feedback_of"]
# Privacy: names, e-mail and phone are erased this many days after the appointment (the privacy
# statement quotes it as the retention period).
EXPATDESK_ANONYMISE_AFTER_DAYS = env_int("EXPATDESK_ANONYMISE_AFTER_DAYS", default=30)
# Named in the privacy statement: who is responsible for the personal data, and where to ask about it
# (empty: people are asked to write to or visit the desk's address).
EXPATDESK_PRIVACY_CONTROLLER = os.environ.get("EXPATDESK_PRIVACY_CONTROLLER", "Gemeente Maastricht")
EXPATDESK_PRIVACY_EMAIL = os.environ.get("EXPATDESK_PRIVACY_EMAIL", "")

# Abuse (issue 5): POSTs per client address to the hold, confirm, find-my-booking, manage (cancel and
# move) and staff login endpoints, as django-ratelimit rates ("20/10m" = 20 in ten minutes), counted in
# the default cache (Redis in production). Over the limit: a 429 page with Retry-After.
EXPATDESK_RATE_HOLD = os.environ.get("EXPATDESK_RATE_HOLD", "30/10m")
EXPATDESK_RATE_CONFIRM = os.environ.get("EXPATDESK_RATE_CONFIRM", "20/10m")
EXPATDESK_RATE_FIND = os.environ.get("EXPATDESK_RATE_FIND", "10/10m")
EXPATDESK_RATE_MANAGE = os.environ.get("EXPATDESK_RATE_MANAGE", "20/10m")
EXPATDESK_RATE_LOGIN = os.environ.get("EXPATDESK_RATE_LOGIN", "20/10m")
EXPATDESK_RATE_WAITLIST = os.environ.get("EXPATDESK_RATE_WAITLIST", "10/10m")
# How long freed time offered to the first person on the waitlist is held for them (a hold of the engine).
EXPATDESK_WAITLIST_OFFER_MINUTES = env_int("EXPATDESK_WAITLIST_OFFER_MINUTES", default=60)
RATELIMIT_VIEW = "expatdesk.ratelimits.ratelimited_view"
# Behind a load balancer every request comes from its address: count per client instead, taken from
# X-Forwarded-For as appended by this many trusted proxies (0: REMOTE_ADDR). The API limits use it too.
EXPATDESK_TRUSTED_PROXIES = env_int("EXPATDESK_TRUSTED_PROXIES", default=0)
RATELIMIT_IP_META_KEY = "expatdesk.ratelimits.client_ip"
# At most this many live holds at once from one client address (a keyed hash of it is kept on the
# appointment while it is live).
EXPATDESK_MAX_HOLDS_PER_IP = env_int("EXPATDESK_MAX_HOLDS_PER_IP", default=5)
# At most one live booking per e-mail address per service (staff may book past it).
EXPATDESK_ONE_BOOKING_PER_EMAIL = env_bool("EXPATDESK_ONE_BOOKING_PER_EMAIL", default=True)
# Someone who cancelled EXPATDESK_COOLDOWN_CANCELLATIONS bookings online within
# EXPATDESK_COOLDOWN_DAYS days cannot book with that e-mail address for EXPATDESK_COOLDOWN_HOURS hours
# after the last cancellation (0 cancellations switches the rule off).
EXPATDESK_COOLDOWN_CANCELLATIONS = env_int("EXPATDESK_COOLDOWN_CANCELLATIONS", default=3)
EXPATDESK_COOLDOWN_DAYS = env_int("EXPATDESK_COOLDOWN_DAYS", default=30)
EXPATDESK_COOLDOWN_HOURS = env_int("EXPATDESK_COOLDOWN_HOURS", default=24)
# Fair share (bookings/fairness.py): the counter time (grid units x counters, in minutes) one client
# address, and one mailbox, may hold and book for one local day, and over everything still to come.
# 180 minutes is one family's visit: 6 persons of the longest service (30 minutes); a seventh of the demo
# desk's day (3 counters x 7 hours = 1,260 minutes). Two such visits over the horizon.
EXPATDESK_FAIR_SHARE_DAY_MINUTES = env_int("EXPATDESK_FAIR_SHARE_DAY_MINUTES", default=180)
EXPATDESK_FAIR_SHARE_HORIZON_MINUTES = env_int("EXPATDESK_FAIR_SHARE_HORIZON_MINUTES", default=360)
# Signed-in HR staff of an approved employer book for many employees: counted per employer instead of
# per address, with these limits (360: twice a family's visit in a day; 2,400 over the horizon).
EXPATDESK_EMPLOYER_DAY_MINUTES = env_int("EXPATDESK_EMPLOYER_DAY_MINUTES", default=360)
EXPATDESK_EMPLOYER_HORIZON_MINUTES = env_int("EXPATDESK_EMPLOYER_HORIZON_MINUTES", default=2400)

# Content Security Policy (django-csp 4): no inline script or style anywhere; every asset from static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Logs: one JSON object a line (DJANGO_LOG_FORMAT=json, the production default) or plain text.
# Log messages carry ids and references, never names, e-mail addresses or phone numbers.
DJANGO_LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "plain")
DJANGO_LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "expatdesk.logging.JsonFormatter"},
    },
    "filters": {"redact": {"()": "expatdesk.logging.RedactFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if DJANGO_LOG_FORMAT == "json" else "plain",
            "filters": ["redact"],
            # On the handler too: Django's own loggers (django.request's warning for every 4xx) have a level of
            # their own and reach the root's handler whatever the root's level is.
            "level": DJANGO_LOG_LEVEL,
        }
    },
    "root": {"handlers": ["console"], "level": DJANGO_LOG_LEVEL},
    # django.request's own level (else INFO, from Django's "django" logger): at ERROR its warning for every 4xx
    # is not even made into a record (a stampede's 409s). Its records still reach Django's handlers and the root's.
    "loggers": {"django.request": {"level": DJANGO_LOG_LEVEL}},
}

# The day of the visit (queueing/, issue 15).
# A person who checks in more than EXPATDESK_LATE_GRACE_MINUTES after their appointment's start is "late":
# they queue from their arrival, after the people who came in time.
EXPATDESK_LATE_GRACE_MINUTES = env_int("EXPATDESK_LATE_GRACE_MINUTES", default=5)
# A called ticket skipped this many times (called and not come) becomes a no-show.
EXPATDESK_QUEUE_CALLS_BEFORE_NO_SHOW = env_int("EXPATDESK_QUEUE_CALLS_BEFORE_NO_SHOW", default=3)
# The kiosk checks people in from this many minutes before their start until this many minutes after it.
EXPATDESK_KIOSK_EARLY_MINUTES = env_int("EXPATDESK_KIOSK_EARLY_MINUTES", default=30)
EXPATDESK_KIOSK_LATE_MINUTES = env_int("EXPATDESK_KIOSK_LATE_MINUTES", default=15)
# After this many seconds without a touch a kiosk's answer goes back to the start screen (static JS; a noscript
# meta refresh without JavaScript).
EXPATDESK_KIOSK_TIMEOUT_SECONDS = env_int("EXPATDESK_KIOSK_TIMEOUT_SECONDS", default=20)
# A kiosk's or display's one-time sign-in link is valid this long; its device cookie this many days.
EXPATDESK_DEVICE_SIGN_IN_MINUTES = env_int("EXPATDESK_DEVICE_SIGN_IN_MINUTES", default=60)
EXPATDESK_DEVICE_COOKIE_DAYS = env_int("EXPATDESK_DEVICE_COOKIE_DAYS", default=365)
