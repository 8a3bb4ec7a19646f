"""The shared cache on Redis: Django's RedisCache, with one redis-py client per connection pool (issue 10).

Django's RedisCacheClient.get_client builds a new `redis.Redis` on every cache call (its constructor
dispatches events and builds a case-insensitive table of response callbacks: about 8% of a booking
worker's samples under load). Here each connection pool gets its client once, in the process (per
cache object: Django keeps one per thread), and every call reuses it: a redis-py client is thread-safe
over its pool, and after a fork the pool itself drops the parent's connections. What is stored, and how,
is Django's own (its serializer, keys, timeouts): only the client object is kept.

`bump_versions` increments a location's availability versions (bookings/cache.py) in one round trip too.

`count` adds to a counter that expires after `timeout`, in one round trip and one command (a Lua script:
INCR, and EXPIRE when it made the counter; Redis runs a script atomically), for the rate limits
(expatdesk/ratelimits.py count_request). A MULTI/EXEC pipeline of SET NX EX and INCR is one round trip too,
but four commands and replies for redis-py to build and parse: about a third more CPU a count.
"""

from __future__ import annotations

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

# The counter after adding one; a new counter gets its expiry (ARGV[1] seconds).
_COUNT_SCRIPT = """
local counted = redis.call('INCR', KEYS[1])
if counted == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return counted
"""


# Versions (bookings/cache.py): while KEYS[1] is there, every key is incremented, or set to ARGV[1] where it is
# missing; nothing while KEYS[1] is missing. 1 when bumped, else 0.
_BUMP_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCR', key) else redis.call('SET', key, ARGV[1]) end
end
return 1
"""


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, servers, **options) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, object] = {}  # id(pool) → its client; the pools live in self._pools
        self._count_script = None
        self._bump_script = None

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # Two threads sharing this object may both build one; either is as good, and one is kept.
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client

    def count(self, key, timeout: int | None) -> int:
        """The counter at `key` after adding one; a new counter starts at one and expires after `timeout`
        seconds (None: never)."""
        if timeout == 0:
            raise ValueError("A counter needs a timeout above zero, or None.")
        client = self.get_client(key, write=True)
        if timeout is None:
            return client.incr(key)
        if self._count_script is None:  # redis-py's Script: EVALSHA, loading the script once where it is missing
            self._count_script = client.register_script(_COUNT_SCRIPT)
        return self._count_script(keys=[key], args=[timeout], client=client)

    def bump(self, keys: list[str], fresh: int) -> bool:
        """`keys[0]` there: every key incremented, or set to `fresh` where missing (True); else nothing (False)."""
        client = self.get_client(keys[0], write=True)
        if self._bump_script is None:
            self._bump_script = client.register_script(_BUMP_SCRIPT)
        return bool(self._bump_script(keys=keys, args=[fresh], client=client))


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def count(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> int:
        """`add(key, 1, timeout)`, or else `incr(key)`, as one atomic command and one round trip."""
        key = self.make_and_validate_key(key, version=version)
        return self._cache.count(key, self.get_backend_timeout(timeout))

    def bump_versions(self, keys: list[str], *, fresh: int, version: int | None = None) -> bool:
        """While `keys[0]` is in the cache: `incr` each of `keys`, or `set` it to `fresh` where it is missing,
        in one round trip and atomically (bookings/cache.py, the versions of a location's free capacity).
        False, and nothing written, while `keys[0]` is missing. Django's own incr is two round trips a key
        (EXISTS, then INCRBY): a booking bumped four versions in nine round trips."""
        return self._cache.bump([self.make_and_validate_key(key, version=version) for key in keys], fresh)
