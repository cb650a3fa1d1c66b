"""One engine (a connection pool) per app; per request a reading session and, when a view writes,
a transactional one; both closed at teardown.

On PostgreSQL the reading session runs in autocommit mode: a read is one round trip, without a
BEGIN before it and a ROLLBACK after. Anything that must be atomic (order intake, revocations,
key management) uses ``writer()``, a normal transaction the view commits.

Catalog reads (``catalog_session()``) go to a read replica when one is configured and has
replayed the last sync's commit (``storefront.replicas``); everything else reads the primary, so
an order, a login or a key change always reads its own write.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import DatabaseSettings
from storefront.metrics import StorefrontMetrics
from storefront.replicas import ReplicaSet
from syncd.store.engine import make_engine, make_session_factory, without_parallel_workers

_EXTENSION = "onec_sync_db"


class Database:
    def __init__(
        self, settings: DatabaseSettings, metrics: StorefrontMetrics, *, change_log: bool = True
    ) -> None:
        """``change_log``: whether order intake writes change events (``[changes] enabled``)."""
        # No pre-ping: it would double the round trips of every read. A connection that died
        # (PostgreSQL restarted) fails one request with 503 and SQLAlchemy drops the whole pool.
        self.engine: Engine = make_engine(settings, pool_pre_ping=False)
        without_parallel_workers(self.engine)
        self.writers: sessionmaker[Session] = make_session_factory(
            self.engine, change_log=change_log
        )
        if self.is_postgresql:
            reading = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            self.readers: sessionmaker[Session] = make_session_factory(reading)
        else:  # SQLite's transactions are how its readers and the daemon's writer coexist
            self.readers = self.writers
        self.replicas = ReplicaSet(settings, metrics)
        # The WAL position catalog reads must include (the response cache's); None: unknown.
        self.commit_position: Callable[[], int | None] = lambda: None

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()
        self.replicas.dispose()

    def init_app(self, app: Flask) -> None:
        app.extensions[_EXTENSION] = self
        app.teardown_appcontext(_close_sessions)


def database() -> Database:
    db: Database = current_app.extensions[_EXTENSION]
    return db


def session() -> Session:
    """This request's reading session (autocommit on PostgreSQL): for queries and single,
    self-contained writes."""
    if "db_reader" not in g:
        g.db_reader = database().readers()
    result: Session = g.db_reader
    return result


def catalog_session() -> Session:
    """This request's session for catalog reads: a replica that has replayed the last sync's
    commit, else the primary's reading session."""
    if "db_catalog" not in g:
        db = database()
        replica = db.replicas.open_session(db.commit_position()) if db.replicas else None
        g.db_catalog = replica if replica is not None else session()
    result: Session = g.db_catalog
    return result


def writer() -> Session:
    """This request's transactional session; nothing is stored until the view commits."""
    db = database()
    if db.readers is db.writers:  # SQLite: one connection per request, or it locks itself out
        return session()
    if "db_writer" not in g:
        g.db_writer = db.writers()
    result: Session = g.db_writer
    return result


def _close_sessions(_exc: BaseException | None) -> None:
    for name in ("db_catalog", "db_reader", "db_writer"):
        db_session: Session | None = g.pop(name, None)
        if db_session is not None:
            db_session.close()
