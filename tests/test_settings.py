"""Settings: production refuses to start without its environment; the embedded default needs none.

Each case imports the settings in a fresh interpreter with a clean environment, because settings are
read once per process and the test run itself may have DATABASE_URL or REDIS_URL set.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_ENV = {
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-random-enough-production-secret-key-for-tests-0123456789",
    "DATABASE_URL": "postgres://expatdesk:secret@db.example:5432/expatdesk",
    "REDIS_URL": "redis://redis.example:6379/0",
}
REQUIRED = tuple(GOOD_ENV)

SHOW_SETTINGS = """
import importlib
import json
import os
settings = importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "database": str(settings.DATABASES["default"]["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "email": settings.EMAIL_BACKEND,
    "email_path": str(settings.EMAIL_FILE_PATH),
    "cache": settings.CACHES["default"]["BACKEND"],
    "secret_key_set": bool(settings.SECRET_KEY),
}))
"""
# The whole project starts with these settings: every app is imported and the checks run.
START_DJANGO = """
import django
from django.core.management import call_command
django.setup()
call_command("check")
"""


def run_with(settings_module: str, env: dict[str, str], code: str = SHOW_SETTINGS) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": settings_module, **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_any_environment_names_everything_missing():
    result = run_with("expatdesk.settings.production", {})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in REQUIRED:
        assert name in result.stderr


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_names_the_one_variable_missing(missing):
    env = {name: value for name, value in GOOD_ENV.items() if name != missing}
    result = run_with("expatdesk.settings.production", env)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("django.core.exceptions.ImproperlyConfigured")
    assert missing in message
    assert all(name not in message for name in REQUIRED if name != missing)


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_treats_an_empty_variable_as_missing(missing):
    result = run_with("expatdesk.settings.production", {**GOOD_ENV, missing: ""})
    assert result.returncode != 0
    assert missing in result.stderr.strip().splitlines()[-1]


def test_production_refuses_a_short_secret_key():
    result = run_with("expatdesk.settings.production", {**GOOD_ENV, "DJANGO_SECRET_KEY": "too-short"})
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in message and "DJANGO_SECRET_KEY" in message


def test_production_loads_with_everything_set():
    result = run_with("expatdesk.settings.production", GOOD_ENV)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is False
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["database"] == "expatdesk"
    assert loaded["eager"] is False
    assert loaded["broker"] == GOOD_ENV["REDIS_URL"]
    assert loaded["cache"] == "expatdesk.cache_backend.RedisCache"
    started = run_with("expatdesk.settings.production", GOOD_ENV, code=START_DJANGO)
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize("settings_module", ["expatdesk.settings.base", "expatdesk.settings.local"])
def test_embedded_default_needs_no_environment(settings_module):
    result = run_with(settings_module, {})
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["database"] == str(ROOT / "db.sqlite3")
    assert loaded["eager"] is True
    assert loaded["broker"] == "memory://localhost/"  # a host name, so kombu does not warn
    assert loaded["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["email_path"] == str(ROOT / "var" / "mail")
    assert loaded["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_local_settings_have_a_key_and_debug():
    loaded = json.loads(run_with("expatdesk.settings.local", {}).stdout)
    assert loaded["debug"] is True
    assert loaded["secret_key_set"] is True


def test_environment_switches_the_default_to_postgresql_and_redis():
    env = {"DATABASE_URL": GOOD_ENV["DATABASE_URL"], "REDIS_URL": GOOD_ENV["REDIS_URL"]}
    result = run_with("expatdesk.settings.base", env)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["eager"] is False
    assert loaded["broker"] == GOOD_ENV["REDIS_URL"]
