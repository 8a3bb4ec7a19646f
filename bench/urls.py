"""Baselines of the HTTP benchmark, mounted under /bench/ only when EXPATDESK_BENCHMARK_URLS is true
(expatdesk/urls.py): never in a production deployment.

- `/bench/json/`: a bare Django JSON view, through the same middleware as every page;
- `/bench/insert/`: a bare view that commits one INSERT into the benchmark's own table (bench/httpbench.py
  creates `bench_insert` in its throwaway database).
"""

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


def bare_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_insert (at) VALUES (now())")
    return JsonResponse({"status": "ok"}, status=201)


app_name = "bench"
urlpatterns = [
    path("json/", bare_json, name="json"),
    path("insert/", bare_insert, name="insert"),
]
