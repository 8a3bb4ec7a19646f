"""Shared answers of the read-only APIs (api/caching.py): a cached answer costs no query and at most two
cache round trips, is not rate counted, is computed by one process at a time, and can be read by a
browser from any origin (CORS)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from api import caching
from api.ind_keys import SlotRef, read_slot_key, slot_key
from bookings.cache import bump_availability
from services.models import Service
from tests.support.cache_calls import counting_cache_calls
from tests.support.factories import make_desk

V1 = "/api/v1"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def maastricht(db):
    return make_desk(
        services=list(Service.objects.all()), short_code="MAA", ind_desk_key="6c5280823686521552efe85094e607cf"
    )


def ind_slots(persons: int = 1, desk: str = "MAA", product: str = "BIO") -> str:
    return f"/oap/api/desks/{desk}/slots/?productKey={product}&persons={persons}"


def v1_urls(desk, service) -> list[str]:
    day = (timezone.now() + timedelta(days=2)).astimezone(desk.tz).date()
    base = f"{V1}/locations/{desk.short_code}/services/{service.code}"
    return [f"{base}/free-days/?persons=2", f"{base}/free-times/?date={day.isoformat()}&persons=1"]


def round_trips(calls) -> int:
    return len(calls)


@pytest.mark.parametrize("which", ["ind", "v1-days", "v1-times"])
def test_a_cache_hit_costs_no_query_and_at_most_two_cache_round_trips(
    client, maastricht, which, django_assert_num_queries
):
    bio = Service.objects.get(ind_product_key="BIO")
    url = {"ind": ind_slots(), "v1-days": v1_urls(maastricht, bio)[0], "v1-times": v1_urls(maastricht, bio)[1]}[which]
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0), counting_cache_calls() as calls:
        again = client.get(url)
    assert again.status_code == 200 and again.content == first.content and again["ETag"] == first["ETag"]
    # One get (the request's alias) and one get_many (the versions and the answer); no rate counter.
    assert [name for name, _key in calls] == ["get", "get_many"], calls


def test_an_ind_checkers_polling_cycle_is_answered_not_refused(client, maastricht, settings):
    """About 200 cached slot requests in 45 seconds from one address, at the default limits."""
    settings.EXPATDESK_API_POLL_RATE = django_settings.EXPATDESK_API_POLL_RATE
    answers = [client.get(ind_slots(persons=1 + index % 3)).status_code for index in range(200)]
    assert answers == [200] * 200


def test_only_computed_answers_are_counted_and_holds_stay_strictly_limited(client, maastricht, settings):
    settings.EXPATDESK_API_POLL_RATE = "2/m"
    settings.EXPATDESK_API_WRITE_RATE = "1/m"
    assert client.get(ind_slots(persons=1)).status_code == 200
    assert client.get(ind_slots(persons=2)).status_code == 200
    for _ in range(20):
        assert client.get(ind_slots(persons=1)).status_code == 200  # cached
    assert client.get(ind_slots(persons=3)).status_code == 429  # a third computation within the minute
    key = json.loads(client.get(ind_slots(persons=1)).content.decode().removeprefix(")]}',"))["data"][0]["key"]
    assert read_slot_key(key) is not None  # the hold path is counted on every request
    url = f"/oap/api/desks/MAA/slots/{key}"
    first = client.post(url, b"{}", content_type="application/json")
    second = client.post(url, b"{}", content_type="application/json")
    assert first.status_code != 429 and second.status_code == 429


def test_a_bump_drops_the_cached_answer(client, maastricht, django_assert_num_queries):
    first = client.get(ind_slots())
    bump_availability(location_id=maastricht.pk, days=None)
    with django_assert_num_queries(2):  # the desk, its product and the configuration's version; the claims
        assert client.get(ind_slots()).content == first.content


# ---- single-flight -----------------------------------------------------------------------------------------


def run_together(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return results


def test_on_a_miss_one_computes_and_the_others_wait_for_its_answer():
    computed = []

    def compute() -> bytes:
        computed.append(threading.get_ident())
        time.sleep(0.3)
        return b"the answer"

    question = caching.Question(name="test", alias=("X", 1))
    results = run_together(8, lambda: caching.answer(question, location_id=99, parts=(1,), compute=compute).body)
    assert results == [b"the answer"] * 8
    assert len(computed) == 1


def test_after_a_change_the_others_serve_the_previous_answer_while_one_computes():
    question = caching.Question(name="test", alias=("X", 2))
    caching.answer(question, location_id=98, parts=(2,), compute=lambda: b"before")
    bump_availability(location_id=98, days=None)
    computed = []

    def compute() -> bytes:
        computed.append(1)
        time.sleep(0.3)
        return b"after"

    results = run_together(6, lambda: caching.answer(question, location_id=98, parts=(2,), compute=compute).body)
    assert len(computed) == 1
    assert sorted(results) == [b"after"] + [b"before"] * 5
    assert caching.answer(question, location_id=98, parts=(2,), compute=lambda: b"never").body == b"after"


def test_a_naive_cache_lets_every_worker_compute_the_same_answer():
    """The twin without the lock: what single-flight prevents."""
    computed = []

    def naive() -> bytes:
        found = cache.get("naive")
        if found is None:
            computed.append(1)
            time.sleep(0.3)
            found = b"answer"
            cache.set("naive", found)
        return found

    run_together(6, naive)
    assert len(computed) == 6


# ---- slot keys ---------------------------------------------------------------------------------------------


def test_slot_keys_are_cheap_stable_and_unforgeable(settings):
    start = timezone.now().replace(second=0, microsecond=0)
    ref = SlotRef(location_id=3, service_id=4, start=start, persons=2)
    key = slot_key(ref)
    assert key == slot_key(ref) and len(key) < 60
    assert read_slot_key(key) == ref
    held = SlotRef(location_id=3, service_id=4, start=start, persons=2, hold_id=77)
    assert read_slot_key(slot_key(held)) == held
    payload, _dot, mac = key.rpartition(".")
    for forged in (
        f"{payload[:-1]}{'1' if payload[-1] != '1' else '2'}.{mac}",  # another number of persons
        f"{payload}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        f"{payload}.5.{mac}",  # a hold id added
        payload,
        "",
    ):
        assert read_slot_key(forged) is None
    settings.SECRET_KEY = "another-secret-key-0123456789-0123456789-0123456789"
    assert read_slot_key(key) is None  # made with another secret


def test_keys_given_out_in_the_signer_format_are_still_read():
    from django.core import signing

    start = timezone.now().replace(second=0, microsecond=0)
    old = signing.Signer(salt="expatdesk.api.ind.slot").sign_object([3, 4, int(start.timestamp()), 2])
    assert read_slot_key(old) == SlotRef(location_id=3, service_id=4, start=start, persons=2)
    assert read_slot_key(old[:-2] + "xx") is None


# ---- CORS --------------------------------------------------------------------------------------------------


def cors_urls(desk) -> list[str]:
    bio = Service.objects.get(ind_product_key="BIO")
    return ["/oap/api/desks/?productKey=BIO", ind_slots(), *v1_urls(desk, bio)]


def test_read_only_endpoints_let_any_origin_read_them_without_credentials(maastricht):
    browser = Client(HTTP_ORIGIN="https://checker.example")
    for url in cors_urls(maastricht):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "GET" in response["Access-Control-Allow-Methods"]
        assert "ETag" in response["Access-Control-Expose-Headers"]
        assert "Access-Control-Allow-Credentials" not in response
    # An error of such an endpoint is readable too (the client sees why).
    assert browser.get(ind_slots(desk="NOPE"))["Access-Control-Allow-Origin"] == "*"


def test_a_preflight_is_answered_for_get_only(maastricht):
    browser = Client(HTTP_ORIGIN="https://checker.example")
    for url in cors_urls(maastricht):
        response = browser.options(
            url, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET", HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match"
        )
        assert response.status_code == 204, url
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response["Access-Control-Allow-Methods"] == "GET, OPTIONS"
        assert "If-None-Match" in response["Access-Control-Allow-Headers"]
        assert int(response["Access-Control-Max-Age"]) > 0
        assert "Access-Control-Allow-Credentials" not in response


def test_holds_and_bookings_send_no_cors_headers(client, maastricht):
    for url in ("/oap/api/desks/MAA/appointments", f"{V1}/holds/", f"{V1}/bookings/"):
        response = client.post(url, b"{}", content_type="application/json", HTTP_ORIGIN="https://checker.example")
        assert "Access-Control-Allow-Origin" not in response, url


@pytest.mark.parametrize("which", ["ind", "v1-days", "v1-times"])
def test_a_cache_hit_is_answered_before_the_session_language_and_view_machinery(client, maastricht, which, monkeypatch):
    """api/middleware.py: a fresh shared answer is served before the rest of the stack — the view is not
    called (made to fail here), no session is read or started — with the headers the view gives it."""
    bio = Service.objects.get(ind_product_key="BIO")
    url = {"ind": ind_slots(), "v1-days": v1_urls(maastricht, bio)[0], "v1-times": v1_urls(maastricht, bio)[1]}[which]
    first = client.get(url, HTTP_ORIGIN="https://example.org")
    assert first.status_code == 200

    def no_view(*args, **kwargs):
        raise AssertionError("the view was called for a cached answer")

    monkeypatch.setattr("django.core.handlers.base.BaseHandler._get_response", no_view)
    again = client.get(url, HTTP_ORIGIN="https://example.org")
    assert again.status_code == 200 and again.content == first.content
    for header in ("ETag", "Cache-Control", "Access-Control-Allow-Origin", "Content-Type", "X-Frame-Options"):
        assert again[header] == first[header], header
    assert "Content-Security-Policy" in again  # the security middleware before it still apply
    assert not again.cookies and "Cookie" not in again.get("Vary", "")
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert not_modified.status_code == 304 and not_modified["ETag"] == first["ETag"]


def test_a_miss_and_every_other_request_go_on_to_the_view(client, maastricht):
    bio = Service.objects.get(ind_product_key="BIO")
    days = v1_urls(maastricht, bio)[0]
    assert client.get(days).status_code == 200  # a miss: the view computes
    assert client.post(days).status_code == 405  # not a GET: the view answers
    assert client.get(f"{V1}/locations/NOPE/services/{bio.code}/free-days/").status_code == 404
