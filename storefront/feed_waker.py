"""Wakes long-polling change-feed requests (``GET /changes?wait=``) when events commit.

Whatever appends change events announces the commit on ``CHANGES_CHANNEL`` (Redis pub/sub,
``syncd.store.events``); one thread per API process listens and wakes every waiting request at
once, which then reads the database again. Without Redis (not configured, down, or a message
missed) a waiting request looks at the database every ``poll_seconds`` instead, and every
``recheck_seconds`` even while subscribed: a writer without Redis is still heard.
"""

from __future__ import annotations

import logging
import os
import threading

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

from storefront.errors import RedisUnavailable
from storefront.redis_link import RedisLink
from syncd.store.events import CHANGES_CHANNEL

log = logging.getLogger(__name__)
FEED_WAKER_EXTENSION = "onec_sync_feed_waker"


def feed_waker() -> FeedWaker:
    """The app's waker (``create_app``)."""
    found: FeedWaker = current_app.extensions[FEED_WAKER_EXTENSION]
    return found


class FeedWaker:
    def __init__(
        self, link: RedisLink, *, poll_seconds: float = 0.2, recheck_seconds: float = 1.0
    ) -> None:
        self.link = link
        self.poll_seconds = poll_seconds
        self.recheck_seconds = recheck_seconds
        self._announced = 0  # announcements heard so far
        self._waiting = 0  # requests in ``wait`` now
        self._condition = threading.Condition()
        self._stop = threading.Event()
        self._thread_pid = 0
        self._listening = False

    @property
    def listening(self) -> bool:
        """True while this process is subscribed to the announcements."""
        return self._listening and self._thread_pid == os.getpid()

    @property
    def waiting(self) -> int:
        """How many requests of this process wait for an announcement now."""
        return self._waiting

    @property
    def heard(self) -> int:
        """Announcements (and subscriptions) this process has heard so far."""
        return self._announced

    def mark(self) -> int:
        """Call before reading the feed; pass the result to ``wait``: an announcement that
        arrives between the read and the wait is not missed."""
        self._ensure_listener()
        return self._announced

    def wait(self, mark: int, timeout: float) -> None:
        """Block until an announcement newer than ``mark``, the next database look, or
        ``timeout`` seconds, whichever comes first."""
        limit = min(timeout, self.recheck_seconds if self.listening else self.poll_seconds)
        with self._condition:
            self._waiting += 1
            try:
                self._condition.wait_for(lambda: self._announced != mark, max(limit, 0.0))
            finally:
                self._waiting -= 1

    def announce(self) -> None:
        """Tell every API process that events committed (after the commit); never raises."""
        if not self.link.configured:
            return
        try:
            self.link.run(lambda client: client.publish(CHANGES_CHANNEL, b""))
        except RedisUnavailable as exc:  # readers find the events by polling instead
            log.debug("change feed announcement not sent: %s", exc)

    def close(self) -> None:
        self._stop.set()

    def _heard(self) -> None:
        with self._condition:
            self._announced += 1
            self._condition.notify_all()

    def _ensure_listener(self) -> None:
        # Threads do not survive fork(): a gunicorn worker starts its own on first use.
        if not self.link.configured or self._thread_pid == os.getpid() or self._stop.is_set():
            return
        with self._condition:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            thread = threading.Thread(target=self._listen, name="onec-sync-feed", daemon=True)
            thread.start()

    def _listen(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._listen_once()
                backoff = 0.5
            except redis.RedisError as exc:
                log.info("change feed subscription lost (%s); retrying", exc)
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
            pubsub.subscribe(CHANGES_CHANNEL)
            pubsub.get_message(timeout=self.link.timeout_seconds)  # the subscribe confirmation
            self._heard()  # (re)subscribed: anything may have been missed, look again
            self._listening = True
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    self._heard()
        finally:
            self._listening = False
            pubsub.close()
            client.close()
