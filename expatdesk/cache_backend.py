"""The shared cache on Redis: Django's RedisCache, with one redis-py client per connection pool (issue 10).

Django's RedisCacheClient.get_client builds a new `redis.Redis` on every cache call (its constructor
dispatches events and builds a case-insensitive table of response callbacks: about 8% of a booking
worker's samples under load). Here each connection pool gets its client once, in the process (per
cache object: Django keeps one per thread), and every call reuses it: a redis-py client is thread-safe
over its pool, and after a fork the pool itself drops the parent's connections. What is stored, and how,
is Django's own (its serializer, keys, timeouts): only the client object is kept.

`bump_versions` increments a location's availability versions (bookings/cache.py) in one round trip too, and
`get_through` reads the values an alias names (a shared answer and its versions, `set_alias`) in one round trip
where Django's `get` and `get_many` take two.

`count` adds to a counter that expires after `timeout`, in one round trip and one command (a Lua script:
INCR, and EXPIRE when it made the counter; Redis runs a script atomically), for the rate limits
(expatdesk/ratelimits.py count_request). A MULTI/EXEC pipeline of SET NX EX and INCR is one round trip too,
but four commands and replies for redis-py to build and parse: about a third more CPU a count.
"""

from __future__ import annotations

import json

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


# The values of the keys an alias names, in one round trip (bookings/cache.py `aliased`): the alias holds their full
# names as a JSON array; nil while the alias is missing, and a nil for each key that is. The names are not declared
# as KEYS, which a Redis Cluster would require; this cache runs on one Redis server (README, Production).
_THROUGH_SCRIPT = """
local names = redis.call('GET', KEYS[1])
if not names then return false end
return redis.call('MGET', unpack(cjson.decode(names)))
"""


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, servers, **options) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, object] = {}  # id(pool) → its client; the pools live in self._pools
        self._count_script = None
        self._bump_script = None
        self._through_script = None

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

    def set_names(self, key: str, names: list[str], timeout: int | None) -> None:
        """Store `names` (full keys) at `key`, for `through`; not a value Django's `get` can read."""
        if timeout == 0:
            raise ValueError("An alias needs a timeout above zero, or None.")
        self.get_client(key, write=True).set(key, json.dumps(names), ex=timeout)

    def through(self, key: str) -> list | None:
        """The values of the keys named at `key` (`set_names`), None for each one missing; None when `key` is."""
        client = self.get_client(key)
        if self._through_script is None:
            self._through_script = client.register_script(_THROUGH_SCRIPT)
        found = self._through_script(keys=[key], client=client)
        if found is None:
            return None
        return [None if value is None else self._serializer.loads(value) for value in found]


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

    def set_alias(self, key: str, names: list[str], timeout: float | None = DEFAULT_TIMEOUT) -> None:
        """Let `key` name the keys `names` for `get_through` (bookings/cache.py, the alias of a shared answer)."""
        self._cache.set_names(
            self.make_and_validate_key(key),
            [self.make_and_validate_key(name) for name in names],
            self.get_backend_timeout(timeout),
        )

    def get_through(self, key: str) -> list | None:
        """The values of the keys `key` names (`set_alias`), in their order and None where one is missing, in one
        round trip; None while `key` is missing."""
        return self._cache.through(self.make_and_validate_key(key))
