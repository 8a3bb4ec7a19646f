"""Faults, with nothing lost: Redis down while a person books, SMTP refusing, a worker killed mid-send,
and a database lock not granted in time.

Each test starts its own `redis-server` on a spare port and its own Celery worker on it (never the
machine's Redis), an aiosmtpd server, and kills them all in teardown. Every wait is bounded.
Run alone with `pytest -m integration tests/integration/test_faults.py` (needs DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from celery.signals import before_task_publish
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bookings import actions, tasks
from bookings.models import Appointment, AppointmentStatus, EmailKind, OutboxEmail, OutboxStatus, SlotClaim
from expatdesk.celery import app as celery_app
from tests.support.env import AMSTERDAM, require, uses_postgresql
from tests.support.integration import (
    ROOT,
    WORKER_START_TIMEOUT,
    Mailbox,
    WorkerHandle,
    free_port,
    reset_producer_pools,
    wait_for,
    worker_database_url,
)
from tests.support.public_flow import confirmed_token, details_data, first_times_url, starts_on
from tests.support.urls import reverse

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DELIVERY_TIMEOUT = 60.0  # includes the worker reconnecting to a restarted Redis (2 s, 4 s, ... backoff)
STALE_SECONDS = 2  # the worker may re-claim a 'sending' row this old (EXPATDESK_OUTBOX_STALE_SECONDS)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


# ---- parts: a Redis server, an SMTP server and a Celery worker of the test's own ----------------


class RedisServer:
    """A throw-away `redis-server` on a spare port, without persistence; can be stopped and started again."""

    def __init__(self, *, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.workdir),
        ]
        with open(self.workdir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited with {self.process.returncode}")
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout=10, what="redis-server to answer")
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


class BlockingMailbox(Mailbox):
    """A mailbox whose next DATA command hangs until released (then fails): a send in progress."""

    def __init__(self) -> None:
        super().__init__()
        self.block_next = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.block_next > 0:
            self.block_next -= 1
            self.entered.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "421 4.3.0 Closing"  # never acknowledged: not delivered
        return await super().handle_DATA(server, session, envelope)


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = BlockingMailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=5)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.mailbox.release.set()
            self.controller.stop()
            self.controller = None


@pytest.fixture
def own_redis(tmp_path):
    require(shutil.which("redis-server") is not None, "redis-server is needed for the fault tests")
    server = RedisServer(workdir=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_worker(django_db_blocker, own_redis, smtp, tmp_path):
    """Start Celery workers on the test's Redis and database, sending to its SMTP server; all are
    killed in teardown."""
    require(uses_postgresql(), "the fault tests need PostgreSQL: set DATABASE_URL")
    started: list[WorkerHandle] = []
    redis_client = redis.Redis.from_url(own_redis.url, socket_timeout=5)
    with django_db_blocker.unblock():
        database_url = worker_database_url()

    def start(*, pool: str = "solo") -> WorkerHandle:
        number = len(started) + 1
        publish_log = tmp_path / f"published-{number}.jsonl"
        publish_log.touch()
        log_path = tmp_path / f"worker-{number}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.integration.worker_settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": own_redis.url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "false",
            "EXPATDESK_TEST_PUBLISH_LOG": str(publish_log),
            "EXPATDESK_OUTBOX_STALE_SECONDS": str(STALE_SECONDS),
            "EXPATDESK_OUTBOX_REQUEUE_SECONDS": "1",
            "PYTHONPATH": str(ROOT),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "expatdesk",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            f"--hostname=faults-{os.getpid()}-{number}@%h",
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = WorkerHandle(process=process, log_path=log_path, publish_log=publish_log, redis_client=redis_client)
        started.append(worker)
        wait_for(worker.is_ready, timeout=WORKER_START_TIMEOUT, what="the Celery worker to start")
        return worker

    yield start
    for worker in started:
        worker.stop()
    redis_client.close()


@pytest.fixture
def publish_to(own_redis):
    """Make this process publish tasks to the test's Redis (not run them eagerly)."""
    published: list[dict] = []

    def record(sender=None, body=None, **kwargs):
        published.append({"task": sender, "args": list(body[0])})

    before_task_publish.connect(record, weak=False)
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=own_redis.url, task_always_eager=False)
    reset_producer_pools()
    try:
        yield published
    finally:
        before_task_publish.disconnect(record)
        celery_app.conf.update(**saved)
        reset_producer_pools()


def book_through_the_pages(client, service) -> Appointment:
    """Questions → calendar → times → hold → details, as a person does it; returns the booking."""
    answers = {"persons": "1"}
    response = client.post(reverse("bookings:questions", kwargs={"service_code": service.code}), answers)
    assert response.status_code == 302
    start = starts_on(client, first_times_url(client, response["Location"]))[0]
    response = client.post(reverse("bookings:hold", kwargs={"service_code": service.code}), {**answers, "start": start})
    assert response.status_code == 302
    response = client.post(reverse("bookings:details"), details_data(1))
    confirmed_token(response)
    return Appointment.objects.get(status=AppointmentStatus.BOOKED)


def book_directly(desk, service) -> Appointment:
    """A booking a few days ahead of the real time (the worker and the manage pages use the real clock);
    its manage token (shown once, stored nowhere) is on it as `manage_token`."""
    now = timezone.now()
    for offset in range(2, 9):
        start = datetime.combine((now + timedelta(days=offset)).astimezone(AMSTERDAM).date(), datetime.min.time())
        start = start.replace(hour=10, tzinfo=AMSTERDAM)
        try:
            result = actions.book_appointment(
                location=desk,
                service=service,
                start=start,
                names=[actions.PersonName("Ann", "Example")],
                contact_email="ann.example@example.org",
                now=now,
            )
            result.appointment.manage_token = result.manage_token
            return result.appointment
        except actions.BookingError as error:
            if error.code != actions.BookingError.CLOSED:
                raise
    pytest.fail("No open day in the next week")


def confirmation(appointment: Appointment) -> OutboxEmail:
    return OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.CONFIRMATION)


def assert_delivered_once(mailbox: Mailbox, appointment: Appointment) -> None:
    received = mailbox.messages()
    assert len(received) == 1, [m["Subject"] for m in received]
    assert appointment.reference in received[0]["Subject"]
    assert confirmation(appointment).status == OutboxStatus.SENT
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert SlotClaim.objects.filter(appointment=appointment).exists()


def sweep_until(condition, *, timeout: float, what: str) -> None:
    """Run the outbox sweep (the beat's job) every second until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}")
        tasks.sweep_outbox.delay()
        time.sleep(1.0)


# ---- (a) Redis down while a person books ---------------------------------------------------------


def test_redis_down_during_a_booking_the_booking_stands_and_the_sweep_sends_it_once(
    client, desk, service, own_redis, smtp, start_worker, publish_to, caplog, settings
):
    # As in production, the cache (rate limits, availability versions) is on the same Redis as the broker.
    settings.CACHES = {"default": {"BACKEND": "expatdesk.cache_backend.RedisCache", "LOCATION": own_redis.url}}
    worker = start_worker()
    own_redis.stop()

    appointment = book_through_the_pages(client, service)

    # The task could not be queued: the booking stands, its e-mail waits in the outbox.
    assert publish_to == [{"task": "bookings.tasks.send_outbox_email", "args": [confirmation(appointment).pk]}]
    assert confirmation(appointment).status == OutboxStatus.PENDING
    assert confirmation(appointment).attempts == 0
    assert any("on_commit" in record.getMessage() for record in caplog.records), "the failed publish is logged"
    assert smtp.mailbox.messages() == []

    own_redis.start()  # the same port, empty: the lost task is not there
    sweep_until(smtp.mailbox.messages, timeout=DELIVERY_TIMEOUT, what="the swept confirmation over SMTP")
    worker.wait_idle()
    # More sweeps find nothing left to send.
    tasks.sweep_outbox.delay()
    worker.wait_idle()

    assert_delivered_once(smtp.mailbox, appointment)
    assert confirmation(appointment).attempts == 1


# ---- (b) the mail server down or refusing ----------------------------------------------------------


@pytest.mark.parametrize("fault", ["down", "refusing"])
def test_smtp_down_or_refusing_is_retried_with_backoff_and_delivered_once(
    desk, service, smtp, start_worker, publish_to, fault
):
    worker = start_worker()
    if fault == "down":
        smtp.stop()  # nothing listens on the port: connection refused
    else:
        smtp.mailbox.refuse_next = 2  # "451 Try again later", twice

    appointment = book_directly(desk, service)

    def failed_twice() -> bool:
        row = confirmation(appointment)
        return row.attempts >= 2 and row.status == OutboxStatus.PENDING  # waiting for its next retry

    wait_for(failed_twice, timeout=DELIVERY_TIMEOUT, what="two failed attempts")
    assert smtp.mailbox.messages() == []
    if fault == "down":
        assert confirmation(appointment).last_error == "ConnectionRefusedError"
        smtp.start()  # back on the same port
    else:
        assert confirmation(appointment).last_error == "SMTPDataError 451"
    wait_for(smtp.mailbox.messages, timeout=DELIVERY_TIMEOUT, what="the retried confirmation over SMTP")
    worker.wait_idle()
    tasks.sweep_outbox.delay()  # a sweep afterwards finds nothing to send again
    worker.wait_idle()

    assert_delivered_once(smtp.mailbox, appointment)
    row = confirmation(appointment)
    assert row.attempts >= 3
    assert row.last_error == ""
    # Exponential backoff: the retries waited 1 s, then 2 s (EXPATDESK_EMAIL_RETRY_SECONDS=1 in the worker).
    log = worker.log()
    assert "retry in 1s" in log
    assert "retry in 2s" in log
    # The worker's own retries carry the row's id only.
    retries = [m for m in worker.published() if m["task"] == "bookings.tasks.send_outbox_email"]
    assert {"task": "bookings.tasks.send_outbox_email", "args": [row.pk], "kwargs": {}} in retries


# ---- (c) a worker killed in the middle of a send -----------------------------------------------------


def child_pids(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def settled(worker: WorkerHandle) -> bool:
    """No message waiting and every task this worker took has finished (the log is the witness: a
    worker killed earlier leaves its message in Redis's `unacked` until the visibility timeout)."""

    def finished() -> bool:
        if worker.redis.llen("celery"):
            return False
        log = worker.log()
        done = ("] succeeded", "] retry:", "] raised", "Task handler raised error")
        return log.count("] received") == sum(log.count(outcome) for outcome in done)

    if not finished():
        return False
    time.sleep(0.3)  # a task that just finished may be publishing the next one
    return finished()


@pytest.mark.parametrize("killed", ["pool process", "whole worker"])
def test_a_worker_killed_during_a_send_delivers_once_after_a_new_worker_starts(
    desk, service, smtp, start_worker, publish_to, killed
):
    worker = start_worker(pool="prefork" if killed == "pool process" else "solo")
    smtp.mailbox.block_next = 1  # the first send hangs in DATA until the worker is dead

    appointment = book_directly(desk, service)

    wait_for(smtp.mailbox.entered.is_set, timeout=DELIVERY_TIMEOUT, what="the first send to reach DATA")
    assert confirmation(appointment).status == OutboxStatus.SENDING
    if killed == "pool process":
        [child] = child_pids(worker.process.pid)
        os.kill(child, signal.SIGKILL)
        # The main process sees its child die, rejects the message back to the queue (acks_late,
        # reject_on_worker_lost) and forks a new pool process.
        wait_for(lambda: "WorkerLostError" in worker.log(), timeout=30, what="the worker to notice the kill")
        wait_for(
            lambda: [p for p in child_pids(worker.process.pid) if p != child], timeout=30, what="a new pool process"
        )
    else:
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)
        worker = start_worker(pool="solo")
    smtp.mailbox.release.set()  # the dead worker's connection never got its 250: nothing delivered

    # The row is still 'sending' under the dead worker's claim; after EXPATDESK_OUTBOX_STALE_SECONDS the
    # sweep (the beat's job, here every second) queues it again and the new worker claims and sends it.
    sweep_until(smtp.mailbox.messages, timeout=DELIVERY_TIMEOUT, what="the confirmation from the new worker")
    wait_for(lambda: settled(worker), timeout=DELIVERY_TIMEOUT, what="the worker to finish its tasks")
    tasks.sweep_outbox.delay()
    tasks.send_outbox_email.delay(confirmation(appointment).pk)  # a late duplicate of the task: no second send
    wait_for(lambda: settled(worker), timeout=DELIVERY_TIMEOUT, what="the worker to finish its tasks")

    assert_delivered_once(smtp.mailbox, appointment)
    assert confirmation(appointment).attempts == 2  # the killed send and the one that went out
    assert smtp.mailbox.attempts == 1  # after the blocked DATA of the killed send, one more: delivered


# ---- (d) the database slow to grant a lock ---------------------------------------------------------

LOCK_TIMEOUT = "500ms"


@pytest.fixture
def short_lock_timeout():
    """This test's connection gives up waiting for a lock after LOCK_TIMEOUT (the setting's default is
    DATABASE_LOCK_TIMEOUT_MS, 5 s); the test client's requests use this same connection."""
    require(uses_postgresql(), "the lock test needs PostgreSQL: set DATABASE_URL")
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        configured = cursor.fetchone()[0]
        assert configured not in ("0", "0ms"), "the settings must set a lock_timeout"
        cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


@pytest.fixture
def locker():
    """A second PostgreSQL connection, to hold locks while the request runs; rolled back in teardown."""
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or None,
    )
    yield other
    other.rollback()
    other.close()


def assert_busy_page(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "no-store" in response["Cache-Control"]
    content = response.content.decode()
    assert "Busy, please try again" in content
    assert 'href="/privacy/"' in content


def test_a_booking_waiting_too_long_for_a_lock_gets_the_busy_page_and_succeeds_later(
    client, desk, service, short_lock_timeout, locker
):
    answers = {"persons": "1"}
    response = client.post(reverse("bookings:questions", kwargs={"service_code": service.code}), answers)
    start = starts_on(client, first_times_url(client, response["Location"]))[0]
    hold_url = reverse("bookings:hold", kwargs={"service_code": service.code})
    with locker.cursor() as cursor:
        cursor.execute("LOCK TABLE bookings_slotclaim IN EXCLUSIVE MODE")  # reads pass, writes wait

    busy = client.post(hold_url, {**answers, "start": start})

    assert_busy_page(busy)
    assert not Appointment.objects.exists()  # the hold's transaction was rolled back whole
    locker.rollback()
    response = client.post(hold_url, {**answers, "start": start})
    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:details")
    assert Appointment.objects.get().status == AppointmentStatus.HELD


def test_a_cancellation_waiting_too_long_for_a_lock_gets_the_busy_page_in_the_persons_language(
    client, desk, service, short_lock_timeout, locker
):
    appointment = book_directly(desk, service)
    token = appointment.manage_token
    cancel_url = reverse("bookings:cancel", kwargs={"token": token})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    assert client.get(cancel_url).status_code == 200
    with locker.cursor() as cursor:  # a desk action holding the appointment's row
        cursor.execute("SELECT id FROM bookings_appointment WHERE id = %s FOR UPDATE", [appointment.pk])

    busy = client.post(cancel_url)

    assert busy.status_code == 503
    assert '<html lang="nl">' in busy.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert SlotClaim.objects.filter(appointment=appointment).exists()
    locker.rollback()
    done = client.post(cancel_url)
    assert done.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
