"""The audit log: append-only, hash-chained, and `verify` notices tampering."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from syncd.store import audit

pytestmark = pytest.mark.postgres


def fill(engine: Engine, n: int) -> None:
    with Session(engine) as session:
        for i in range(n):
            audit.append(
                session,
                action="import.file",
                outcome="succeeded",
                subject=f"import{i}.xml",
                counts={"inserted": i, "by_table": {"products": {"inserted": i}}},
                details={"size": 1000 + i},
            )
        session.commit()


def test_entries_chain_and_verify(
    fresh_database_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(fresh_database_url)
    fill(engine, 5)
    with Session(engine) as session:
        result = audit.verify(session)
    assert result.ok
    assert result.checked == 5


def _tamper(engine: Engine, sql: str) -> None:
    """What an attacker with the owner's rights would have to do: switch the guard off first."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text(sql))


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("UPDATE audit_log SET outcome = 'failed' WHERE id = 3", "content changed"),
        ("UPDATE audit_log SET counts = '{\"inserted\": 99}' WHERE id = 2", "content changed"),
        ("DELETE FROM audit_log WHERE id = 3", "previous entry missing"),
    ],
)
def test_verify_finds_a_changed_or_removed_entry(
    fresh_database_url: str, make_db_engine: Callable[..., Engine], sql: str, reason: str
) -> None:
    engine = make_db_engine(fresh_database_url)
    fill(engine, 5)
    _tamper(engine, sql)
    with Session(engine) as session:
        result = audit.verify(session)
    assert not result.ok
    assert result.broken_at in (2, 3, 4)
    assert reason in (result.reason or "")
