"""Login attempts limited per login and client address (the ``limits`` library, flask-limiter's
core), counted *before* the password is checked.

The bucket is the client address together with whether the login named is the configured one
(``exchange.username``) or any other: an attacker elsewhere has buckets of their own and cannot
lock 1C out, and one who guesses logins from one address shares a single bucket. An attempt is
counted before argon2 runs, so a concurrent burst cannot pass the limit (nor cost 64 MiB each
beyond it); a correct login empties its bucket, so 1C logging in every minute is never slowed
down. Addresses in ``exchange.login_allowlist`` (1C's own) are never locked out. With Redis
configured the counts live there (shared by processes, kept across restarts); otherwise in
memory. The client address is the socket's peer, or ``X-Forwarded-For`` behind ``proxy.hops``
trusted proxies.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_NAMESPACE = "onec-sync:exchange-login"


class LoginThrottle:
    def __init__(
        self, limit: str, storage_uri: str = "memory://", *, allowlist: Sequence[str] = ()
    ) -> None:
        """``limit`` like ``"10/minute"``; ``storage_uri`` ``memory://`` or a Redis URL;
        ``allowlist`` addresses or networks (``"192.0.2.10"``, ``"10.1.0.0/16"``)."""
        self._item = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._allowlist = tuple(ipaddress.ip_network(net, strict=False) for net in allowlist)

    def attempt(self, bucket: str, address: str) -> int | None:
        """Count one login attempt; ``None`` when it may be checked, else the seconds to wait
        (the attempt is then refused without checking the password)."""
        if self.allowed(address):
            return None
        if self._limiter.hit(self._item, _NAMESPACE, bucket, address):
            return None
        stats = self._limiter.get_window_stats(self._item, _NAMESPACE, bucket, address)
        return max(1, int(stats.reset_time - time.time()) + 1)

    def succeeded(self, bucket: str, address: str) -> None:
        """A correct login: its bucket starts empty again."""
        self._limiter.clear(self._item, _NAMESPACE, bucket, address)

    def allowed(self, address: str) -> bool:
        """True for an address of ``exchange.login_allowlist``."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._allowlist)
