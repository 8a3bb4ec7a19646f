"""`make run`: links follow HOST and PORT, and the console of the embedded default is quiet.

The Makefile is read with `make -n` (the commands it would run); seed_demo runs with the site URL it
passes; and a task runs in a subprocess with the local settings, eagerly, as every e-mail of the demo does.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.env import require

ROOT = Path(settings.BASE_DIR)


def make_dry_run(*args: str, env: dict[str, str] | None = None) -> list[str]:
    require(shutil.which("make") is not None, "GNU make")
    environment = {key: value for key, value in os.environ.items() if key != "EXPATDESK_SITE_URL"}
    environment.update(env or {})
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if "manage.py seed_demo" in line or "runserver" in line]


@pytest.mark.parametrize(
    ("args", "env", "url", "bind"),
    [
        ((), {}, "http://127.0.0.1:8000", "127.0.0.1:8000"),
        (("PORT=8301",), {}, "http://127.0.0.1:8301", "127.0.0.1:8301"),
        (("HOST=0.0.0.0", "PORT=8301"), {}, "http://127.0.0.1:8301", "0.0.0.0:8301"),
        (
            ("PORT=8301",),
            {"EXPATDESK_SITE_URL": "https://demo.example.nl"},
            "https://demo.example.nl",
            "127.0.0.1:8301",
        ),
    ],
)
def test_make_run_links_follow_host_and_port(args, env, url, bind):
    seed, serve = make_dry_run(*args, env=env)
    assert f"EXPATDESK_SITE_URL='{url}'" in seed and seed.endswith("manage.py seed_demo")
    assert f"EXPATDESK_SITE_URL='{url}'" in serve and serve.endswith(f"runserver {bind}")


@pytest.mark.django_db
def test_the_demo_prints_and_emails_links_for_the_site_url(settings):
    """What `make run PORT=8301` passes as EXPATDESK_SITE_URL is in seed_demo's output and in the e-mails."""
    from io import StringIO

    from django.core.management import call_command

    from bookings.emails import build_message
    from bookings.models import OutboxEmail

    settings.EXPATDESK_SITE_URL = "http://127.0.0.1:8301"
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    printed = out.getvalue()
    assert "http://127.0.0.1:8301/desk/login/" in printed
    assert "http://127.0.0.1:8301/employer/login/" in printed
    assert ":8000" not in printed
    message = build_message(OutboxEmail.objects.order_by("pk").first(), manage_token="0" * 64)  # as the task issues one
    body = message.body + "".join(content for content, _type in message.alternatives)
    links = set(re.findall(r"https?://[^/\s\"]+", body))
    assert "http://127.0.0.1:8301" in links and not any(":8000" in link for link in links)


# A task run the way the embedded default runs every e-mail: eagerly, in the web process.
EAGER_TASK = """
import django
django.setup()
from expatdesk.celery import app

@app.task(name="probe.ping")
def ping():
    return "pong"

print(ping.delay().get())
"""


def test_the_embedded_default_console_is_quiet():
    """No kombu warning about the broker's host name, no INFO line per task (or per sign-in)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_LOG_LEVEL", "DJANGO_LOG_FORMAT"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": "expatdesk.settings.local", "PYTHONPATH": str(ROOT)})
    result = subprocess.run(
        [sys.executable, "-c", EAGER_TASK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pong"
    console = result.stderr
    assert "kombu" not in console and "No hostname was supplied" not in console
    assert "celery.app.trace" not in console and "succeeded in" not in console
    assert " INFO " not in console, console


REQUEST_WARNING = """
import django
django.setup()
import logging
logging.getLogger("django.request").warning("Conflict: /api/v1/holds/")
logging.getLogger("bookings").error("an error")
print(logging.getLogger("django.request").isEnabledFor(logging.WARNING))
"""


@pytest.mark.parametrize(("level", "shown"), [("INFO", True), ("WARNING", True), ("ERROR", False)])
def test_the_log_level_sets_what_the_console_shows_of_djangos_own_loggers(level, shown):
    """DJANGO_LOG_LEVEL=ERROR leaves out django.request's warning for every 4xx (a 409 of a stampede), which has
    a level of its own and would reach the console whatever the root's level; the logger's level is set too, so
    that no record of it is made."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "expatdesk.settings.production",  # DEBUG off: only the project's handler logs
        "DJANGO_SECRET_KEY": "k" * 60,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/never-connected",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "PYTHONPATH": str(ROOT),
        "DJANGO_LOG_LEVEL": level,
    }
    result = subprocess.run(
        [sys.executable, "-c", REQUEST_WARNING], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert ("Conflict: /api/v1/holds/" in result.stderr) is shown, result.stderr
    assert result.stdout.strip() == str(shown)  # at ERROR not even a record is made of the warning
    assert "an error" in result.stderr
