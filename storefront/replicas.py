"""Catalog reads from PostgreSQL streaming replicas, never older than the last sync's commit.

The guarantee, with Redis: every sync that commits announces the primary's WAL position after its
commit together with the new catalog generation (``syncd.store.events``). A catalog read goes to
a replica only if that replica has replayed at least the position announced with the generation
the response is cached under; otherwise it goes to the primary. So once a sync has committed and
its generation is announced, no response cached under that generation is older than the commit,
however far a replica lags or if its replay is paused.

Without Redis (or before any sync has announced a position) nothing is cached and no position is
known: a replica is then used while its replay lag is at most
``database.replica_max_lag_seconds`` (0 when it has replayed all it received).

A replica that cannot be reached is skipped for ``DOWN_SECONDS``; one that is behind is asked
again at most every ``RECHECK_SECONDS``. Both are logged (at most once per ``LOG_EVERY_SECONDS``
per replica) and counted, with the lag measured, in ``storefront.metrics``. Orders,
authentication and admin never read a replica.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from config import DatabaseSettings
from storefront.metrics import StorefrontMetrics
from syncd.store.engine import make_engine, make_session_factory, without_parallel_workers

log = logging.getLogger(__name__)

DOWN_SECONDS = 5.0
RECHECK_SECONDS = 0.05
LOG_EVERY_SECONDS = 10.0

_REPLAYED = text(
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn"
)
_LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)


class Replica:
    """One replica: its pool, and what it was last seen to have replayed."""

    def __init__(self, settings: DatabaseSettings, url: str, metrics: StorefrontMetrics) -> None:
        self.name = make_url(url).render_as_string(hide_password=True)
        self.metrics = metrics
        replica_settings = dataclasses.replace(settings, url=url, replica_urls=())
        # Pre-ping (one round trip per checkout): a replica that went away is found at checkout,
        # where the read can still go to the primary, instead of failing the request.
        self.engine: Engine = make_engine(replica_settings, pool_pre_ping=True)
        without_parallel_workers(self.engine)
        reading = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessions: sessionmaker[Session] = make_session_factory(reading)
        self.replayed = 0  # bytes; replay only moves forward
        self.lag_ok_until = 0.0  # monotonic time until which the lag check holds
        self.checked_at = 0.0
        self.down_until = 0.0
        self.logged_at = 0.0
        self.lock = threading.Lock()

    def refusal(self, position: int | None, max_lag: float) -> str | None:
        """None when this replica may serve a read that must include ``position`` (or, when
        the position is unknown, that may be ``max_lag`` seconds old); else why not: ``down``
        or ``behind``."""
        now = time.monotonic()
        if now < self.down_until:
            return "down"
        if position is not None and self.replayed >= position:
            return None
        if position is None and now < self.lag_ok_until:
            return None
        with self.lock:
            if now - self.checked_at < RECHECK_SECONDS:
                return "behind"
            self.checked_at = now
            return self._check(position, max_lag, now)

    def _check(self, position: int | None, max_lag: float, now: float) -> str | None:
        try:
            with self.engine.connect() as connection:
                if position is not None:
                    self.replayed = max(
                        self.replayed, int(connection.execute(_REPLAYED).scalar_one())
                    )
                    ok = self.replayed >= position
                    behind = max(position - self.replayed, 0)
                    self.metrics.replica_behind.labels(self.name).set(behind)
                    why = f"replayed {self.replayed} < {position}, the last sync's commit"
                else:
                    lag = float(connection.execute(_LAG).scalar_one())
                    self.metrics.replica_lag.labels(self.name).set(lag)
                    ok = lag <= max_lag
                    why = f"{lag:.1f} s behind, more than {max_lag} s"
                    self.lag_ok_until = now + 1.0 if ok else 0.0
        except DBAPIError as exc:
            self.mark_down(exc)
            return "down"
        if not ok:
            self._log(logging.INFO, f"behind ({why}); reading the primary")
            return "behind"
        return None

    def open_session(self) -> Session | None:
        """A session already holding a live connection, or None (the replica is then skipped
        for ``DOWN_SECONDS``)."""
        session = self.sessions()
        try:
            session.connection()
        except DBAPIError as exc:
            session.close()
            self.mark_down(exc)
            return None
        return session

    def mark_down(self, exc: DBAPIError) -> None:
        self.down_until = time.monotonic() + DOWN_SECONDS
        self._log(logging.WARNING, f"unreachable ({exc.orig or exc}); skipped {DOWN_SECONDS} s")

    def _log(self, level: int, what: str) -> None:
        now = time.monotonic()
        if now - self.logged_at >= LOG_EVERY_SECONDS:
            self.logged_at = now
            log.log(level, "read replica %s %s", self.name, what)


class ReplicaSet:
    """The configured replicas, taken in turn among those that may serve a read."""

    def __init__(self, settings: DatabaseSettings, metrics: StorefrontMetrics) -> None:
        self.max_lag = settings.replica_max_lag_seconds
        self.replicas = [Replica(settings, url, metrics) for url in settings.replica_urls]
        self._turn = itertools.count()

    def __bool__(self) -> bool:
        return bool(self.replicas)

    def open_session(self, position: int | None) -> Session | None:
        """A session on a live replica that has replayed ``position`` (see the module
        docstring), or None: read the primary."""
        count = len(self.replicas)
        start = next(self._turn)
        for offset in range(count):
            replica = self.replicas[(start + offset) % count]
            reason = replica.refusal(position, self.max_lag)
            if reason is None:
                session = replica.open_session()
                if session is not None:
                    return session
                reason = "down"
            replica.metrics.replica_skips.labels(replica.name, reason).inc()
        return None

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()
