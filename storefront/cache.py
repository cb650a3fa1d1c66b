"""The catalog response cache: Redis, with a small in-process LRU in front of it.

Entries are keyed by the catalog *generation* (see ``syncd.store.events``) and the request. A sync that
commits bumps the generation, so no entry cached before it is ever read again, even by a worker
that missed the pub/sub message; workers re-read the generation at most ``refresh_seconds``
apart and at once when the message arrives. A price changed by a sync is therefore served within
about a second of the commit, usually within milliseconds.

When Redis is down (or not configured) nothing is cached and every request reads the database:
without invalidation events an in-process cache could serve stale prices.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import redis

from storefront.errors import RedisUnavailable
from storefront.redis_link import RedisLink, Subscription
from syncd.store.events import (
    CATALOG_CHANNEL,
    CATALOG_POSITION_KEY,
    GENERATION_KEY,
    generation_seed,
    parse_announcement,
)

log = logging.getLogger(__name__)

GZIP_MIN_BYTES = 500
_KEY_PREFIX = "onec-sync:resp:"


@dataclass(frozen=True, slots=True)
class CachedBody:
    """A JSON body ready to send: raw, gzipped (when worth it) and its weak ETag value."""

    body: bytes
    gzipped: bytes | None
    etag: str  # the opaque part, without W/"..."

    @classmethod
    def from_body(cls, body: bytes, *, compress: bool = True) -> CachedBody:
        worth_it = compress and len(body) >= GZIP_MIN_BYTES
        gzipped = gzip.compress(body, 6, mtime=0) if worth_it else None
        return cls(body, gzipped, hashlib.blake2b(body, digest_size=12).hexdigest())

    def to_redis(self) -> bytes:
        payload = self.gzipped if self.gzipped is not None else self.body
        flag = b"z" if self.gzipped is not None else b"r"
        return self.etag.encode() + b"\n" + flag + payload

    @classmethod
    def from_redis(cls, raw: bytes) -> CachedBody:
        etag, _, rest = raw.partition(b"\n")
        flag, payload = rest[:1], rest[1:]
        if flag == b"z":
            return cls(gzip.decompress(payload), payload, etag.decode())
        return cls(payload, None, etag.decode())


class LocalCache:
    """A thread-safe LRU of at most ``max_entries`` bodies."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, str], CachedBody] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str]) -> CachedBody | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[int, str], entry: CachedBody) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def drop_older_than(self, generation: int) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] < generation]:
                del self._entries[key]


class Generations:
    """The current generation under ``key`` (default: the catalog's), kept fresh by a thread
    subscribed to ``channel`` and a periodic re-read.

    For the catalog it also keeps the primary's WAL position announced with the generation
    (``position``): read replicas must have replayed that far before they serve a read.
    """

    def __init__(
        self,
        link: RedisLink,
        local: LocalCache | None,
        *,
        key: str = GENERATION_KEY,
        channel: str = CATALOG_CHANNEL,
        position_key: str | None = CATALOG_POSITION_KEY,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.link = link
        self.local = local
        self.key = key
        self.channel = channel
        self.position_key = position_key
        self.refresh_seconds = refresh_seconds
        self._value: int | None = None
        self._position: int | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._subscription = Subscription(
            link, channel, on_message=self._announced, on_subscribed=self._subscribed,
            name=f"onec-sync-events {channel}",
        )  # fmt: skip

    @property
    def listening(self) -> bool:
        """True while this process is subscribed to catalog-changed events."""
        return self._subscription.listening

    def current(self) -> int:
        """The generation to read and write entries under; raises ``RedisUnavailable``."""
        self._subscription.start()
        value = self._value
        # Only a live subscription makes a remembered generation trustworthy; without one, ask
        # Redis every time (a dead Redis then fails fast through the breaker).
        fresh = time.monotonic() - self._checked_at < self.refresh_seconds
        if value is not None and fresh and self.listening:
            return value
        value, position = self.link.run(
            lambda client: _read_or_seed_generation(client, self.key, self.position_key)
        )
        self._advance(value, position)
        return value

    @property
    def position(self) -> int | None:
        """The WAL position announced with the current generation, while that generation is
        trustworthy (subscribed, or read from Redis within ``refresh_seconds``); None when it is
        unknown (no sync announced one since Redis started, or Redis is unreachable)."""
        recent = time.monotonic() - self._checked_at < self.refresh_seconds
        return self._position if self.listening or recent else None

    def close(self) -> None:
        self._subscription.close()

    def _advance(self, value: int, position: int | None = None) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            if position is not None and (self._position is None or position > self._position):
                self._position = position
            if self._value is not None and value <= self._value:
                return
            self._value = value
        if self.local is not None:
            self.local.drop_older_than(value)

    def _subscribed(self) -> None:
        self._checked_at = 0.0  # re-read after (re)subscribing: messages may have been missed

    def _announced(self, data: bytes) -> None:
        generation, position = parse_announcement(data)
        if generation is not None:
            self._advance(generation, position)


def _read_or_seed_generation(
    client: redis.Redis, key: str, position_key: str | None
) -> tuple[int, int | None]:
    raw, position = client.mget([key, position_key]) if position_key else (client.get(key), None)
    if raw is None:
        client.set(key, generation_seed(), nx=True)
        raw = client.get(key)
    return int(raw or 0), int(position) if position else None


class ResponseCache:
    """``get(key)`` / ``put(key, generation, entry)``; a no-op when Redis is off or down."""

    def __init__(self, link: RedisLink, *, ttl_seconds: int, local_entries: int = 1024) -> None:
        self.link = link
        self.ttl_seconds = ttl_seconds
        self.local = LocalCache(local_entries)
        self.generations = Generations(link, self.local)

    @property
    def enabled(self) -> bool:
        return self.link.configured and self.ttl_seconds > 0

    def get(self, key: str) -> tuple[CachedBody | None, int | None]:
        """The cached entry (or None) and the generation to store a fresh one under.

        The generation is None when caching is off or Redis is down: do not store then.
        """
        if not self.enabled:
            return None, None
        try:
            generation = self.generations.current()
            entry = self.local.get((generation, key))
            if entry is not None:
                return entry, generation
            raw = self.link.run(lambda client: client.get(_redis_key(generation, key)))
        except RedisUnavailable:
            return None, None
        if raw is None:
            return None, generation
        entry = CachedBody.from_redis(raw if isinstance(raw, bytes) else raw.encode())
        self.local.put((generation, key), entry)
        return entry, generation

    def put(self, key: str, generation: int | None, entry: CachedBody) -> None:
        if generation is None:
            return
        self.local.put((generation, key), entry)
        with contextlib.suppress(RedisUnavailable):
            self.link.run(
                lambda client: client.set(
                    _redis_key(generation, key), entry.to_redis(), ex=self.ttl_seconds
                )
            )

    def commit_position(self) -> int | None:
        """The primary's WAL position of the last catalog commit announced, when known (see
        ``Generations.position``); None when caching is off or Redis cannot tell."""
        return self.generations.position if self.enabled else None

    def close(self) -> None:
        self.generations.close()
        self.link.close()


def _redis_key(generation: int, key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f"{_KEY_PREFIX}{generation}:{digest}"
