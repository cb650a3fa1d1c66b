"""Engine and session factories. Nothing connects at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from config import DatabaseSettings

KEY_OPTION = "onec_sync_audit_key"  # syncd.store.audit reads the audit key from here


def make_engine(settings: DatabaseSettings, **overrides: Any) -> Engine:
    """An engine for ``settings.url``; creates the SQLite file's folder when needed.

    SQLite runs in WAL mode with a busy timeout so the daemon's writer and the API's readers do
    not block each other; PostgreSQL gets a pool sized from the settings. The engine carries
    ``database.audit_key`` (an execution option read by ``syncd.store.audit``), so every audit
    entry written through it is keyed.
    """
    overrides.setdefault("execution_options", {KEY_OPTION: settings.audit_key})
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        return _make_sqlite_engine(settings, url.database, **overrides)
    if url.drivername in ("postgresql", "postgres"):  # libpq's and Heroku's spellings
        url = url.set(drivername="postgresql+psycopg")
    options: dict[str, Any] = {
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_timeout": settings.pool_timeout_seconds,
        "pool_pre_ping": True,
        "echo": settings.echo,
        "connect_args": {"connect_timeout": settings.connect_timeout_seconds},
    }
    options.update(overrides)
    return create_engine(url, **options)


def _make_sqlite_engine(
    settings: DatabaseSettings, database: str | None, **overrides: Any
) -> Engine:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"echo": settings.echo, "connect_args": {"timeout": 30}}
    options.update(overrides)
    engine = create_engine(settings.url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself, so transactions really start where we say.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes fails with SQLITE_BUSY when another writer committed in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# Session.info keys read by syncd.store.changes.append.
CHANGE_LOG_INFO = "onec_sync_change_log"  # False: append writes nothing ([changes] enabled)
CHANGES_REDIS_INFO = "onec_sync_changes_redis"  # where committed events are announced


def make_session_factory(
    engine: Engine, *, change_log: bool = True, changes_redis_url: str = ""
) -> sessionmaker[Session]:
    """Sessions on ``engine``. ``change_log`` false: ``syncd.store.changes.append`` writes no
    event in them (``[changes] enabled``); ``changes_redis_url``: after a commit that appended
    events, they are announced there (``syncd.store.events.CHANGES_CHANNEL``) to wake readers
    waiting on the feed."""
    info = {CHANGE_LOG_INFO: change_log, CHANGES_REDIS_INFO: changes_redis_url}
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


def without_parallel_workers(engine: Engine) -> None:
    """No parallel query on ``engine``'s PostgreSQL connections (the storefront's). Starting
    the workers took about 10 ms per statement, more than a whole listing costs on one, and a
    shop's short reads gain nothing from them; under load they doubled the slowest listings'
    latency."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _serial(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        dbapi_connection.commit()
