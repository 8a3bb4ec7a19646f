"""A cache backend that is down: every operation raises, as django-redis does when Redis is unreachable."""

from django.core.cache.backends.base import BaseCache


class UnreachableCache(BaseCache):
    def __init__(self, location, params):
        super().__init__(params)

    def _down(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    add = get = set = touch = delete = clear = incr = decr = has_key = _down
    get_many = set_many = delete_many = _down


UNREACHABLE = {"default": {"BACKEND": "tests.support.caches.UnreachableCache"}}
