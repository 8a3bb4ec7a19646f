"""Helpers of the integration tests: waiting with a bound, a free port, the SMTP mailbox, the worker process."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
from django.db import connection

from expatdesk.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent.parent
# A Redis database of its own (the tests flush it), one per pytest-xdist worker (gw0: 15, gw1: 14, ...).
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_DB = int(os.environ.get("EXPATDESK_TEST_REDIS_DB", "15")) - _WORKER
WORKER_START_TIMEOUT = 40.0


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.05):
    """Poll until `condition()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and can refuse the next few DATA commands."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[EmailMessage] = []
        self.attempts = 0
        self.refuse_next = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.attempts += 1
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 Try again later"
            self.received.append(
                message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            )
        return "250 2.0.0 OK"

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.attempts = 0
            self.refuse_next = 0

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.received)


class WorkerHandle:
    def __init__(self, *, process, log_path: Path, publish_log: Path, redis_client) -> None:
        self.process = process
        self.log_path = log_path
        self.publish_log = publish_log
        self.redis = redis_client

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def is_ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"The Celery worker exited with {self.process.returncode}:\n{self.log()[-4000:]}")
        return " ready." in self.log()

    def published(self) -> list[dict]:
        return [json.loads(line) for line in self.publish_log.read_text().splitlines() if line.strip()]

    def is_idle(self) -> bool:
        """No message waiting, none taken and unfinished (acks_late keeps it in `unacked` until done)."""
        return self.redis.llen("celery") == 0 and self.redis.hlen("unacked") == 0

    def wait_idle(self, *, timeout: float = 15.0) -> None:
        # Twice in a row, a little apart: a task that just finished may be publishing the next one.
        def settled() -> bool:
            if not self.is_idle():
                return False
            time.sleep(0.3)
            return self.is_idle()

        wait_for(settled, timeout=timeout, what="the Celery worker to finish its tasks")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def assert_ids_only(messages: list[dict]) -> None:
    assert messages, "no task message was published"
    for message in messages:
        assert all(type(arg) is int for arg in message["args"]), message
        assert message["kwargs"] == {}, message


def calendar_parts(message: EmailMessage) -> list[bytes]:
    return [part.get_payload(decode=True) for part in message.walk() if part.get_content_type() == "text/calendar"]


def worker_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


def reset_producer_pools() -> None:
    """Forget the broker connections, so the next publish connects to the broker configured now."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu keeps pools per connection in a global registry
