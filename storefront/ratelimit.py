"""Rate-limit counters in Redis at one round trip per request.

Flask-Limiter's Redis storage costs three round trips per request: the increment, and then, for
the ``X-RateLimit-*`` headers, a ``GET`` of the counter and a ``TTL`` of its window. On a busy
product page those waits outweighed the database query. ``CountingRedisStorage`` is the same
storage (same keys, same Lua increment, same fallback to memory when Redis is down) whose
increment also returns the window's TTL; the headers of the same request are answered from that
reply. Registered with ``limits`` under the ``onec-sync+redis`` and ``onec-sync+rediss``
schemes (``storage_uri``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from limits.storage import RedisStorage

SCHEME_PREFIX = "onec-sync+"

# limits' incr_expire.lua, returning the window's remaining time as well.
_INCR_EXPIRE_TTL = b"""
local amount = tonumber(ARGV[2])
local current = redis.call("incrby", KEYS[1], amount)
if tonumber(current) == amount then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("pttl", KEYS[1])}
"""

# How long after its increment a request's counter answers for its headers.
_FRESH_SECONDS = 1.0


def storage_uri(redis_url: str) -> str:
    """The ``storage_uri`` for Flask-Limiter: ours for redis:// and rediss://, else as given."""
    if redis_url.startswith(("redis://", "rediss://")):
        return SCHEME_PREFIX + redis_url
    return redis_url


class CountingRedisStorage(RedisStorage):
    """``RedisStorage`` whose ``get``/``get_expiry`` right after an ``incr`` of the same key, in
    the same thread (one request), come from the increment's reply instead of Redis."""

    STORAGE_SCHEME = ["onec-sync+redis", "onec-sync+rediss"]  # noqa: RUF012 - limits' registry

    def __init__(self, uri: str, **options: Any) -> None:
        self._last = threading.local()
        super().__init__(uri.removeprefix(SCHEME_PREFIX), **options)

    def initialize_storage(self, _uri: str) -> None:
        super().initialize_storage(_uri)
        self.lua_incr_expire_ttl = self.get_connection().register_script(_INCR_EXPIRE_TTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        value, ttl_ms = self.lua_incr_expire_ttl([self.prefixed_key(key)], [expiry, amount])
        reset_at = time.time() + max(int(ttl_ms), 0) / 1000
        self._last.entry = (key, int(value), reset_at, time.monotonic())
        return int(value)

    def get(self, key: str) -> int:
        entry = self._fresh(key)
        return entry[1] if entry else super().get(key)

    def get_expiry(self, key: str) -> float:
        entry = self._fresh(key)
        return entry[2] if entry else super().get_expiry(key)

    def _fresh(self, key: str) -> tuple[str, int, float, float] | None:
        entry: tuple[str, int, float, float] | None = getattr(self._last, "entry", None)
        if entry is None or entry[0] != key or time.monotonic() - entry[3] > _FRESH_SECONDS:
            return None
        return entry
