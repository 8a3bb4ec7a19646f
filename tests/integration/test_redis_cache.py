"""The shared cache on a real Redis (issue 10): one redis-py client per connection pool, Django's behaviour
unchanged, and a rate-limit count in one round trip with django-ratelimit's key, window and answer.

Runs on the integration tests' Redis database (EXPATDESK_TEST_REDIS_DB, tests/support/integration.py),
which it empties.
"""

from __future__ import annotations

import logging
from datetime import date
from types import SimpleNamespace

import django_ratelimit.core
import pytest
import redis
from django.core.cache import caches
from django.test import RequestFactory
from django_ratelimit.core import get_usage
from rest_framework.request import Request

from api.caching import WRITE
from api.caching import rate_limited as api_rate_limited
from api.v1.throttles import WriteThrottle
from bookings.cache import _bump_if_read, aliased, shared_under_alias, version_token
from expatdesk import ratelimits
from expatdesk.cache_backend import RedisCache
from expatdesk.ratelimits import count_request, over_limit
from tests.support.cache_calls import counting_redis_round_trips
from tests.support.integration import free_port

pytestmark = pytest.mark.integration

OURS = "expatdesk.cache_backend.RedisCache"
DJANGOS = "django.core.cache.backends.redis.RedisCache"
NOW = 1_764_612_345.0  # a fixed clock for the window: 2025-12-01 18:05:45 UTC


def use_cache(settings, backend: str, location: str, prefix: str = "expatdesk"):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": location, "KEY_PREFIX": prefix}}
    return caches["default"]


@pytest.fixture
def redis_cache(settings, redis_url):
    backend = use_cache(settings, OURS, redis_url)
    backend.clear()
    yield backend
    backend.clear()


@pytest.fixture
def fixed_clock(monkeypatch):
    clock = SimpleNamespace(time=lambda: NOW)
    monkeypatch.setattr(django_ratelimit.core, "time", clock)
    monkeypatch.setattr(ratelimits, "time", clock)


def post(address: str = "192.0.2.7"):
    return RequestFactory().post("/api/v1/holds/", REMOTE_ADDR=address)


# ---- the client ---------------------------------------------------------------------------------------


def clients_built(backend) -> list[object]:
    """Records every redis.Redis the backend builds from now on."""
    built = []
    cls = backend._cache._client

    def build(**kwargs):
        client = cls(**kwargs)
        built.append(client)
        return client

    backend._cache._client = build
    return built


def every_call(backend) -> None:
    backend.set("a", 1)
    backend.get("a")
    backend.add("b", "x")
    backend.incr("a")
    backend.get_many(["a", "b"])
    backend.set_many({"c": 3})
    backend.has_key("c")
    backend.touch("c", 30)
    backend.delete("a")
    backend.delete_many(["b", "c"])


def test_every_cache_call_reuses_one_client(redis_cache):
    first = redis_cache._cache.get_client()  # built by the fixture's clear()
    built = clients_built(redis_cache)
    every_call(redis_cache)
    every_call(redis_cache)
    assert built == []
    assert redis_cache._cache.get_client() is redis_cache._cache.get_client(write=True) is first


def test_djangos_own_backend_builds_a_client_per_call(settings, redis_url):
    # What the backend is for: Django's RedisCache builds a redis.Redis on every call.
    backend = use_cache(settings, DJANGOS, redis_url)
    built = clients_built(backend)
    every_call(backend)
    assert len(built) == 10


def test_one_client_per_connection_pool_with_a_replica(settings, redis_url):
    # With more than one server, Django writes to the first and reads from the others: two pools.
    backend = use_cache(settings, OURS, f"{redis_url},{redis_url}")
    built = clients_built(backend)
    for _ in range(5):
        every_call(backend)
    assert len(built) == 2
    assert {id(client.connection_pool) for client in built} == {id(pool) for pool in backend._cache._pools.values()}


def scenario(backend) -> list[object]:
    """Each call of the cache API and what it answered."""
    results = [
        backend.get("missing"),
        backend.get("missing", "default"),
        backend.set("n", 5),
        backend.get("n"),
        backend.add("n", 7),
        backend.add("fresh", {"a": [1, 2]}, 60),
        backend.get("fresh"),
        backend.incr("n"),
        backend.incr("n", 10),
        backend.decr("n", 2),
        backend.get("n"),
        backend.set_many({"m1": "one", "m2": b"two", "m3": 3.5}),
        backend.get_many(["m1", "m2", "m3", "missing", "n"]),
        backend.has_key("m1"),
        backend.has_key("missing"),
        backend.touch("m1", 120),
        backend.touch("missing", 120),
        backend.delete("m1"),
        backend.delete("m1"),
        backend.get("m1"),
        backend.delete_many(["m2", "m3"]),
        backend.get_many(["m2", "m3"]),
        backend.get_or_set("gos", "computed"),
        backend.get_or_set("gos", "other"),
        backend.add("zero", 1, 0),
        backend.get("zero"),
        backend.set("gone", 1, 0),
        backend.get("gone"),
        backend.set("flag", True),
        backend.get("flag"),
    ]
    with pytest.raises(ValueError):
        backend.incr("missing")
    return results


def test_the_cache_answers_as_djangos_own(settings, redis_url):
    djangos = use_cache(settings, DJANGOS, redis_url, prefix="django")
    djangos.clear()
    expected = scenario(djangos)
    ours = use_cache(settings, OURS, redis_url, prefix="ours")
    assert scenario(ours) == expected
    raw = redis.Redis.from_url(redis_url)
    # The same values on the wire too: an integer stays a plain integer, anything else is pickled.
    assert raw.get("ours:1:n") == raw.get("django:1:n") == b"14"
    assert raw.get("ours:1:fresh") == raw.get("django:1:fresh")
    raw.close()


# ---- rate-limit counts --------------------------------------------------------------------------------


def warm(redis_cache) -> None:
    """The connection's own handshake, and the count's script loaded in Redis (once per Redis server: a server
    without it answers NOSCRIPT, and redis-py loads it and runs it again), are not a count's round trips."""
    redis_cache.get("connect")
    count_request(post("198.51.100.1"), group="warm-up", rate="3/m")


def test_a_count_is_one_round_trip(redis_cache, fixed_clock):
    warm(redis_cache)
    with counting_redis_round_trips() as sent:
        usages = [count_request(post(), group="g", rate="3/m") for _ in range(4)]
    assert len(sent) == 4
    assert [usage["count"] for usage in usages] == [1, 2, 3, 4]
    assert [usage["should_limit"] for usage in usages] == [False, False, False, True]
    assert {usage["limit"] for usage in usages} == {3}


def test_djangos_get_usage_is_three_round_trips(settings, redis_url):
    # What count_request is for: add (SET NX), then incr (EXISTS, INCR) on Django's RedisCache.
    backend = use_cache(settings, DJANGOS, redis_url)
    backend.clear()
    get_usage(post(), group="g", key="ip", rate="3/m", increment=True)
    with counting_redis_round_trips() as sent:
        get_usage(post(), group="g", key="ip", rate="3/m", increment=True)
    assert len(sent) == 3


def test_a_count_has_django_ratelimits_key_window_and_answer(redis_cache, redis_client, fixed_clock):
    def counted_keys() -> dict[bytes, int]:
        return {key: redis_client.ttl(key) for key in redis_client.keys("*")}

    for rate, method in [("3/m", ratelimits.ALL), ("20/10m", ["POST"]), ("5/h", ["POST"]), ("2/s", ratelimits.ALL)]:
        redis_cache.clear()
        theirs = get_usage(post(), group="web-hold", key="ip", rate=rate, method=method, increment=True)
        their_keys = counted_keys()
        redis_cache.clear()
        ours = count_request(post(), group="web-hold", rate=rate, method=method)
        assert counted_keys() == their_keys
        (ttl,) = their_keys.values()  # the window's key, kept 5 s past its period (EXPIRATION_FUDGE)
        period = django_ratelimit.core._split_rate(rate)[1]
        assert period < ttl <= period + django_ratelimit.core.EXPIRATION_FUDGE
        assert ours == theirs
        # ... and one counter: either of them goes on counting where the other stopped.
        assert get_usage(post(), group="web-hold", key="ip", rate=rate, method=method, increment=True)["count"] == 2
        assert count_request(post(), group="web-hold", rate=rate, method=method)["count"] == 3
        assert counted_keys().keys() == their_keys.keys()


def test_a_count_is_per_address_and_only_for_the_methods_counted(redis_cache, fixed_clock):
    assert count_request(post("192.0.2.1"), group="g", rate="1/m")["count"] == 1
    assert count_request(post("192.0.2.2"), group="g", rate="1/m")["count"] == 1
    assert count_request(RequestFactory().get("/"), group="g", rate="1/m", method=["POST"]) is None


def test_every_rate_limit_of_the_site_counts_in_one_round_trip(redis_cache, settings, fixed_clock):
    settings.EXPATDESK_API_WRITE_RATE = "2/m"
    settings.EXPATDESK_RATE_HOLD = "2/m"
    warm(redis_cache)
    throttle = WriteThrottle()
    with counting_redis_round_trips() as sent:
        throttled = [throttle.allow_request(Request(post()), None) for _ in range(3)]
    assert throttled == [True, True, False] and 0 < throttle.wait() <= 60
    assert len(sent) == 3
    with counting_redis_round_trips() as sent:
        waits = [over_limit(post(), group="hold") for _ in range(3)]
    assert waits[:2] == [None, None] and 0 < waits[2] <= 60
    assert len(sent) == 3
    with counting_redis_round_trips() as sent:
        answers = [api_rate_limited(post(), group=WRITE) for _ in range(3)]
    assert answers[:2] == [None, None] and answers[2].status_code == 429
    assert len(sent) == 3


def test_with_redis_down_a_count_raises_and_every_limit_lets_the_request_through(settings, caplog):
    backend = use_cache(settings, OURS, f"redis://127.0.0.1:{free_port()}/0")
    assert isinstance(backend, RedisCache)
    with pytest.raises(redis.exceptions.ConnectionError):
        count_request(post(), group="g", rate="1/m")
    with pytest.raises(redis.exceptions.ConnectionError):  # as django-ratelimit's own
        get_usage(post(), group="g", key="ip", rate="1/m", increment=True)
    settings.EXPATDESK_API_WRITE_RATE = settings.EXPATDESK_RATE_HOLD = "1/m"
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert WriteThrottle().allow_request(Request(post()), None)
            assert over_limit(post(), group="hold") is None
            assert api_rate_limited(post(), group=WRITE) is None
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 6


# ---- availability versions (bookings/cache.py) --------------------------------------------------------------


def test_a_change_bumps_its_versions_in_one_round_trip(redis_cache):
    tuesday, wednesday = date(2026, 12, 1), date(2026, 12, 2)
    before = (version_token(location_id=7), version_token(location_id=7, day=tuesday))
    redis_cache.delete("availability-version:7:2026-12-02")  # a day never read (or evicted)
    _bump_if_read(location_id=7, days=[tuesday])  # the script loaded once per Redis server
    with counting_redis_round_trips() as sent:
        _bump_if_read(location_id=7, days=[tuesday, wednesday, tuesday])
    assert len(sent) == 1
    after = (version_token(location_id=7), version_token(location_id=7, day=tuesday))
    assert after[0] != before[0] and after[1] != before[1]
    assert redis_cache.get("availability-version:7:2026-12-02") is not None  # set where it was missing


def test_nothing_is_bumped_while_the_location_has_no_version(redis_cache):
    _bump_if_read(location_id=8, days=[date(2026, 12, 1)])
    _bump_if_read(location_id=8, days=None)
    assert (
        redis_cache.get_many(
            ["availability-version:8:any", "availability-version:8:all", "availability-version:8:2026-12-01"]
        )
        == {}
    )


def test_the_versions_bumped_in_one_script_are_those_djangos_cache_bumps(settings, redis_url):
    def bumped(backend_path: str) -> list[bool]:
        backend = use_cache(settings, backend_path, redis_url)
        backend.clear()
        days = [date(2026, 12, 1), date(2026, 12, 2)]
        before = [version_token(location_id=9), *(version_token(location_id=9, day=d) for d in days)]
        _bump_if_read(location_id=9, days=days[:1])
        _bump_if_read(location_id=9, days=None)
        after = [version_token(location_id=9), *(version_token(location_id=9, day=d) for d in days)]
        return [one != other for one, other in zip(before, after, strict=True)]

    assert bumped(OURS) == bumped(DJANGOS) == [True, True, True]


# ---- shared answers found through their alias (bookings/cache.py aliased) -----------------------------------


def test_a_shared_answer_is_found_through_its_alias_in_one_round_trip(redis_cache):
    for day in (None, date(2026, 12, 1)):
        shared_under_alias(f"alias:{day}", f"value:{day}", location_id=7, day=day, compute=lambda: b"the answer")
        aliased(f"alias:{day}")  # the script loaded once per Redis server
        with counting_redis_round_trips() as sent:
            assert aliased(f"alias:{day}") == b"the answer"
        assert len(sent) == 1


def test_an_alias_finds_on_redis_what_it_finds_in_two_round_trips_elsewhere(settings, redis_url):
    """Our backend reads the alias and what it names in one script; Django's (what the locmem cache of the
    embedded default does too) in a get and a get_many. The same answers either way: the value while it is of
    the current versions, and nothing once a version was bumped or evicted, the value evicted, or no alias."""

    def found(backend_path: str) -> list[object]:
        backend = use_cache(settings, backend_path, redis_url)
        backend.clear()
        tuesday = date(2026, 12, 1)
        answers = []
        for day in (None, tuesday):
            alias = f"alias:{day}"
            shared_under_alias(alias, f"value:{day}", location_id=7, day=day, compute=lambda day=day: f"answer {day}")
            answers.append(aliased(alias))
        _bump_if_read(location_id=7, days=[tuesday])
        answers += [aliased("alias:None"), aliased(f"alias:{tuesday}")]  # both changed: any day, and Tuesday
        for day in (None, tuesday):
            shared_under_alias(f"alias:{day}", f"value:{day}", location_id=7, day=day, compute=lambda: "again")
        backend.delete(f"availability-version:7:{tuesday}")  # evicted
        backend.delete("value:None")
        answers += [aliased("alias:None"), aliased(f"alias:{tuesday}"), aliased("alias:unknown")]
        backend.clear()
        return answers

    expected = ["answer None", "answer 2026-12-01", None, None, None, None, None]
    assert found(OURS) == found(DJANGOS) == expected


def test_an_alias_is_not_read_where_the_cache_is_down(redis_cache, settings, caplog):
    shared_under_alias("alias:x", "value:x", location_id=7, day=None, compute=lambda: "the answer")
    use_cache(settings, OURS, f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="bookings.cache"):
        assert aliased("alias:x") is None
    assert "Cache unavailable" in caplog.text
