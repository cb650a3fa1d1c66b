"""Catalog-changed events: how the daemon tells the storefront API that a sync committed.

The storefront caches catalog responses in Redis under keys that carry a *generation* number.
``publish_catalog_changed`` bumps that number and announces it on ``CATALOG_CHANNEL``; API
workers subscribed to the channel drop their in-process caches at once, and every Redis entry of
the old generation stops being read, even by a worker that missed the message (workers also
re-read the number about once a second).

Call it after the sync's transaction has committed, never before: a reader that fills the cache
between the bump and the commit would store the old data under the new generation.

On PostgreSQL the bump also carries the primary's WAL position after the commit
(``CATALOG_POSITION_KEY``, the highest seen): the storefront reads the catalog from a streaming
replica only once the replica has replayed that far, so nothing older than the commit is cached
under the new generation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import redis
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

CATALOG_CHANNEL = "onec-sync:catalog-changed"
GENERATION_KEY = "onec-sync:catalog-generation"
# The primary's WAL position (bytes) after the last catalog commit announced, as a decimal number.
CATALOG_POSITION_KEY = "onec-sync:catalog-position"
# The same mechanism for credentials: API workers remember verified API keys only until a key
# is revoked somewhere (`onec-sync apikeys revoke`, the admin API).
CREDENTIALS_CHANNEL = "onec-sync:credentials-changed"
CREDENTIALS_GENERATION_KEY = "onec-sync:credentials-generation"

# A committed change event: wakes readers long-polling the change feed (the message is the
# feed's position at the commit, or empty when unknown).
CHANGES_CHANNEL = "onec-sync:changes"

# INCR, but a missing key (Redis restarted or evicted it) restarts from a time-based number so a
# new generation can never collide with entries cached under an old one.
_BUMP = """
local position = tonumber(ARGV[3] or '0')
if KEYS[3] and position > 0 then
    local known = tonumber(redis.call('GET', KEYS[3]) or '0')
    if position > known then
        redis.call('SET', KEYS[3], ARGV[3])
    else
        position = known
    end
end
local generation = redis.call('INCR', KEYS[1])
if generation == 1 then
    generation = tonumber(ARGV[1])
    redis.call('SET', KEYS[1], generation)
end
local message = string.format('%d', generation) .. ' ' .. ARGV[2]
if position > 0 then
    message = message .. ' ' .. string.format('%d', position)
end
redis.call('PUBLISH', KEYS[2], message)
return generation
"""


def generation_seed() -> int:
    """A generation number larger than any handed out before (microseconds since the epoch)."""
    return time.time_ns() // 1000


def publish_catalog_changed(
    redis_url: str,
    what: str | Iterable[str] = "catalog",
    *,
    position: int | None = None,
    timeout_seconds: float = 1.0,
) -> int | None:
    """Bump the catalog generation and announce it; return the new generation.

    ``what`` names what changed (``"prices"``, ``["products", "stock"]``, ...) for logs and
    subscribers; every change invalidates the whole catalog cache. ``position`` is the primary's
    WAL position after the commit (``wal_position``), for read replicas. Without Redis (empty URL)
    this does nothing. Never raises: if Redis is unreachable it logs a warning and returns None;
    the API then serves entries of the old generation until they expire
    (``storefront.cache_ttl_seconds``).
    """
    names = [what] if isinstance(what, str) else sorted(what)
    keys = (GENERATION_KEY, CATALOG_CHANNEL, CATALOG_POSITION_KEY)
    return _bump(redis_url, keys, ",".join(names), timeout_seconds, position or 0)


def wal_position(engine: Engine) -> int | None:
    """The primary's WAL write position in bytes (PostgreSQL), None elsewhere or on error.

    Read after a commit returns, it is at or past that commit's record (the commit was written
    and flushed first), so a replica that has replayed this far sees the commit.
    """
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.connect() as connection:
            value = connection.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
            return int(value.scalar_one())
    except DBAPIError as exc:  # on a standby, or the primary went away: replicas read by lag
        log.warning("could not read the WAL position for read replicas: %s", exc)
        return None


class CatalogNotifier:
    """Publishes catalog changes after commits: at once, then at most every ``interval`` seconds
    while a sync keeps committing, and whatever is left on ``flush()``.

    Safe to call from the import's writer thread; without Redis it does nothing.
    """

    def __init__(
        self, redis_url: str, *, interval: float = 0.5, engine: Engine | None = None
    ) -> None:
        self.redis_url = redis_url
        self.interval = interval
        self.engine = engine  # the primary, to announce its WAL position (read replicas)
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
        position = wal_position(self.engine) if self.engine is not None else None
        publish_catalog_changed(self.redis_url, pending, position=position)


def publish_credentials_changed(redis_url: str, *, timeout_seconds: float = 1.0) -> int | None:
    """Tell API workers to forget the API keys they verified (call after a revocation commits).

    Never raises; without Redis there is nothing to tell (workers then check every key in the
    database on every request).
    """
    keys = (CREDENTIALS_GENERATION_KEY, CREDENTIALS_CHANNEL)
    return _bump(redis_url, keys, "revoked", timeout_seconds, 0)


def publish_changes_committed(redis_url: str, *, timeout_seconds: float = 1.0) -> None:
    """Wake the API's long-polling feed readers: change events committed (call after the
    commit). Never raises; without Redis readers find the events by polling the database."""
    if not redis_url:
        return
    client = redis.Redis.from_url(
        redis_url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )
    try:
        client.publish(CHANGES_CHANNEL, b"")
    except redis.RedisError as exc:
        log.warning("could not publish on %s: %s", CHANGES_CHANNEL, exc)
    finally:
        client.close()


def _bump(
    redis_url: str, keys: tuple[str, ...], what: str, timeout: float, position: int
) -> int | None:
    if not redis_url:
        return None
    client = redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        result = client.eval(_BUMP, len(keys), *keys, generation_seed(), what, position)
    except redis.RedisError as exc:
        log.warning("could not publish %s on %s: %s", what, keys[1], exc)
        return None
    finally:
        client.close()
    return int(result)


def parse_message(data: bytes | str) -> int | None:
    """The generation announced by a ``CATALOG_CHANNEL`` message, or None if it is not one."""
    return parse_announcement(data)[0]


def parse_announcement(data: bytes | str) -> tuple[int | None, int | None]:
    """The generation and the WAL position (None where absent) a ``CATALOG_CHANNEL`` message
    announces: ``"<generation> <what>[ <position>]"``."""
    words = (data.decode("utf-8", "replace") if isinstance(data, bytes) else data).split(" ")
    generation = int(words[0]) if words[0].isdigit() else None
    position = int(words[2]) if len(words) > 2 and words[2].isdigit() else None
    return generation, position
