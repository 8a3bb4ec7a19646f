"""Real parts for the e-mail integration tests: an aiosmtpd server, Redis (db 15) and a Celery worker
process on the test database. Everything is bounded in time; the worker is killed in teardown."""

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from aiosmtpd.controller import Controller
from celery.signals import before_task_publish

from bookings import outbox_kick
from expatdesk.celery import app as celery_app
from tests.support.env import require, uses_postgresql
from tests.support.integration import (
    REDIS_DB,
    ROOT,
    WORKER_START_TIMEOUT,
    Mailbox,
    WorkerHandle,
    free_port,
    reset_producer_pools,
    wait_for,
    worker_database_url,
)


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
        database_url = worker_database_url()
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


@pytest.fixture
def worker(celery_worker):
    yield celery_worker
    celery_worker.wait_idle()  # leave no task to run against the next test's data


@pytest.fixture
def publish_to_redis(redis_url):
    """Make this process publish tasks to Redis (not run them eagerly) and record every message."""
    published: list[dict] = []

    def record(sender=None, body=None, **kwargs):
        published.append({"task": sender, "args": body[0], "kwargs": body[1]})

    before_task_publish.connect(record, weak=False)
    outbox_kick.forget()  # no window of the test before: a test's first row is published at once
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=redis_url, task_always_eager=False)
    reset_producer_pools()
    try:
        yield published
    finally:
        before_task_publish.disconnect(record)
        outbox_kick.forget()
        celery_app.conf.update(**saved)
        reset_producer_pools()
