"""In-process timing of /api/v1/'s rate-limit check (api/v1/throttles.py WriteThrottle) against Redis.

    REDIS_URL=redis://127.0.0.1:6379/<n> .venv/bin/python bench/throttle_checks.py [--checks 10000]
        [--backend django.core.cache.backends.redis.RedisCache]

Runs `--checks` throttle checks of one client address in this process, against the cache of REDIS_URL
(the base settings' CACHES, or --backend), and prints the microseconds per check (wall clock, and this
process's CPU) and the Redis round trips per check (writes to a connection: a pipeline is one). The
limit is raised so that every check is allowed. It writes only rate-limit keys (prefix `expatdesk-bench-throttle`),
which expire within a minute; point REDIS_URL at a Redis database of your own.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--backend", default="", help="cache BACKEND instead of the settings' own")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        parser.error("set REDIS_URL to a Redis database of your own")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expatdesk.settings.base")
    os.environ["EXPATDESK_API_WRITE_RATE"] = "1000000000/m"

    import django
    from django.conf import settings

    django.setup()
    if args.backend:
        settings.CACHES["default"]["BACKEND"] = args.backend
    settings.CACHES["default"]["KEY_PREFIX"] = "expatdesk-bench-throttle"

    import redis.connection
    from django.test import RequestFactory
    from rest_framework.request import Request

    from api.v1.throttles import WriteThrottle

    sent = [0]
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent[0] += 1
        return original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted

    request = Request(RequestFactory().post("/api/v1/holds/", REMOTE_ADDR="192.0.2.10"))
    throttle = WriteThrottle()
    for _ in range(100):  # connect, warm up
        assert throttle.allow_request(request, None)
    sent[0] = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.checks):
        throttle.allow_request(request, None)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"{settings.CACHES['default']['BACKEND']}: {args.checks} checks, {elapsed / args.checks * 1e6:.1f} µs "
        f"per check ({cpu / args.checks * 1e6:.1f} µs of this process's CPU), "
        f"{sent[0] / args.checks:.2f} round trips per check"
    )


if __name__ == "__main__":
    main()
