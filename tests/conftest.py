"""Test harness: real PostgreSQL, Redis and SQLite; nothing mocked but 1C itself.

Services (override with the environment):
  ONEC_SYNC_TEST_PG_URL     server to create test databases on
                            (default postgresql+psycopg://127.0.0.1:5432/test)
  ONEC_SYNC_TEST_REDIS_URL  Redis database the tests may flush (default redis://127.0.0.1:6379/15)
  ONEC_SYNC_TEST_REQUIRE_SERVICES=1  a missing server fails the test instead of skipping it
                            (.ci/run sets it)
  ONEC_SYNC_TEST_REQUIRE_SAMPLES=1   a missing ../shared/samples fails instead of skipping

Each test session migrates one template database; tests get either a rolled-back session on a
shared database (``pg_session``, ``sqlite_session``, ``db_session`` for both), or a fresh
database of their own that they may commit to (``fresh_database_url``, ``fresh_pg_url``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from config import DatabaseSettings
from syncd.store import migrate
from syncd.store.engine import make_engine

PG_URL = os.environ.get("ONEC_SYNC_TEST_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ONEC_SYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("ONEC_SYNC_TEST_REQUIRE_SERVICES") == "1"
REQUIRE_SAMPLES = os.environ.get("ONEC_SYNC_TEST_REQUIRE_SAMPLES") == "1"
REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT.parent / "shared" / "samples"


def service_missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is not reachable and ONEC_SYNC_TEST_REQUIRE_SERVICES=1")
    pytest.skip(f"{what} is not reachable")


# --- PostgreSQL ------------------------------------------------------------------------------


class PgServer:
    """Creates and drops databases on the test server; one migrated template per session."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.prefix = f"onec_sync_t{uuid.uuid4().hex[:8]}"
        self.template: str | None = None
        self.created: list[str] = []

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def create(self, *, migrated: bool = True) -> str:
        if migrated and self.template is None:
            self.template = f"{self.prefix}_tpl"
            self._execute(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
            engine = make_engine(DatabaseSettings(url=self.url_for(self.template)))
            migrate.upgrade(engine)
            engine.dispose()
        name = f"{self.prefix}_{len(self.created)}"
        template = f' TEMPLATE "{self.template}"' if migrated else ""
        self._execute(f'CREATE DATABASE "{name}"{template}')
        self.created.append(name)
        return self.url_for(name)

    def clone(self, url: str) -> str:
        """A new database with the contents of ``url`` (which nobody may be connected to)."""
        source = make_url(url).database
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{source}' AND pid <> pg_backend_pid()"
        )
        name = f"{self.prefix}_{len(self.created)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        self.created.append(name)
        return self.url_for(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        self._execute(f'DROP DATABASE IF EXISTS "{name}"')

    def close(self) -> None:
        for name in reversed(self.created):
            self.drop(self.url_for(name))
        self.admin.dispose()

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer(PG_URL)
    try:
        with server.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        server.admin.dispose()
        service_missing(f"PostgreSQL at {PG_URL} ({type(exc).__name__})")
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_engine(pg_server: PgServer) -> Iterator[Engine]:
    """A migrated database shared by the session; use ``pg_session`` to stay rolled back."""
    engine = make_engine(DatabaseSettings(url=pg_server.create()))
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_pg_url(pg_server: PgServer) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own; committed data stays in it only."""
    url = pg_server.create()
    yield url
    pg_server.drop(url)


@pytest.fixture
def empty_pg_url(pg_server: PgServer) -> Iterator[str]:
    """An empty PostgreSQL database (no schema) of this test's own."""
    url = pg_server.create(migrated=False)
    yield url
    pg_server.drop(url)


@dataclass(frozen=True)
class PgRoles:
    """The owner and runtime roles of ``onec-sync db roles`` on a test database."""

    owner: str
    runtime: str
    owner_url: str
    runtime_url: str


@pytest.fixture
def make_pg_roles(pg_server: PgServer) -> Iterator[Callable[[str], PgRoles]]:
    """``make_pg_roles(url)``: both roles on that (migrated) database, made with ``db roles``.

    Roles are cluster-wide and the server is shared: their names are random, and they are
    dropped after the test (and the databases holding their grants) ends.
    """
    from click.testing import CliRunner

    from cli import main

    made: list[tuple[str, str]] = []

    def make(url: str) -> PgRoles:
        suffix = uuid.uuid4().hex[:10]
        owner, runtime = f"t_owner_{suffix}", f"t_runtime_{suffix}"
        made.append((url, owner))
        made.append((url, runtime))
        env = {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": url}
        args = ["db", "roles", "--owner", owner, "--runtime", runtime, "--create"]
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 0, result.output

        def as_role(role: str) -> str:
            return make_url(url).set(username=role).render_as_string(hide_password=False)

        return PgRoles(owner, runtime, as_role(owner), as_role(runtime))

    yield make
    for url in {url for url, _ in made}:
        pg_server.drop(url)
    with pg_server.admin.connect() as conn:
        for _, role in reversed(made):
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))


# --- SQLite ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "shared.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    engine.dispose()
    return url


# --- either backend --------------------------------------------------------------------------


def _rolled_back_session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def pg_session(pg_engine: Engine) -> Iterator[Session]:
    yield from _rolled_back_session(pg_engine)


@pytest.fixture
def sqlite_session(sqlite_engine: Engine) -> Iterator[Session]:
    yield from _rolled_back_session(sqlite_engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrises a storage test over both backends."""
    return str(request.param)


@pytest.fixture
def db_session(backend: str, request: pytest.FixtureRequest) -> Session:
    """A rolled-back session on SQLite and on PostgreSQL (the test runs once for each)."""
    fixture = "pg_session" if backend == "postgresql" else "sqlite_session"
    session: Session = request.getfixturevalue(fixture)
    return session


@pytest.fixture
def fresh_database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """A migrated database of this test's own, on SQLite and on PostgreSQL."""
    fixture = "fresh_pg_url" if backend == "postgresql" else "fresh_sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def make_db_engine() -> Iterator[Callable[[str], Engine]]:
    """``make_db_engine(url)``: an engine disposed of after the test."""
    engines: list[Engine] = []

    def make(url: str, **overrides: Any) -> Engine:
        engine = make_engine(DatabaseSettings(url=url), **overrides)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def engine(fresh_database_url: str, make_db_engine: Callable[..., Engine]) -> Engine:
    """A migrated database of the test's own, on SQLite and on PostgreSQL."""
    return make_db_engine(fresh_database_url)


# --- Redis -----------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    """A Redis database, flushed before the test."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        service_missing(f"Redis at {REDIS_URL} ({type(exc).__name__})")
    finally:
        client.close()
    return REDIS_URL


# --- shared samples --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """``../shared/samples`` (real 1C exports); skips where a user's clone has none."""
    if not SAMPLES_DIR.is_dir():
        if REQUIRE_SAMPLES:
            pytest.fail(f"{SAMPLES_DIR} is missing and ONEC_SYNC_TEST_REQUIRE_SAMPLES=1")
        pytest.skip(f"{SAMPLES_DIR} is absent (only the developers' checkout has it)")
    return SAMPLES_DIR
