"""A Redis client behind a circuit breaker: a dead Redis costs one timeout, then nothing.

After a failure the circuit stays open for ``cooldown_seconds``: calls raise ``RedisUnavailable``
at once without touching the network, then one call is let through to try again.
"""

from __future__ import annotations

import logging
import os
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


class Subscription:
    """One thread per process subscribed to a Redis pub/sub ``channel``: ``on_subscribed()``
    after every (re)subscription (messages may have been missed meanwhile), ``on_message(data)``
    for each message. It reconnects with backoff; ``start`` starts it in the calling process if
    it is not running there yet (threads do not survive fork(): each gunicorn worker starts its
    own on first use)."""

    def __init__(
        self,
        link: RedisLink,
        channel: str,
        *,
        on_message: Callable[[bytes], None],
        on_subscribed: Callable[[], None],
        name: str,
    ) -> None:
        self.link = link
        self.channel = channel
        self.on_message = on_message
        self.on_subscribed = on_subscribed
        self.name = name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._listening = False

    @property
    def listening(self) -> bool:
        """True while this process is subscribed."""
        return self._listening and self._thread_pid == os.getpid()

    def start(self) -> None:
        if not self.link.configured or self._thread_pid == os.getpid() or self._stop.is_set():
            return
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            self._thread = threading.Thread(target=self._listen, name=self.name, daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=3)

    def _listen(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._listen_once()
                backoff = 0.5
            except redis.RedisError as exc:
                log.info("subscription to %s lost (%s); retrying", self.channel, exc)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _listen_once(self) -> None:
        client = redis.Redis.from_url(
            self.link.url,
            socket_connect_timeout=self.link.timeout_seconds,
            socket_timeout=None,
            health_check_interval=5,
            retry=Retry(NoBackoff(), 0),
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call,unused-ignore]
        try:
            pubsub.subscribe(self.channel)
            pubsub.get_message(timeout=self.link.timeout_seconds)  # the subscribe confirmation
            self._listening = True
            self.on_subscribed()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    self.on_message(message["data"])
        finally:
            self._listening = False
            pubsub.close()
            client.close()
