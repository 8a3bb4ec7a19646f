"""`make run`: links follow HOST and PORT, and the console of the embedded default is quiet.

The demo is run for real in a subprocess with the local settings (SQLite in a temporary folder, eager
Celery, e-mails as files), as `make run` runs it: migrate, then seed_demo with the site URL the Makefile
passes. Only the development server itself is left out (it would not return).
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


def test_the_demo_prints_and_emails_links_for_its_port_and_its_console_is_quiet(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "EMAIL_HOST", "EXPATDESK_SITE_URL"}
    }
    mail = tmp_path / "mail"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "expatdesk.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "EMAIL_FILE_PATH": str(mail),
            "EXPATDESK_SITE_URL": "http://127.0.0.1:8301",
        }
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrated = subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    seeded = subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    assert "http://127.0.0.1:8301/desk/login/" in seeded.stdout
    assert "http://127.0.0.1:8301/employer/login/" in seeded.stdout
    assert ":8000" not in seeded.stdout
    sent = list(mail.iterdir())
    assert sent, "the sample bookings' confirmations are written as files"
    links = set(re.findall(r"https?://[^/\s\"]+", sent[0].read_text(encoding="utf-8", errors="replace")))
    assert "http://127.0.0.1:8301" in links and not any(":8000" in link for link in links)
    console = migrated.stderr + seeded.stderr
    assert "kombu" not in console and "No hostname was supplied" not in console
    assert "celery.app.trace" not in console and "succeeded in" not in console
    assert " INFO " not in console, console[:2000]
