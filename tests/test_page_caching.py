"""The public calendar and times pages are shared between visitors without a session (bookings/shared_pages.py):
rendered once per availability version, served from the cache without a query, each visitor with their own CSRF
token; what they read (the free days and times, bookings/cache.py) is shared too."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import actions
from bookings.actions import PersonName
from tests.support.public_flow import START_BUTTON, first_times_url, starts_on
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


TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def without_tokens(page: str) -> str:
    return TOKEN.sub("", page)


def test_the_second_visitor_gets_the_shared_page_without_a_query(desk, service):
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    first, second = Client(), Client()
    times_url = first_times_url(first, calendar_url)
    cache.clear()
    for url in (calendar_url, times_url):
        computed, first_page = queries_of(first, url)
        shared, second_page = queries_of(second, url)
        assert computed > 0  # the location, the offer, the configuration's version, the claims, ...
        assert shared == 0  # the middleware answered: no session, no authentication, no view
        assert without_tokens(second_page) == without_tokens(first_page)


def test_a_shared_page_carries_the_headers_of_the_rendered_one(desk, service):
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    rendered, served = Client().get(calendar_url), Client().get(calendar_url)
    for header in ("Content-Type", "Content-Language", "X-Frame-Options", "Vary", "Content-Security-Policy"):
        assert served[header] == rendered[header], header
    assert served.cookies["csrftoken"].value  # the visitor's CSRF cookie comes with their token


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


def test_each_visitor_gets_their_own_token_and_their_hold_is_accepted(desk, service):
    """The shared page carries a placeholder for the token: each visitor's forms work with their own."""
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    times_url = first_times_url(Client(), calendar_url)
    pages = [Client(enforce_csrf_checks=True) for _ in range(2)]
    first_page, second_page = (visitor.get(times_url).content.decode() for visitor in pages)
    first_token, second_token = TOKEN.search(first_page).group(1), TOKEN.search(second_page).group(1)
    assert first_token != second_token
    start = START_BUTTON.search(second_page).group(1)
    response = pages[1].post(
        reverse("bookings:hold", kwargs={"service_code": service.code}),
        {"persons": "1", "start": html.unescape(start), "csrfmiddlewaretoken": second_token},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:details")


@pytest.mark.parametrize("cookie", ["sessionid", "messages"])
def test_a_visitor_with_a_session_or_messages_gets_their_own_page(desk, service, cookie):
    """A session may carry a hold or someone signed in, messages are for one visitor: never shared."""
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    Client().get(calendar_url)
    visitor = Client()
    visitor.cookies[cookie] = "something"
    computed, _page = queries_of(visitor, calendar_url)
    assert computed > 0


def test_a_page_is_shared_per_language(desk, service):
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    english = Client().get(calendar_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    dutch = Client().get(calendar_url, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Choose a day" in english
    assert "Choose a day" not in dutch
    assert 'lang="nl"' in dutch


def test_nothing_is_shared_while_the_cache_seconds_are_0(desk, service, settings):
    settings.EXPATDESK_SLOT_CACHE_SECONDS = 0
    calendar_url = reverse("bookings:calendar", kwargs={"service_code": service.code}) + "?persons=1"
    Client().get(calendar_url)  # the configuration kept by the process: both counts without it
    first, _page = queries_of(Client(), calendar_url)
    second, _page = queries_of(Client(), calendar_url)
    assert second == first > 0
