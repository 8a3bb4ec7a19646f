"""Real parts for the e-mail integration tests: an aiosmtpd server, Redis (db 15) and a Celery worker
process on the test database. Everything is bounded in time; the worker is killed in teardown."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import kombu.pools
import pytest
import redis
from aiosmtpd.controller import Controller
from celery.signals import before_task_publish
from django.db import connection

from expatdesk.celery import app as celery_app
from tests.conftest import require, uses_postgresql

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_DB = 15  # a database of its own: the tests flush it
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


@pytest.fixture(scope="session")
def redis_url() -> str:
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(base)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", "", ""))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        reachable = True
    except redis.RedisError:
        reachable = False
    require(reachable, f"Redis at {base} is needed for the integration tests")
    return url


@pytest.fixture(scope="session")
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture(scope="module")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    _, box = smtp_server
    box.reset()
    return box


def _test_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, redis_url, redis_client, smtp_server, tmp_path_factory):
    """A real `celery worker` process on Redis db 15 and the test database, sending to aiosmtpd."""
    require(uses_postgresql(), "the integration tests need PostgreSQL: set DATABASE_URL")
    controller, _ = smtp_server
    redis_client.flushdb()
    workdir = tmp_path_factory.mktemp("worker")
    publish_log = workdir / "published.jsonl"
    publish_log.touch()
    log_path = workdir / "worker.log"
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.integration.worker_settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_HOST": controller.hostname,
        "EMAIL_PORT": str(controller.port),
        "EMAIL_USE_TLS": "false",
        "EXPATDESK_TEST_PUBLISH_LOG": str(publish_log),
        # The reminder test books a few days ahead and lets the worker scan at the real time.
        "EXPATDESK_REMINDER_HOURS": "168",
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "expatdesk",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
        f"--hostname=integration-{os.getpid()}@%h",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerHandle(process=process, log_path=log_path, publish_log=publish_log, redis_client=redis_client)
    try:
        wait_for(worker.is_ready, timeout=WORKER_START_TIMEOUT, what="the Celery worker to start")
        yield worker
    finally:
        worker.stop()


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


@pytest.fixture
def worker(celery_worker):
    yield celery_worker
    celery_worker.wait_idle()  # leave no task to run against the next test's data


def _reset_producer_pools() -> None:
    """Forget the broker connections, so the next publish connects to the broker configured now."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu keeps pools per connection in a global registry


@pytest.fixture
def publish_to_redis(redis_url):
    """Make this process publish tasks to Redis (not run them eagerly) and record every message."""
    published: list[dict] = []

    def record(sender=None, body=None, **kwargs):
        published.append({"task": sender, "args": body[0], "kwargs": body[1]})

    before_task_publish.connect(record, weak=False)
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=redis_url, task_always_eager=False)
    _reset_producer_pools()
    try:
        yield published
    finally:
        before_task_publish.disconnect(record)
        celery_app.conf.update(**saved)
        _reset_producer_pools()


def assert_ids_only(messages: list[dict]) -> None:
    assert messages, "no task message was published"
    for message in messages:
        assert all(type(arg) is int for arg in message["args"]), message
        assert message["kwargs"] == {}, message


def calendar_parts(message: EmailMessage) -> list[bytes]:
    return [part.get_payload(decode=True) for part in message.walk() if part.get_content_type() == "text/calendar"]
