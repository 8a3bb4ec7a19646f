"""A real server process for browser tests that stop and start the server (tests/browser_desk/test_display_restart.py).

pytest-django's live_server runs in the test process and cannot be restarted as a real server is; this is
`manage.py runserver --noreload` in a subprocess, with the test settings, against the test database
(PostgreSQL: a SQLite test database lives in the test process's memory), on a port it keeps across restarts.
The test must commit what the server reads (the `transactional_db` fixture). The server's cache is its own (the
test settings' in-memory cache): what the display's version needs is done through the server, over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

# How long the server may take to answer its first request after a (re)start.
START_SECONDS = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_url() -> str:
    """The URL of the test database this test process uses (pytest-django's test_<name>, per xdist worker)."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


class ServerProcess:
    """`manage.py runserver --noreload 127.0.0.1:<port>` that can be stopped and started again on the same port."""

    def __init__(self, *, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        assert self.process is None, "the server is running already"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "expatdesk.settings.test",
            "DATABASE_URL": test_database_url(),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{self.port}"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited ({self.process.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers (the health check may report a part it cannot reach)
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the server did not answer within {START_SECONDS} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop the server process (SIGTERM, then SIGKILL); its port is free again afterwards."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
