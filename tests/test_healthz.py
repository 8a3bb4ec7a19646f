"""Operations (issue 5, point 6): /healthz for the load balancer, and structured logs without personal data."""

import json
import logging
import socket

import pytest
from django.db import OperationalError
from django.test import override_settings

from expatdesk.logging import JsonFormatter, RedactFilter


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_is_ok_with_the_database_and_no_redis_configured(client, db):
    with override_settings(REDIS_URL=""):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_database_is_down(client, db, monkeypatch):
    class DownDatabase:
        def cursor(self):
            raise OperationalError("could not connect to server")

    monkeypatch.setattr("expatdesk.health.connections", {"default": DownDatabase()})
    with override_settings(REDIS_URL=""):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "checks": {"database": "down"}}


def test_healthz_is_503_when_the_configured_redis_is_down(client, db):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "down"}


def test_healthz_checks_a_running_redis(client, db):
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        from tests.support.env import require

        require(False, "a Redis server on 127.0.0.1:6379")
    with override_settings(REDIS_URL=url):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_healthz_is_not_rate_limited_and_refuses_other_methods(client, db):
    with override_settings(REDIS_URL="", EXPATDESK_RATE_HOLD="1/h", EXPATDESK_RATE_FIND="1/h"):
        assert all(client.get("/healthz").status_code == 200 for _ in range(5))
        assert client.post("/healthz").status_code == 405


def record(message: str, *args, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("bookings", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_json_log_lines_carry_level_logger_and_message():
    line = JsonFormatter().format(record("Outbox e-mail %s failed: %s", 42, "SMTPDataError 550"))
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "bookings"
    assert entry["message"] == "Outbox e-mail 42 failed: SMTPDataError 550"
    assert "time" in entry and "\n" not in line


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("Not Found: /manage/Zx8_abcdefghijklmnop/cancel/", "Zx8_abcdefghijklmnop"),
        ("could not deliver to jane.doe+desk@example.org", "jane.doe+desk@example.org"),
    ],
)
def test_logs_never_show_manage_tokens_or_email_addresses(message, secret):
    entry = record("%s", message)
    RedactFilter().filter(entry)
    assert secret not in entry.getMessage()
    assert secret not in JsonFormatter().format(record("%s", message))


def test_the_logging_configuration_uses_the_redaction_filter():
    from django.conf import settings

    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]
    assert settings.LOGGING["formatters"]["json"]["()"] == "expatdesk.logging.JsonFormatter"
