"""A Redis client behind a circuit breaker: a dead Redis costs one timeout, then nothing.

After a failure the circuit stays open for ``cooldown_seconds``: calls raise ``RedisUnavailable``
at once without touching the network, then one call is let through to try again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from storefront.errors import RedisUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisLink:
    def __init__(self, url: str, *, timeout_seconds: float, cooldown_seconds: float = 5.0) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self.cooldown_seconds = cooldown_seconds
        self._client: redis.Redis | None = None
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.url)

    @property
    def available(self) -> bool:
        """True when Redis is configured and its circuit is closed (or due for a retry)."""
        return self.configured and time.monotonic() >= self._open_until

    def run(self, operation: Callable[[redis.Redis], T]) -> T:
        """``operation(client)``; raises ``RedisUnavailable`` if Redis is down or off."""
        if not self.available:
            raise RedisUnavailable("Redis is not configured or recently failed")
        try:
            return operation(self._get_client())
        except redis.RedisError as exc:
            self._trip(exc)
            raise RedisUnavailable(str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _get_client(self) -> redis.Redis:
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(
                    self.url,
                    socket_timeout=self.timeout_seconds,
                    socket_connect_timeout=self.timeout_seconds,
                    retry=Retry(NoBackoff(), 0),  # the breaker decides; no hidden retries
                )
            return self._client

    def _trip(self, exc: Exception) -> None:
        if time.monotonic() >= self._open_until:
            log.warning(
                "Redis failed (%s); serving without it for %.0fs", exc, self.cooldown_seconds
            )
        self._open_until = time.monotonic() + self.cooldown_seconds
