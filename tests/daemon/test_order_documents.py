"""Order documents 1C writes back arrive by the folder inbox or ``onec-sync import`` too, and are
applied as the sale exchange applies them: status (through the status map), 1C's number, posting,
one history row per change; repeating the file changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cli import main
from config import ExchangeSettings, Settings
from syncd.daemon.inbox import scan_inbox
from syncd.exchange.emulator import updates_document
from syncd.store.models import AuditEntry, Order, OrderStatusChange, SyncRun
from tests.daemon.conftest import backdate, folder_settings, never, no_wait
from tests.daemon.daemonrun import write_config


def place(engine: Engine, *numbers: str) -> None:
    with Session(engine) as session:
        for number in numbers:
            session.add(Order(number=number, total=Decimal("100.00")))
        session.commit()


def orders(engine: Engine) -> dict[str, tuple[str, str | None, bool | None]]:
    with Session(engine) as session:
        return {
            o.number: (o.status, o.onec_number, o.posted) for o in session.scalars(select(Order))
        }


def history(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(OrderStatusChange).order_by(OrderStatusChange.id))
        return [(row.status, row.source) for row in rows]


@pytest.fixture
def setup(
    fresh_database_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> tuple[Settings, Engine]:
    settings = folder_settings(fresh_database_url, tmp_path)
    settings = replace(settings, exchange=ExchangeSettings(status_map={"Отгружен": "shipped"}))
    return settings, make_db_engine(fresh_database_url)


def test_an_order_status_document_dropped_in_the_folder_inbox_changes_the_order_as_the_sale_exchange_does(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    place(engine, "F-1", "F-2")
    document = settings.folder.inbox / "documents___1.xml"
    document.write_bytes(updates_document(["F-1"], status="Отгружен"))
    backdate(document, 60)

    outcomes = scan_inbox(settings, engine, should_stop=never, sleep=no_wait, actor="test")

    assert [o.outcome for o in outcomes] == ["succeeded"]
    assert orders(engine) == {"F-1": ("shipped", "ЗК-000001", True), "F-2": ("new", None, False)}
    assert history(engine) == [("shipped", "1c-import")]
    with Session(engine) as session:
        run = session.scalars(select(SyncRun)).one()
        assert run.counts["by_table"] == {"orders": {"updated": 1}}


def test_the_same_order_document_dropped_again_changes_nothing(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    place(engine, "F-1")
    body = updates_document(["F-1"], status="Отгружен")
    for attempt in ("first", "second"):
        folder = settings.folder.inbox / attempt
        folder.mkdir()
        # Other bytes (a file identical to one imported before is not read again), same content.
        (folder / "orders-1.xml").write_bytes(body + (b"\n" if attempt == "second" else b""))
        backdate(folder, 60)
        outcomes = scan_inbox(settings, engine, should_stop=never, sleep=no_wait, actor="test")
        assert [o.outcome for o in outcomes] == ["succeeded" if attempt == "first" else "unchanged"]
    assert history(engine) == [("shipped", "1c-import")]


def test_onec_sync_import_applies_an_orders_file_and_warns_of_unknown_orders(
    fresh_database_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> None:
    config = write_config(
        tmp_path / "onec-sync.toml", database_url=fresh_database_url, root=tmp_path, schedules={}
    )
    engine = make_db_engine(fresh_database_url)
    place(engine, "C-1")
    path = tmp_path / "orders-20240501.xml"
    path.write_bytes(updates_document(["C-1", "NOT-OURS"], status="Принят"))

    result = CliRunner().invoke(
        main, ["--config", str(config), "import", str(path)], env={"ONEC_SYNC_CONFIG": ""}
    )

    assert result.exit_code == 0, result.output
    assert orders(engine) == {"C-1": ("Принят", "ЗК-000001", True)}
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.run")).one()
        assert entry.outcome == "succeeded"
        assert entry.counts["warnings"] == 1
        assert "NOT-OURS" in entry.counts["notes"][0]
