"""Which scheduled jobs this daemon leads, when several run against one database.

A daemon leads ``<job>`` while it holds the named lock ``job:<job>`` (the same key
``syncd.store.locks.named_lock`` uses). It takes the lock at the job's first run and keeps it, so one
daemon runs each job and the others stand by; a standby tries again at each of its runs and takes
over as soon as the lock is free.

PostgreSQL: a session advisory lock on a connection of its own, outside the pool. The server
drops it when that connection ends: the leader exits or is killed, its host vanishes (the
connection asks the server for TCP keepalives so that is noticed within ~30 s), or the server
restarts. Before each run the leader checks its connection still works; if not, it lost the lock
and competes for it again. SQLite: an ``flock`` on a file beside the database, dropped by the
kernel when the process dies (one host only, as SQLite is).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from contextlib import ExitStack
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from syncd.store.locks import LockBusy, lock_key, named_lock

log = logging.getLogger(__name__)
PREFIX = "job:"
# Server-side keepalives for the lock connection: a leader whose host vanished (no FIN, no RST)
# loses its locks after about idle + interval * count seconds instead of the OS's two hours.
_KEEPALIVE = (
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 4"
)


class _Held(Protocol):
    def alive(self) -> bool: ...
    def release(self) -> None: ...


class _PgHeld:
    def __init__(self, connection: Connection, key: int) -> None:
        self.connection, self.key = connection, key

    def alive(self) -> bool:
        try:
            self.connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def release(self) -> None:
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        except SQLAlchemyError:
            pass  # the connection is gone, and the lock with it
        finally:
            self.connection.close()


class _FileHeld:
    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack

    def alive(self) -> bool:
        return True

    def release(self) -> None:
        self.stack.close()


class Leadership:
    """The jobs this process leads. ``lead(job)`` before each run; thread-safe."""

    def __init__(self, engine: Engine, *, connect_timeout: int = 5) -> None:
        self._engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._lock_engine = (
            create_engine(
                engine.url, poolclass=NullPool, connect_args=_connect_args(connect_timeout)
            )
            if self._pg
            else engine
        )
        self._held: dict[str, _Held] = {}
        self._mutex = threading.Lock()

    def lead(self, job: str) -> bool:
        """True when this process leads ``job`` (taking the lock if it is free).

        Raises ``SQLAlchemyError`` when the database cannot be reached.
        """
        with self._mutex:
            held = self._held.get(job)
            if held is not None:
                if held.alive():
                    return True
                log.warning("lost the lead of %s (its database connection ended)", job)
                self._drop(job)
            acquired = self._acquire(job)
            if acquired is None:
                return False
            self._held[job] = acquired
            log.info("leading %s on this host (%s)", job, _identity())
            return True

    def release(self, job: str) -> None:
        """Stop leading ``job`` (another daemon may take it at its next run)."""
        with self._mutex:
            if job in self._held:
                self._drop(job)
                log.info("released the lead of %s", job)

    def release_all(self) -> None:
        with self._mutex:
            for job in list(self._held):
                self._drop(job)
        if self._lock_engine is not self._engine:
            self._lock_engine.dispose()

    def leading(self) -> list[str]:
        with self._mutex:
            return sorted(self._held)

    def _drop(self, job: str) -> None:
        self._held.pop(job).release()

    def _acquire(self, job: str) -> _Held | None:
        name = PREFIX + job
        if not self._pg:
            stack = ExitStack()
            try:
                stack.enter_context(named_lock(self._engine, name, wait=False))
            except LockBusy:
                stack.close()
                return None
            return _FileHeld(stack)
        key = lock_key(name)
        connection = self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            if got:
                connection.exec_driver_sql(_KEEPALIVE)
                connection.execute(
                    text("SELECT set_config('application_name', :n, false)"),
                    {"n": f"onec-syncd {name} {_identity()}"[:63]},  # PostgreSQL keeps 63
                )
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return _PgHeld(connection, key)


def _identity() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _connect_args(connect_timeout: int) -> dict[str, object]:
    """Client-side keepalives too, so a leader notices a vanished server within ~30 s."""
    return {
        "connect_timeout": connect_timeout,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 4,
    }
