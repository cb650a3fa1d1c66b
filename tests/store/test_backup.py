"""Backups and restores, and the restore drill: a backup taken while an import runs comes back
whole, with its audit chain matching the anchors written before the loss."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cli import main
from config import BackupSettings, DatabaseSettings, Settings
from syncd.importer.pipeline import Progress, import_files
from syncd.store import backup, migrate, models
from syncd.store.backup import Query
from tests.cml_builder import catalog, write_package

TABLES = [t.name for t in models.Base.metadata.sorted_tables]


def cli(url: str, *args: str) -> tuple[int, str]:
    env = {
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": url,
        "ONEC_SYNC_DATABASE_AUDIT_KEY": "",
    }
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def add_order(engine: Engine, number: str) -> None:
    with Session(engine) as session:
        order = models.Order(number=number, total=Decimal("150.00"), customer={"name": "Ann"})
        order.lines.append(
            models.OrderLine(
                line_no=1, offer_onec_id="P-00001", product_onec_id="P-00001", name="Товар 1",
                quantity=Decimal(1), price=Decimal("150.00"), total=Decimal("150.00"),
            )
        )  # fmt: skip
        session.add(order)
        session.commit()


def every_row(query: Query) -> dict[str, list[tuple[Any, ...]]]:
    return {table: query(f'SELECT * FROM "{table}" ORDER BY 1') for table in TABLES}


def query_of(url: str) -> tuple[Query, Callable[[], None]]:
    """A query function on ``url`` of the same kind the backup's snapshot hands out."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database or "")
        return (lambda sql: conn.execute(sql).fetchall()), conn.close
    engine = create_engine(url)
    connection = engine.connect()

    def close() -> None:
        connection.close()
        engine.dispose()

    return (lambda sql: [tuple(r) for r in connection.execute(text(sql))]), close


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "postgresql":
        url: str = request.getfixturevalue("empty_pg_url")
        return url
    return f"sqlite:///{tmp_path / 'restored' / 'onec-sync.db'}"


def test_restore_drill_a_backup_taken_during_an_import_comes_back_as_it_was(
    fresh_database_url: str,
    empty_database_url: str,
    make_db_engine: Callable[..., Engine],
    tmp_path: Path,
) -> None:
    settings = Settings(database=DatabaseSettings(url=fresh_database_url))
    engine = make_db_engine(fresh_database_url)
    first = write_package(tmp_path / "first", catalog(40))
    import_files(engine, first, settings, actor="drill")
    add_order(engine, "A-1")
    anchors = tmp_path / "anchors.log"
    assert cli(fresh_database_url, "audit", "anchor", str(anchors))[0] == 0

    seen: dict[str, list[tuple[Any, ...]]] = {}
    made: list[backup.Backup] = []

    def back_up_midway(progress: Progress) -> None:
        if not made and progress.records_done >= 300:
            made.append(
                backup.take_backup(
                    settings.database,
                    tmp_path / "backups",
                    on_snapshot=lambda q: seen.update(every_row(q)),
                )
            )

    second = write_package(tmp_path / "second", catalog(600, prefix="Q"))
    small = Settings(database=settings.database, import_=type(settings.import_)(batch_size=50))
    import_files(engine, second, small, actor="drill", on_progress=back_up_midway)
    add_order(engine, "A-2")
    assert made, "the import never reported progress"
    taken = made[0]
    products_then = len(seen["products"])
    assert 40 < products_then < 640, "the backup was not taken while the import ran"
    assert taken.manifest.schema_revision == migrate.head_revision()

    code, output = cli(empty_database_url, "restore", str(taken.path))
    assert code == 0, output
    code, output = cli(empty_database_url, "audit", "verify", "--anchors", str(anchors))
    assert code == 0, output
    assert "anchors: all 1 match the log" in output

    query, close = query_of(empty_database_url)
    try:
        restored = every_row(query)
        head = query("SELECT id, entry_hash FROM audit_log ORDER BY id DESC LIMIT 1")[0]
        numbers = query("SELECT number FROM orders")
    finally:
        close()
    assert restored == seen
    assert numbers == [("A-1",)]
    assert head == (taken.manifest.audit_head_id, taken.manifest.audit_head_hash)
    restored_engine = make_db_engine(empty_database_url)
    with pytest.raises(DBAPIError), restored_engine.begin() as conn:  # still append-only
        conn.execute(text("DELETE FROM audit_log"))


def test_restore_refuses_a_damaged_backup_and_leaves_the_target_empty(
    fresh_database_url: str, empty_database_url: str, tmp_path: Path
) -> None:
    code, output = cli(fresh_database_url, "backup", "--dir", str(tmp_path / "b"))
    assert code == 0, output
    data = next(p for p in (tmp_path / "b").iterdir() if not p.name.endswith(".json"))
    content = bytearray(data.read_bytes())
    content[len(content) // 2] ^= 0xFF
    data.write_bytes(bytes(content))
    code, output = cli(empty_database_url, "restore", str(data))
    assert code == 1
    assert "does not match its manifest" in output
    assert "the file is damaged" in output
    if empty_database_url.startswith("sqlite"):
        assert not Path(make_url(empty_database_url).database or "").exists()
    else:
        target = create_engine(empty_database_url)
        assert inspect(target).get_table_names() == []
        target.dispose()


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    fresh_database_url: str, tmp_path: Path
) -> None:
    code, output = cli(fresh_database_url, "backup", "--dir", str(tmp_path / "b"), "--json")
    assert code == 0, output
    manifest = json.loads(output)
    code, output = cli(fresh_database_url, "restore", str(tmp_path / "b" / manifest["file"]))
    assert code == 1
    assert "is not empty" in output
    assert "--force" in output
    code, output = cli(
        fresh_database_url, "restore", str(tmp_path / "b" / manifest["file"]), "--force"
    )
    assert code == 0, output


def test_restore_refuses_a_schema_revision_it_does_not_know(
    fresh_database_url: str, empty_database_url: str, tmp_path: Path
) -> None:
    made = backup.take_backup(DatabaseSettings(url=fresh_database_url), tmp_path / "b")
    raw = json.loads(made.manifest_path.read_text())
    raw["schema_revision"] = "9999"
    made.manifest_path.write_text(json.dumps(raw))
    code, output = cli(empty_database_url, "restore", str(made.manifest_path))
    assert code == 1
    assert "schema revision 9999, which this onec-sync does not know" in output


def test_restore_of_a_file_without_a_manifest_is_refused_in_one_line(
    fresh_sqlite_url: str, tmp_path: Path
) -> None:
    stray = tmp_path / "somewhere.dump"
    stray.write_bytes(b"not a backup")
    code, output = cli(fresh_sqlite_url, "restore", str(stray))
    assert code == 1
    assert "no manifest somewhere.manifest.json" in output
    assert "Traceback" not in output


def test_rotation_keeps_the_newest_by_count_and_the_young_by_age(tmp_path: Path) -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    for days in (0, 1, 2, 40, 50):
        stem = f"onec-sync-{days:02d}"
        (tmp_path / f"{stem}.sqlite").write_bytes(b"x")
        manifest = backup.Manifest(
            created_at=(now - timedelta(days=days)).isoformat(), dialect="sqlite",
            file=f"{stem}.sqlite", size=1, sha256="0" * 64, schema_revision="0004",
            audit_head_id=None, audit_head_hash=None,
        )  # fmt: skip
        (tmp_path / f"{stem}{backup.MANIFEST_SUFFIX}").write_text(json.dumps(asdict(manifest)))
    removed = backup.rotate(BackupSettings(dir=tmp_path, keep_count=2, keep_days=30), now=now)
    assert sorted(p.name for p in removed) == ["onec-sync-40.sqlite", "onec-sync-50.sqlite"]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [
        "onec-sync-00.manifest.json", "onec-sync-00.sqlite", "onec-sync-01.manifest.json",
        "onec-sync-01.sqlite", "onec-sync-02.manifest.json", "onec-sync-02.sqlite",
    ]  # fmt: skip


def test_backup_of_a_missing_sqlite_database_is_one_line(tmp_path: Path) -> None:
    code, output = cli(f"sqlite:///{tmp_path / 'none.db'}", "backup", "--dir", str(tmp_path))
    assert code == 78  # the database is checked before any command that needs it
    assert "none.db does not exist: run `onec-sync db upgrade`" in output
    assert len(output.strip().splitlines()) == 1
    assert not (tmp_path / "none.db").exists()  # checking did not create it


def test_a_manifest_naming_a_file_elsewhere_is_refused(
    fresh_sqlite_url: str, tmp_path: Path
) -> None:
    made = backup.take_backup(DatabaseSettings(url=fresh_sqlite_url), tmp_path / "b")
    raw = json.loads(made.manifest_path.read_text())
    raw["file"] = "../../elsewhere.sqlite"
    made.manifest_path.write_text(json.dumps(raw))
    code, output = cli(f"sqlite:///{tmp_path / 'new.db'}", "restore", str(made.manifest_path))
    assert code == 1
    assert "must name a file beside it" in output


def test_a_backup_is_readable_by_its_owner_only(fresh_sqlite_url: str, tmp_path: Path) -> None:
    made = backup.take_backup(DatabaseSettings(url=fresh_sqlite_url), tmp_path / "b")
    assert made.path.stat().st_mode & 0o777 == 0o600
    assert not list((tmp_path / "b").glob("*.partial"))
