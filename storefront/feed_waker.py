"""Wakes long-polling change-feed requests (``GET /changes?wait=``) when events commit.

Whatever appends change events announces the commit on ``CHANGES_CHANNEL`` (Redis pub/sub,
``syncd.store.events``); one thread per API process listens and wakes every waiting request at
once, which then reads the database again. Without Redis (not configured, down, or a message
missed) a waiting request looks at the database every ``poll_seconds`` instead, and every
``recheck_seconds`` even while subscribed: a writer without Redis is still heard.
"""

from __future__ import annotations

import logging
import threading

from flask import current_app

from storefront.errors import RedisUnavailable
from storefront.redis_link import RedisLink, Subscription
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
        # (Re)subscribing counts as an announcement: anything may have been missed, look again.
        self._subscription = Subscription(
            link, CHANGES_CHANNEL, on_message=lambda _data: self._heard(),
            on_subscribed=self._heard, name="onec-sync-feed",
        )  # fmt: skip

    @property
    def listening(self) -> bool:
        """True while this process is subscribed to the announcements."""
        return self._subscription.listening

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
        self._subscription.start()
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
        self._subscription.close()

    def _heard(self) -> None:
        with self._condition:
            self._announced += 1
            self._condition.notify_all()
