"""Verified API keys remembered in-process, so a cached catalog read costs no database query.

An entry is trusted only under the credentials generation it was verified in (see
``syncd.store.events.publish_credentials_changed``, called after every revocation) and for at most
``max_age_seconds``; without Redis nothing is remembered and every request checks the database,
which is the truth either way.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from storefront.auth.roles import Principal
from storefront.cache import Generations
from storefront.errors import RedisUnavailable
from storefront.redis_link import RedisLink
from syncd.store.events import CREDENTIALS_CHANNEL, CREDENTIALS_GENERATION_KEY


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    generation: int
    stored_at: float


class KeyCache:
    def __init__(
        self, link: RedisLink, *, max_age_seconds: float = 60.0, max_entries: int = 1000
    ) -> None:
        self.link = link
        self.max_age_seconds = max_age_seconds
        self.max_entries = max_entries
        self.generations = Generations(
            link,
            None,
            key=CREDENTIALS_GENERATION_KEY,
            channel=CREDENTIALS_CHANNEL,
            position_key=None,
        )
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, presented: str) -> tuple[Principal | None, int | None]:
        """The remembered principal for this key (or None) and the generation to remember a
        freshly verified one under (None: do not remember)."""
        if not self.link.configured:
            return None, None
        try:
            generation = self.generations.current()
        except RedisUnavailable:
            return None, None
        entry = self._entries.get(_digest(presented))
        fresh = entry is not None and time.monotonic() - entry.stored_at < self.max_age_seconds
        if entry is not None and fresh and entry.generation == generation:
            return entry.principal, generation
        return None, generation

    def put(self, presented: str, generation: int | None, principal: Principal) -> None:
        if generation is None:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[_digest(presented)] = _Entry(principal, generation, time.monotonic())

    def close(self) -> None:
        self.generations.close()


def _digest(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()
