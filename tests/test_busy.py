"""The "busy, try again" answer for a database lock not granted in time (see also the PostgreSQL test
in tests/integration/test_faults.py, which holds a real lock)."""

import json

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import RequestFactory
from django.utils import translation

from expatdesk.busy import BusyDatabaseMiddleware, is_busy_error


class DriverError(Exception):
    """Stands for a psycopg 3 error, which carries its SQLSTATE as `sqlstate` (psycopg2's as `pgcode`)."""

    def __init__(self, message: str, pgcode: str | None, *, attribute: str = "sqlstate") -> None:
        super().__init__(message)
        setattr(self, attribute, pgcode)


def database_error(
    *, pgcode: str | None = None, message: str = "error", attribute: str = "sqlstate"
) -> OperationalError:
    """As Django raises it: its OperationalError, caused by the driver's."""
    error = OperationalError(message)
    error.__cause__ = DriverError(message, pgcode, attribute=attribute)
    return error


@pytest.mark.parametrize(
    "error",
    [
        database_error(pgcode="55P03", message="canceling statement due to lock timeout"),
        database_error(pgcode="40P01", message="deadlock detected"),
        database_error(pgcode="40001", message="could not serialize access"),
        database_error(pgcode="55P03", message="lock timeout", attribute="pgcode"),  # psycopg2
        database_error(message="database is locked"),  # SQLite
    ],
)
def test_lock_timeouts_and_deadlocks_are_busy(error):
    assert is_busy_error(error)


@pytest.mark.parametrize(
    "error",
    [
        database_error(pgcode="08006", message="connection failure"),
        database_error(message="no such table: bookings_appointment"),
        ValueError("database is locked"),
    ],
)
def test_other_errors_are_not_busy(error):
    assert not is_busy_error(error)


def test_the_middleware_answers_503_with_retry_after_in_the_active_language(db):
    assert "expatdesk.busy.BusyDatabaseMiddleware" in settings.MIDDLEWARE
    middleware = BusyDatabaseMiddleware(lambda request: None)
    request = RequestFactory().post("/book/x/hold/")
    with translation.override("nl"):
        response = middleware.process_exception(request, database_error(pgcode="55P03"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert '<html lang="nl">' in response.content.decode()


def test_the_middleware_leaves_other_errors_to_the_500_handler():
    middleware = BusyDatabaseMiddleware(lambda request: None)
    request = RequestFactory().get("/")
    assert middleware.process_exception(request, database_error(pgcode="08006")) is None


def test_the_json_apis_get_their_own_error_shape():
    middleware = BusyDatabaseMiddleware(lambda request: None)
    factory = RequestFactory()

    ours = middleware.process_exception(factory.post("/api/v1/bookings/"), database_error(pgcode="55P03"))
    ind = middleware.process_exception(factory.post("/oap/api/desks/MA/slots/x"), database_error(pgcode="55P03"))

    assert (ours.status_code, ours["Retry-After"]) == (503, "5")
    body = json.loads(ours.content)
    assert (body["code"], body["fields"]) == ("busy", {})
    assert body["message"]
    assert (ind.status_code, ind["Retry-After"]) == (503, "5")
    text = ind.content.decode()
    assert text.startswith(")]}',\n")
    assert json.loads(text.split("\n", 1)[1])["errorCode"] == "BUSY"
