"""Failed logins rate-limited per client address (the ``limits`` library, flask-limiter's core).

Only failures count: 1C logging in correctly every minute is never slowed down. Once an address
used up ``exchange.login_rate_limit`` it is refused, right password or not, until the window moves
on. With Redis configured the counts live there (shared by processes, kept across restarts);
otherwise in memory.
"""

from __future__ import annotations

import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_NAMESPACE = "onec-sync:exchange-login"


class LoginThrottle:
    def __init__(self, limit: str, storage_uri: str = "memory://") -> None:
        """``limit`` like ``"10/minute"``; ``storage_uri`` ``memory://`` or a Redis URL."""
        self._item = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or ``None`` when it may try now."""
        if self._limiter.test(self._item, _NAMESPACE, address):
            return None
        stats = self._limiter.get_window_stats(self._item, _NAMESPACE, address)
        return max(1, int(stats.reset_time - time.time()) + 1)

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        self._limiter.hit(self._item, _NAMESPACE, address)
