"""Counting wrappers: how many calls a request makes to the default cache, and how many round trips
to Redis (commands written to a connection; a pipeline's are written at once: one round trip)."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.core.cache import caches

CALLS = ("get", "get_many", "set", "set_many", "add", "incr", "delete", "delete_many", "touch", "has_key")


@contextmanager
def counting_cache_calls():
    """Yields the list of (method, first argument) of every call to the default cache meanwhile."""
    backend = caches["default"]
    calls: list[tuple[str, object]] = []
    originals = {name: getattr(backend, name) for name in CALLS}
    inside = threading.local()

    def wrap(name, original):
        def counted(*args, **kwargs):
            if getattr(inside, "depth", 0):  # e.g. LocMemCache.get_many calls get: one round trip on Redis
                return original(*args, **kwargs)
            calls.append((name, args[0] if args else None))
            inside.depth = 1
            try:
                return original(*args, **kwargs)
            finally:
                inside.depth = 0

        return counted

    for name, original in originals.items():
        setattr(backend, name, wrap(name, original))
    try:
        yield calls
    finally:
        for name in originals:
            delattr(backend, name)  # back to the class's methods


@contextmanager
def counting_redis_round_trips():
    """Yields the list of what redis-py writes to its connections meanwhile, one entry per round trip."""
    import redis.connection

    sent: list[object] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted
    try:
        yield sent
    finally:
        redis.connection.AbstractConnection.send_packed_command = original
