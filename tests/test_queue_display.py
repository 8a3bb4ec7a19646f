"""The waiting-room display: ticket numbers and counters only, the poll answered 304 from the cache (no query)
while nothing changed and 200 with the new calls after a call commits; the no-JS fallback; the device session."""

import pytest
from django.urls import reverse

from desk import clock
from queueing import actions as queue
from queueing.models import DeviceKind
from tests.support.queue import arrive, at, sign_in_device


@pytest.fixture
def desk_time(monkeypatch):
    def set_time(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_time(at(10))
    return set_time


@pytest.fixture
def screen(client, desk, desk_time):
    sign_in_device(client, desk, DeviceKind.DISPLAY, now=at(9, 30))
    return client


@pytest.fixture
def counter(desk):
    return desk.counters.order_by("name").first()


def poll_url(desk):
    return reverse("queueing:display_calls", args=[desk.slug])


def test_the_display_shows_ticket_numbers_and_counters_only(screen, desk, service, counter):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50), first_name="Zebedeus")
    queue.call_next(counter=counter, now=at(10), actor=None)
    response = screen.get(reverse("queueing:display", args=[desk.slug]))
    page = response.content.decode()
    assert response.status_code == 200
    assert ticket.code in page and counter.name in page
    assert "Zebedeus" not in page and "Jansen" not in page and ticket.appointment.reference not in page
    # Static script only (strict CSP), and a no-JS fallback that reloads the page.
    assert "queueing/display.js" in page and "<script>" not in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    # Both languages are on the page for the alternation, the Dutch from the translations.
    assert 'data-en="Now calling"' in page


def test_the_poll_is_answered_304_from_the_cache_until_a_call_commits(
    screen, desk, service, counter, django_assert_num_queries, django_capture_on_commit_callbacks
):
    ticket = arrive(desk, service, at(10), arrives=at(9, 50))
    first = screen.get(poll_url(desk))
    assert first.status_code == 200 and first.json() == {"calls": []}
    etag = first["ETag"]
    with django_assert_num_queries(0):
        again = screen.get(poll_url(desk), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag
    with django_capture_on_commit_callbacks(execute=True):
        queue.call_next(counter=counter, now=at(10), actor=None)
    changed = screen.get(poll_url(desk), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json() == {"calls": [{"code": ticket.code, "counter": counter.name}]}


def test_a_lost_cache_gives_a_new_etag_not_a_stale_304(screen, desk):
    from django.core.cache import cache

    etag = screen.get(poll_url(desk))["ETag"]
    cache.clear()  # Redis restarted
    response = screen.get(poll_url(desk), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_the_display_needs_a_display_device_of_this_location(client, desk, desk_time):
    assert client.get(poll_url(desk)).status_code == 403
    assert client.get(reverse("queueing:display", args=[desk.slug])).status_code == 403
    sign_in_device(client, desk, DeviceKind.KIOSK, now=at(9, 30))
    assert client.get(poll_url(desk)).status_code == 403


def test_an_unknown_location_is_a_404(screen):
    assert screen.get(reverse("queueing:display_calls", args=["nowhere"])).status_code == 404


def test_the_newest_call_comes_first(screen, desk, service, counter, django_capture_on_commit_callbacks):
    first = arrive(desk, service, at(10), arrives=at(9, 50))
    second = arrive(desk, service, at(10, 15), arrives=at(9, 51))
    other_counter = desk.counters.order_by("name")[1]
    queue.call_next(counter=counter, now=at(10), actor=None)
    queue.call_next(counter=other_counter, now=at(10, 1), actor=None)
    queue.recall(ticket=first, counter=counter, now=at(10, 2), actor=None)
    calls = screen.get(poll_url(desk)).json()["calls"]
    assert [c["code"] for c in calls] == [first.code, second.code]
