"""The two attacks an auditor tried on the audit log, and the keyed chain and anchors that catch them.

1. The table owner disables the append-only trigger, deletes the newest entries, re-enables it:
   the chain is still whole, so only an anchor outside the database notices.
2. A script rewrites an entry (failed -> succeeded, another actor) and recomputes the chain:
   anchors notice; once the log is keyed, ``audit verify`` notices on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from cli import main
from config import DatabaseSettings, Secret
from syncd.store import audit
from syncd.store.engine import make_engine
from syncd.store.models import AuditEntry

KEY = "k3y-for-the-audit-chain-0123456789"


@pytest.fixture
def keyed_engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = make_engine(DatabaseSettings(url=fresh_database_url, audit_key=Secret(KEY)))
    yield engine
    engine.dispose()


def fill(engine: Engine, n: int, *, first: int = 0) -> None:
    with Session(engine) as session:
        for i in range(first, first + n):
            audit.append(
                session,
                action="import.file",
                outcome="failed" if i % 10 == 3 else "succeeded",
                actor="operator",
                subject=f"import{i}.xml",
                counts={"inserted": i},
            )
        session.commit()


def cli(url: str, *args: str, key: str | None = None) -> tuple[int, str]:
    env = {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": url}
    env["ONEC_SYNC_DATABASE_AUDIT_KEY"] = key or ""
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def as_owner(engine: Engine, *statements: str) -> None:
    """What the table owner can do: switch the append-only guard off around the statements."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        for sql in statements:
            conn.execute(text(sql))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def rewrite_and_rechain(engine: Engine, entry_id: int, *, clear_key: bool = False) -> None:
    """The auditor's script: turn a failure into a success by someone else, recompute the chain
    (with SHA-256: the attacker does not have the key)."""
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            session.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        entries = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        previous = audit.GENESIS
        for entry in entries:
            if entry.id == entry_id:
                entry.outcome, entry.actor = "succeeded", "someone-else"
            if entry.id >= entry_id:
                if clear_key:
                    entry.key_id = None
                entry.prev_hash = previous
                entry.entry_hash = audit.entry_digest(entry)
            previous = entry.entry_hash
        session.flush()
        if engine.dialect.name == "postgresql":
            session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        session.commit()


# --- attack 1: trigger disabled, newest entries deleted ---------------------------------------


def test_deleting_the_newest_entries_behind_the_trigger_is_caught_by_the_anchors(
    fresh_database_url: str, make_db_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    engine = make_db_engine(fresh_database_url)
    fill(engine, 54)
    anchors = tmp_path / "anchors.log"
    code, output = cli(fresh_database_url, "audit", "anchor", str(anchors))
    assert code == 0, output
    assert "anchored entry 54" in output
    as_owner(engine, "DELETE FROM audit_log WHERE id > 51")

    code, output = cli(fresh_database_url, "audit", "verify")
    assert code == 0
    assert "51 entries verified" in output

    code, output = cli(fresh_database_url, "audit", "verify", "--anchors", str(anchors))
    assert code == 1, output
    assert "the first entry that differs is 52: it is missing: the log was truncated" in output
    assert "(its last entry is 51)" in output


def test_an_entry_deleted_and_the_chain_relinked_before_new_entries_is_named_by_the_anchors(
    fresh_database_url: str, make_db_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    engine = make_db_engine(fresh_database_url)
    fill(engine, 10)
    anchors = tmp_path / "anchors.log"
    assert cli(fresh_database_url, "audit", "anchor", str(anchors))[0] == 0
    as_owner(engine, "DELETE FROM audit_log WHERE id = 6")
    rewrite_and_rechain(engine, 7)  # the hole closed: the chain is whole again
    fill(engine, 5, first=10)

    code, output = cli(fresh_database_url, "audit", "verify")
    assert code == 0
    code, output = cli(fresh_database_url, "audit", "verify", "--anchors", str(anchors))
    assert code == 1
    assert "the first entry that differs is 6: it is missing: it was deleted" in output


# --- attack 2: an entry rewritten and the chain recomputed ------------------------------------


def test_a_rewritten_and_rechained_unkeyed_log_is_caught_by_the_anchors(
    fresh_database_url: str, make_db_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    engine = make_db_engine(fresh_database_url)
    fill(engine, 20)
    anchors = tmp_path / "anchors.log"
    assert cli(fresh_database_url, "audit", "anchor", str(anchors))[0] == 0
    fill(engine, 10, first=20)
    assert cli(fresh_database_url, "audit", "anchor", str(anchors))[0] == 0
    rewrite_and_rechain(engine, 24)

    code, output = cli(fresh_database_url, "audit", "verify")
    assert code == 0
    assert "unkeyed: all 30 entries" in output

    code, output = cli(fresh_database_url, "audit", "verify", "--anchors", str(anchors))
    assert code == 1, output
    assert "the first entry that differs is 24: it was rewritten" in output
    assert "1 of 2 do not match" in output  # the first anchor (entries 1-20) still holds


@pytest.mark.parametrize("clear_key", [False, True], ids=["key id kept", "key id cleared"])
def test_a_rewritten_and_rechained_keyed_log_is_caught_without_anchors(
    keyed_engine: Engine, fresh_database_url: str, clear_key: bool
) -> None:
    fill(keyed_engine, 30)
    rewrite_and_rechain(keyed_engine, 24, clear_key=clear_key)

    code, output = cli(fresh_database_url, "audit", "verify", key=KEY)
    assert code == 1, output
    assert "tampered with at entry 24" in output


def test_a_keyed_entry_with_a_forged_hmac_needs_the_key_to_be_caught(
    keyed_engine: Engine, fresh_database_url: str
) -> None:
    fill(keyed_engine, 5)
    rewrite_and_rechain(keyed_engine, 4)
    code, output = cli(fresh_database_url, "audit", "verify")
    assert code == 0
    assert "only their links checked: no audit key configured" in output


# --- the keyed chain as an operator sees it ---------------------------------------------------


def test_verify_says_where_the_keyed_part_of_the_log_begins(
    fresh_database_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    fill(make_db_engine(fresh_database_url), 3)  # written before the key was set
    keyed = make_engine(DatabaseSettings(url=fresh_database_url, audit_key=Secret(KEY)))
    fill(keyed, 4)
    keyed.dispose()

    code, output = cli(fresh_database_url, "audit", "verify", key=KEY)
    assert code == 0, output
    assert "audit log intact: 8 entries verified" in output  # 3 + the key_set entry + 4
    assert "unkeyed: the 3 entries before entry 4 (SHA-256)" in output
    assert "keyed: 5 entries from entry 4 (HMAC checked)" in output


def test_verify_with_another_key_names_both_keys_and_fails(
    keyed_engine: Engine, fresh_database_url: str
) -> None:
    fill(keyed_engine, 2)
    code, output = cli(fresh_database_url, "audit", "verify", key="a-different-key")
    assert code == 1
    assert "keyed with key" in output
    assert "not the configured key" in output
    assert KEY not in output


def test_an_unkeyed_entry_written_after_the_keyed_part_is_a_downgrade(
    keyed_engine: Engine, fresh_database_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    fill(keyed_engine, 2)
    fill(make_db_engine(fresh_database_url), 1)  # a process without the key appends
    code, output = cli(fresh_database_url, "audit", "verify", key=KEY)
    assert code == 1
    assert "unkeyed entry after the keyed part that starts at entry 1" in output


# --- anchors ----------------------------------------------------------------------------------


def test_verify_with_anchors_that_all_match_says_so(
    fresh_database_url: str, make_db_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    engine = make_db_engine(fresh_database_url)
    anchors = tmp_path / "anchors.log"
    for _ in range(3):
        fill(engine, 2)
        assert cli(fresh_database_url, "audit", "anchor", str(anchors))[0] == 0
    assert len(anchors.read_text().splitlines()) == 3
    code, output = cli(fresh_database_url, "audit", "verify", "--anchors", str(anchors))
    assert code == 0, output
    assert "anchors: all 3 match the log" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", ":1: not an anchor line"),
        ('{"at": "x", "id": "7", "hash": "ab"}\n', ":1: not an anchor line"),
    ],
)
def test_a_broken_anchor_file_is_one_line_naming_the_line(
    fresh_sqlite_url: str, tmp_path: Path, content: str, message: str
) -> None:
    anchors = tmp_path / "anchors.log"
    anchors.write_text(content)
    code, output = cli(fresh_sqlite_url, "audit", "verify", "--anchors", str(anchors))
    assert code == 1
    assert message in output
    assert "Traceback" not in output


def test_a_missing_anchor_file_is_one_line(fresh_sqlite_url: str, tmp_path: Path) -> None:
    code, output = cli(fresh_sqlite_url, "audit", "verify", "--anchors", str(tmp_path / "nope.log"))
    assert code == 1
    assert "cannot read the anchor file" in output


def test_a_log_whose_keyed_part_was_removed_is_flagged_when_the_key_is_configured(
    fresh_database_url: str, make_db_engine: Callable[..., Engine], keyed_engine: Engine
) -> None:
    fill(make_db_engine(fresh_database_url), 3)
    fill(keyed_engine, 3)
    as_owner(make_db_engine(fresh_database_url), "DELETE FROM audit_log WHERE key_id IS NOT NULL")
    code, output = cli(fresh_database_url, "audit", "verify", key=KEY)
    assert code == 0  # the remaining chain is whole; the warning is what tells
    assert "warning: an audit key is configured but no entry is keyed" in output
