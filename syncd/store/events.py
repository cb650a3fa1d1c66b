"""Catalog-changed events: how the daemon tells the storefront API that a sync committed.

The storefront caches catalog responses in Redis under keys that carry a *generation* number.
``publish_catalog_changed`` bumps that number and announces it on ``CATALOG_CHANNEL``; API
workers subscribed to the channel drop their in-process caches at once, and every Redis entry of
the old generation stops being read, even by a worker that missed the message (workers also
re-read the number about once a second).

Call it after the sync's transaction has committed, never before: a reader that fills the cache
between the bump and the commit would store the old data under the new generation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import redis

log = logging.getLogger(__name__)

CATALOG_CHANNEL = "onec-sync:catalog-changed"
GENERATION_KEY = "onec-sync:catalog-generation"
# The same mechanism for credentials: API workers remember verified API keys only until a key
# is revoked somewhere (`onec-sync apikeys revoke`, the admin API).
CREDENTIALS_CHANNEL = "onec-sync:credentials-changed"
CREDENTIALS_GENERATION_KEY = "onec-sync:credentials-generation"

# INCR, but a missing key (Redis restarted or evicted it) restarts from a time-based number so a
# new generation can never collide with entries cached under an old one.
_BUMP = """
local generation = redis.call('INCR', KEYS[1])
if generation == 1 then
    generation = tonumber(ARGV[1])
    redis.call('SET', KEYS[1], generation)
end
redis.call('PUBLISH', KEYS[2], string.format('%d', generation) .. ' ' .. ARGV[2])
return generation
"""


def generation_seed() -> int:
    """A generation number larger than any handed out before (microseconds since the epoch)."""
    return time.time_ns() // 1000


def publish_catalog_changed(
    redis_url: str, what: str | Iterable[str] = "catalog", *, timeout_seconds: float = 1.0
) -> int | None:
    """Bump the catalog generation and announce it; return the new generation.

    ``what`` names what changed (``"prices"``, ``["products", "stock"]``, ...) for logs and
    subscribers; every change invalidates the whole catalog cache. Without Redis (empty URL) this
    does nothing. Never raises: if Redis is unreachable it logs a warning and returns None; the API
    then serves entries of the old generation until they expire (``storefront.cache_ttl_seconds``).
    """
    names = [what] if isinstance(what, str) else sorted(what)
    return _bump(redis_url, GENERATION_KEY, CATALOG_CHANNEL, ",".join(names), timeout_seconds)


class CatalogNotifier:
    """Publishes catalog changes after commits: at once, then at most every ``interval`` seconds
    while a sync keeps committing, and whatever is left on ``flush()``.

    Safe to call from the import's writer thread; without Redis it does nothing.
    """

    def __init__(self, redis_url: str, *, interval: float = 0.5) -> None:
        self.redis_url = redis_url
        self.interval = interval
        self._pending: set[str] = set()
        self._last = 0.0
        self._lock = threading.Lock()

    def committed(self, tables: Iterable[str]) -> None:
        """Rows of ``tables`` were committed; tell the API now unless it was told just before."""
        if not self.redis_url:
            return
        with self._lock:
            self._pending.update(tables)
            if time.monotonic() - self._last < self.interval:
                return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, set()
            if not pending:
                return
            self._last = time.monotonic()
        publish_catalog_changed(self.redis_url, pending)


def publish_credentials_changed(redis_url: str, *, timeout_seconds: float = 1.0) -> int | None:
    """Tell API workers to forget the API keys they verified (call after a revocation commits).

    Never raises; without Redis there is nothing to tell (workers then check every key in the
    database on every request).
    """
    return _bump(
        redis_url, CREDENTIALS_GENERATION_KEY, CREDENTIALS_CHANNEL, "revoked", timeout_seconds
    )


def _bump(redis_url: str, key: str, channel: str, what: str, timeout: float) -> int | None:
    if not redis_url:
        return None
    client = redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        result = client.eval(_BUMP, 2, key, channel, generation_seed(), what)
    except redis.RedisError as exc:
        log.warning("could not publish %s on %s: %s", what, channel, exc)
        return None
    finally:
        client.close()
    return int(result)


def parse_message(data: bytes | str) -> int | None:
    """The generation announced by a ``CATALOG_CHANNEL`` message, or None if it is not one."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    head = text.split(" ", 1)[0]
    return int(head) if head.isdigit() else None
