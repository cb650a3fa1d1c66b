"""Least-privilege roles: what the runtime role may not do, and that every command runs with it
(the API, the daemon, the exchange endpoint and OData: tests/storefront, tests/daemon and
tests/odata, test_runtime_role.py).

Roles are cluster-wide and other test runs share the server: each test's roles get random names
and are dropped afterwards (after the test's database, which holds their grants).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cli import main
from config import DatabaseSettings
from syncd.store import audit, migrate
from syncd.store.engine import make_engine
from tests.cml_builder import catalog, write_package
from tests.conftest import PgRoles

pytestmark = pytest.mark.postgres


def cli(url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": url,
        "ONEC_SYNC_DATABASE_AUDIT_KEY": "",
    }
    result = CliRunner().invoke(main, list(args), env=env, input=stdin)
    return result.exit_code, result.output


@pytest.fixture
def roles(fresh_pg_url: str, make_pg_roles: Callable[[str], PgRoles]) -> PgRoles:
    return make_pg_roles(fresh_pg_url)


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM audit_log",
        "UPDATE audit_log SET outcome = 'succeeded'",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
        "DROP TRIGGER audit_log_no_update ON audit_log",
        "TRUNCATE products",
        "ALTER TABLE products ADD COLUMN x int",
        "CREATE TABLE evil (id int)",
        "DELETE FROM alembic_version",
    ],
)
def test_postgresql_refuses_the_runtime_role_what_would_rewrite_history(
    roles: PgRoles, statement: str
) -> None:
    engine = create_engine(roles.runtime_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (created_at, action, outcome, counts, "
                              "details, prev_hash, entry_hash) VALUES (now(), 'x', 'y', '{}', "
                              "'{}', 'p', :h)"), {"h": uuid.uuid4().hex})  # fmt: skip
        with pytest.raises(DBAPIError) as refused, engine.begin() as conn:
            conn.execute(text(statement))
        message = str(refused.value.orig)
        assert "permission denied" in message or "must be owner" in message
    finally:
        engine.dispose()


def test_the_runtime_role_appends_to_the_audit_log_and_reads_it(roles: PgRoles) -> None:
    engine = make_engine(DatabaseSettings(url=roles.runtime_url))
    with Session(engine) as session:
        audit.append(session, action="test.append", outcome="succeeded")
        session.commit()
    with Session(engine) as session:
        assert audit.verify(session).checked == 1
    engine.dispose()


def test_the_runtime_role_runs_every_command_that_is_not_a_migration(
    roles: PgRoles, tmp_path: Path
) -> None:
    package = tmp_path / "pkg"
    write_package(package, catalog(30))
    url = roles.runtime_url
    commands = [
        ("db", "current"),
        ("import", str(package / "import.xml"), str(package / "offers.xml")),
        ("runs",),
        ("audit",),
        ("audit", "verify"),
        ("audit", "anchor", str(tmp_path / "anchors.log")),
        ("audit", "verify", "--anchors", str(tmp_path / "anchors.log")),
        ("sync", "housekeeping"),
        ("status",),
        ("apikeys", "create", "shop-1"),
        ("apikeys", "list"),
        ("backup", "--dir", str(tmp_path / "backups")),
        ("exchange", "sessions"),
    ]
    for command in commands:
        code, output = cli(url, *command)
        assert code == 0, f"{' '.join(command)} as the runtime role: {output}"
    code, output = cli(url, "users", "create", "alice", "--password-stdin", stdin="pw-123456789\n")
    assert code == 0, output
    code, output = cli(url, "apikeys", "list", "--json")
    prefix = json.loads(output)[0]["prefix"]
    code, output = cli(url, "apikeys", "revoke", prefix)
    assert code == 0, output


def test_migrations_run_as_the_owner_and_not_as_the_runtime_role(roles: PgRoles) -> None:
    code, output = cli(roles.runtime_url, "db", "downgrade", "0002", "--yes")
    assert code != 0
    code, output = cli(roles.owner_url, "db", "downgrade", "0002", "--yes")
    assert code == 0, output
    code, output = cli(roles.runtime_url, "db", "upgrade")
    assert code == 1
    assert "migration refused:" in output  # PostgreSQL refuses the runtime role any DDL
    assert "as the owner role" in output
    assert "as the owner role" in output
    assert "Traceback" not in output
    code, output = cli(roles.owner_url, "db", "upgrade")
    assert code == 0, output
    assert f"-> {migrate.head_revision()}" in output


def test_db_roles_prints_the_statements_without_running_them(fresh_pg_url: str) -> None:
    code, output = cli(fresh_pg_url, "db", "roles", "--owner", "o_x", "--runtime", "r_x")
    assert code == 0, output
    assert 'GRANT SELECT, INSERT ON "public"."audit_log" TO "r_x";' in output
    assert "TRUNCATE" not in output
    admin = create_engine(fresh_pg_url)
    with admin.connect() as conn:
        found = conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = 'r_x'"))
        assert found.scalar_one() == 0
    admin.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--owner", "Robert'); DROP TABLE x;--"), "use lower-case letters"),
        (("--owner", "same", "--runtime", "same"), "two different roles"),
    ],
)
def test_db_roles_refuses_bad_names_in_one_line(
    fresh_pg_url: str, args: tuple[str, ...], message: str
) -> None:
    code, output = cli(fresh_pg_url, "db", "roles", *args)
    assert code == 1
    assert message in output
    assert "Traceback" not in output


def test_db_roles_on_sqlite_says_roles_are_a_postgresql_feature(fresh_sqlite_url: str) -> None:
    code, output = cli(fresh_sqlite_url, "db", "roles")
    assert code == 1
    assert "database roles are a PostgreSQL feature" in output
