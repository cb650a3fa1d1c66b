"""``type=listen``: 1C's long-poll for new orders (the Bitrix exchange module's "listen" mode).

1C asks and the request waits: ``success`` as soon as an order the exchange has not handed out
yet exists (1C then runs ``type=sale&mode=query``), else HTTP 304 once ``exchange.listen_seconds``
have passed. The database is looked at every ``POLL_SECONDS``, each time in a short transaction of
its own, so an order committed by the storefront is seen within that time. Each waiting request
holds an HTTP thread: at most ``exchange.listen_max_waiting`` wait at once, and the others are
refused at once rather than starving uploads and imports.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from syncd.exchange.sale import has_new_orders

POLL_SECONDS = 0.2


class Listeners:
    """The waiting long-polls of one process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_waiting: int,
        stopping: threading.Event,
    ) -> None:
        self._sessions = sessions
        self._slots = threading.BoundedSemaphore(max_waiting)
        self._stopping = stopping

    def wait_for_new_order(self, seconds: float) -> bool | None:
        """True once a new order exists; False after ``seconds`` (or when the process stops);
        None when ``max_waiting`` requests already wait."""
        if not self._slots.acquire(blocking=False):
            return None
        try:
            deadline = time.monotonic() + seconds
            while True:
                with self._sessions() as db:
                    if has_new_orders(db):
                        return True
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping.wait(min(POLL_SECONDS, left)):
                    return False
        finally:
            self._slots.release()
