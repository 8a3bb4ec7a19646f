"""Rate limits of /api/v1/ (issue 9): they fail open when the cache is down and count atomically.

REST framework's SimpleRateThrottle answered 500 with the cache down, and let concurrent requests from one
address through past the limit (it reads the list of request times, appends and writes it back); the
naive twin below is that throttle, shown letting them through under the same race.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.v1.throttles import PollThrottle
from expatdesk.ratelimits import count_request
from tests.support.cache_calls import counting_cache_calls
from tests.support.caches import UNREACHABLE

THREADS = 12
LIMIT = 3


def free_days_url(desk, service) -> str:
    return f"/api/v1/locations/{desk.short_code}/services/{service.code}/free-days/"


def test_with_the_cache_down_the_api_answers_instead_of_500(client, desk, service):
    with override_settings(CACHES=UNREACHABLE):
        assert client.get(free_days_url(desk, service)).status_code == 200
        start = client.post("/api/v1/holds/", {}, content_type="application/json")
        assert start.status_code == 400  # the input is checked: the limit just was not counted


class NaiveThrottle(SimpleRateThrottle):
    """REST framework's throttle as it was used: read the history, append, write it back."""

    rate = f"{LIMIT}/m"

    def get_cache_key(self, request, view):
        return "naive-throttle"


class SlowCache:
    """Every cache call takes a moment, as a busy Redis over the network does; the race then shows."""

    def __init__(self, backend):
        self.backend = backend

    def __getattr__(self, name):
        method = getattr(self.backend, name)

        def slow(*args, **kwargs):
            time.sleep(0.02)
            return method(*args, **kwargs)

        return slow


def allowed_at_once(make_throttle) -> int:
    barrier = threading.Barrier(THREADS)
    answers: list[bool] = []

    def one():
        request = Request(RequestFactory().get("/api/v1/", REMOTE_ADDR="192.0.2.9"))
        throttle = make_throttle()
        barrier.wait()
        answers.append(throttle.allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == THREADS
    return answers.count(True)


@pytest.mark.parametrize("naive", [False, True], ids=["atomic", "naive"])
def test_concurrent_requests_from_one_address_get_no_more_than_the_limit(settings, monkeypatch, naive):
    settings.EXPATDESK_API_POLL_RATE = f"{LIMIT}/m"
    cache.clear()
    slow = SlowCache(cache)
    if naive:
        monkeypatch.setattr(NaiveThrottle, "cache", slow)
        assert allowed_at_once(NaiveThrottle) > LIMIT  # each read the same short history
        return
    monkeypatch.setattr("django_ratelimit.core.caches", {"default": slow})
    assert allowed_at_once(PollThrottle) == LIMIT


def test_on_a_cache_other_than_redis_a_count_is_django_ratelimits_add_then_incr():
    # In memory here and under `make run`; on Redis, one round trip (tests/integration/test_redis_cache.py).
    request = RequestFactory().post("/api/v1/holds/")
    with counting_cache_calls() as calls:
        usages = [count_request(request, group="g", rate="1/m") for _ in range(2)]
    key = calls[0][1]
    assert calls == [("add", key), ("add", key), ("incr", key)]
    assert [(usage["count"], usage["should_limit"]) for usage in usages] == [(1, False), (2, True)]
