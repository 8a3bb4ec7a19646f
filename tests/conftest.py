"""Shared fixtures. In CI (CI=true) a test whose service is missing fails instead of being skipped."""

from datetime import datetime

import pytest
from django.core.cache import cache
from django.utils import translation

from services.catalogue import DESK_SERVICE_ORDER, fill_catalogue
from services.models import Service, ServiceOrder
from tests.support.configuration import forget_kept_configurations
from tests.support.env import AMSTERDAM, require, uses_postgresql
from tests.support.factories import ServiceFactory, make_desk
from tests.support.races import NaiveDesk


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: no rate-limit counts, cached answers or availability
    versions (bookings/cache.py) of an earlier test, whose database ids a later test may reuse."""
    cache.clear()


@pytest.fixture(autouse=True)
def _new_process():
    """Every test starts as a new process: no configuration, day plan or day's lasting claims kept by an earlier
    test (docs/locking.md §2). What is kept is right for a later test too (its versions tell), but a day kept
    without a version under a database id that a later test reuses (SQLite) would spare that test a read, so its
    query counts would depend on the tests run before it."""
    forget_kept_configurations()


_DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup"}


@pytest.fixture(autouse=True)
def _service_catalogue(request):
    """Every test with a database finds the six services of the catalogue's data migration.

    A transactional test ends with Django's flush, which empties every table, the migration's rows included.
    pytest-django runs transactional tests last, but with the files spread over workers (--dist loadfile)
    a worker runs each file whole, so a later file on that worker would find no catalogue (CI failed so on
    tests/test_ind_clients.py). One query when the catalogue is there."""
    if request.node.get_closest_marker("django_db") is None and not _DB_FIXTURES & set(request.fixturenames):
        return
    request.getfixturevalue("_django_db_helper")
    if ServiceOrder.objects.count() >= len(DESK_SERVICE_ORDER):
        return
    fill_catalogue(Service, ServiceOrder)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (English): LocaleMiddleware leaves the language of a
    request in Dutch active in the thread afterwards, which would turn a later test's messages Dutch."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def service(db):
    return ServiceFactory()


@pytest.fixture
def desk(db, service):
    """A desk with three counters serving `service`, open Tue–Thu 09:00–12:30 and 13:30–17:00."""
    return make_desk(services=[service])


@pytest.fixture
def monday_morning() -> datetime:
    """Monday 2026-11-30 08:00 in Amsterdam: the desk opens the next day."""
    return datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def naive_table(postgresql, transactional_db):
    """The naive twin's claims table, without any constraint (tests/support/races.py NaiveDesk)."""
    NaiveDesk.create_table()
    yield
    NaiveDesk.drop_table()


@pytest.fixture
def postgresql() -> None:
    require(uses_postgresql(), "the race tests need PostgreSQL: set DATABASE_URL=postgres://...")
