"""The daemon part of `make demo` works on the embedded SQLite default."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import DatabaseSettings, PathSettings, Settings
from demo.daemon import run_daemon_demo
from syncd.store import migrate
from syncd.store.engine import make_engine

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "package"

pytestmark = pytest.mark.slow


def test_the_demo_daemon_imports_the_example_package_and_stops_cleanly(tmp_path: Path) -> None:
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'demo.db'}"),
        paths=PathSettings(data_dir=tmp_path / "data"),
    )
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    engine.dispose()
    lines: list[str] = []

    summary = run_daemon_demo(settings, tmp_path, EXAMPLE, say=lines.append)

    assert summary.ok, summary.failures
    assert summary.outcome == "succeeded"
    assert summary.records_written > 0
    assert summary.ready
    assert summary.watchdog_pings >= 1
    assert summary.exit_code == 0
    assert [p.name.split("_", 1)[1] for p in (tmp_path / "done").iterdir()] == ["package"]
    assert any("ready, serving http://127.0.0.1:" in line for line in lines)
