"""The schema: Alembic migrations on PostgreSQL and SQLite, in step with the models."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bench.gen_package import PackageSpec, generate_package
from cli import main
from syncd.store import changes, migrate
from syncd.store.models import Base, ChangeEvent

pytestmark = pytest.mark.postgres


def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_db_upgrade_creates_the_schema_on_an_empty_postgres_and_again_is_a_no_op(
    empty_pg_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    env = {"ONEC_SYNC_DATABASE_URL": empty_pg_url, "ONEC_SYNC_CONFIG": ""}
    code, out = run_cli("db", "upgrade", env=env)
    assert code == 0, out
    assert "migrated empty -> " in out
    engine = make_db_engine(empty_pg_url)
    tables = set(inspect(engine).get_table_names())
    assert {"products", "offers", "prices", "stock", "orders", "audit_log"} <= tables

    code, out = run_cli("db", "upgrade", env=env)
    assert code == 0
    assert "already at" in out
    code, out = run_cli("db", "current", env=env)
    assert code == 0
    assert "up to date" in out


@pytest.mark.parametrize("backend_url", ["empty_pg_url", "tmp_sqlite_url"])
def test_downgrade_to_base_and_upgrade_again_both_work(
    backend_url: str, request: pytest.FixtureRequest, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(request.getfixturevalue(backend_url))
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.is_current(engine)


@pytest.fixture
def tmp_sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/m.db"


@pytest.mark.parametrize("engine_fixture", ["pg_engine", "sqlite_engine"])
def test_the_migrations_build_exactly_what_the_models_describe(
    engine_fixture: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    # Indexes made by raw SQL in the migration are not in the models on purpose, and alembic
    # cannot compare expression indexes (test_postgres_has_the_indexes... checks those).
    diff = [d for d in diff if not (d[0].endswith("_index") and d[1].name in EXPRESSION_INDEXES)]
    assert diff == []


EXPRESSION_INDEXES = {"ix_products_active", "ix_products_fts", "ix_orders_customer_ref_status"}


def test_postgres_has_the_indexes_the_shop_queries_need(pg_engine: Engine) -> None:
    with pg_engine.connect() as connection:
        indexes = dict(
            connection.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            ).all()
        )
    assert "WHERE (NOT is_deleted)" in indexes["ix_products_active"]
    assert "USING gin (to_tsvector('russian'::regconfig" in indexes["ix_products_fts"]
    orders = indexes["ix_orders_customer_ref_status"]
    assert "(customer_ref, status, created_at DESC)" in orders


@pytest.mark.parametrize("engine_fixture", ["pg_engine", "sqlite_engine"])
@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log"]
)
def test_the_audit_log_refuses_updates_and_deletes(
    engine_fixture: str, statement: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as connection, connection.begin() as transaction:
        connection.execute(
            text(
                "INSERT INTO audit_log (created_at, action, outcome, counts, details, prev_hash,"
                " entry_hash) VALUES (CURRENT_TIMESTAMP, 'test', 'ok', '{}', '{}', 'p', :h)"
            ),
            {"h": request.node.name[:64]},
        )
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
        transaction.rollback()


@pytest.mark.parametrize("backend_url", ["empty_pg_url", "tmp_sqlite_url"])
def test_orders_taken_before_ownership_was_recorded_belong_to_the_key_their_idempotency_key_names(
    backend_url: str, request: pytest.FixtureRequest, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(request.getfixturevalue(backend_url))
    migrate.upgrade(engine, "0002")
    with engine.begin() as connection:
        for number, key in (("A", "key:0123456789ab:k-1"), ("B", "user:anna:k:2"), ("C", None)):
            connection.execute(
                text(
                    "INSERT INTO orders (number, idempotency_key, customer, delivery, status, "
                    "currency, total, posted, paid, shipped, is_deleted, export_state, "
                    "created_at, updated_at) VALUES (:number, :key, '{}', '{}', 'new', 'RUB', "
                    "1, false, false, false, false, 'new', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"number": number, "key": key},
            )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        owners = connection.execute(
            text("SELECT number, submitted_by FROM orders ORDER BY number")
        ).all()
    assert [tuple(row) for row in owners] == [
        ("A", "key:0123456789ab"),
        ("B", "user:anna"),
        ("C", None),
    ]


def test_the_newest_revision_read_from_the_files_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    assert migrate.head_revision() == scripts.get_current_head()
    assert migrate.known_revisions() == {script.revision for script in scripts.walk_revisions()}


@pytest.mark.parametrize("backend_url", ["empty_pg_url", "tmp_sqlite_url"])
def test_the_current_revision_is_the_one_alembic_reads_at_every_step(
    backend_url: str, request: pytest.FixtureRequest, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(request.getfixturevalue(backend_url))
    for revision in ("0001", "0002", "head"):
        migrate.upgrade(engine, revision)
        with engine.connect() as connection:
            alembic_says = MigrationContext.configure(connection).get_current_revision()
        assert migrate.current_revision(engine) == alembic_says
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_an_import_checks_the_schema_without_loading_alembic(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    """An import forks a lane: whatever the parent holds, the child starts with a copy of."""
    generate_package(tmp_path / "package", PackageSpec(products=50))
    files = [str(tmp_path / "package" / name) for name in ("import.xml", "offers.xml")]
    probe = (
        "import sys\n"
        "from cli import main\n"
        "try:\n"
        f"    main(['import', *{files!r}], standalone_mode=False)\n"
        "finally:\n"
        "    print('alembic loaded:', 'alembic' in sys.modules)\n"
    )
    env = {
        **os.environ,
        "ONEC_SYNC_DATABASE_URL": fresh_pg_url,
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_PATHS_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert "succeeded" in done.stdout + done.stderr, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "alembic loaded: False"


@pytest.mark.parametrize("backend_url", ["empty_pg_url", "tmp_sqlite_url"])
def test_events_staged_before_the_upgrade_are_published_after_it_in_their_order(
    backend_url: str, request: pytest.FixtureRequest, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(request.getfixturevalue(backend_url))
    migrate.upgrade(engine, "0010")
    staged = [("product", "P-2", "created", None), ("price", "P-1", "changed", '{"v": "9"}')]
    with engine.begin() as connection:
        for kind, resource_id, action, data in staged:
            connection.execute(
                text(
                    "INSERT INTO change_events_staged "
                    "(kind, resource_id, action, data, run_id, created_at) "
                    "VALUES (:k, :r, :a, :d, 5, CURRENT_TIMESTAMP)"
                ),
                {"k": kind, "r": resource_id, "a": action, "d": data},
            )
    migrate.upgrade(engine)
    with Session(engine) as session:
        assert changes.publish_staged(session, 5) == 2
        session.commit()
        found = session.execute(select(ChangeEvent).order_by(ChangeEvent.position)).scalars()
        assert [(e.kind, e.resource_id, e.action, e.data) for e in found] == [
            ("product", "P-2", "created", None),
            ("price", "P-1", "changed", {"v": "9"}),
        ]
