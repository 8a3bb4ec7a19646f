"""The public calendar and times pages share what is the same for every visitor (the free days and times,
bookings/cache.py) under the availability version; each page itself is rendered for its visitor."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import actions
from bookings.actions import PersonName
from tests.support.env import snapshot_queries
from tests.support.public_flow import first_times_url, starts_on
from tests.support.urls import reverse


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def queries_of(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_second_visitor_gets_the_free_days_and_times_without_availabilitys_queries(desk, service):
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    first, second = Client(), Client()
    times_url = first_times_url(first, calendar_url)
    cache.clear()
    for url in (calendar_url, times_url):
        computed, first_page = queries_of(first, url)
        shared, second_page = queries_of(second, url)
        assert shared == computed - snapshot_queries()  # counters, hours, closures, claims: not asked again
        assert second_page.count("free") == first_page.count("free")


def test_a_booking_drops_the_shared_times_after_its_commit(desk, service, django_capture_on_commit_callbacks):
    client = Client()
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    times_url = first_times_url(client, calendar_url)
    starts = starts_on(client, times_url)
    taken = starts[0]
    for _ in range(3):  # every counter of the desk at that time
        with django_capture_on_commit_callbacks(execute=True):
            actions.book_appointment(
                location=desk,
                service=service,
                start=datetime.fromisoformat(taken),
                names=[PersonName("Other", "Person")],
                now=timezone.now(),
            )
    assert taken not in starts_on(Client(), times_url)


def test_pages_are_still_rendered_per_visitor(desk, service):
    """Only the free times are shared: each visitor's page carries its own CSRF token for the hold form."""
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    first, second = Client(), Client()
    times_url = first_times_url(first, calendar_url)
    first_page, second_page = first.get(times_url), second.get(times_url)
    token = 'name="csrfmiddlewaretoken" value="'
    assert token in first_page.content.decode()
    first_token = first_page.content.decode().split(token)[1].split('"')[0]
    second_token = second_page.content.decode().split(token)[1].split('"')[0]
    assert first_token != second_token
