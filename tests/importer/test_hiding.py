"""The guard on mass hiding: a full package that would hide much of the catalog waits for an
operator, who confirms or rejects it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cli import main
from config import RedisSettings, Settings
from config.settings import ImportSettings, PathSettings
from syncd.daemon.status import collect_status, format_status
from syncd.importer.hiding import HideError, confirm_hide, reject_hide
from syncd.importer.pipeline import import_files
from syncd.store import models
from tests.cml_builder import catalog, write_package

pytestmark = pytest.mark.postgres
NO_REDIS = RedisSettings()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        paths=PathSettings(data_dir=tmp_path / "data"),
        import_=ImportSettings(batch_size=50, hide_guard_share=0.2, hide_guard_min_rows=0),
    )


def visible(engine: Engine) -> int:
    table = models.table(models.Product)
    with engine.connect() as conn:
        return len(conn.execute(select(table.c.id).where(table.c.is_deleted.is_(False))).all())


def actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(
            session.execute(select(models.AuditEntry.action).order_by(models.AuditEntry.id))
            .scalars()
            .all()
        )


def test_a_full_package_hiding_more_than_the_share_holds_its_hiding_until_confirmed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "all", catalog(100)), settings)
    result = import_files(engine, write_package(tmp_path / "few", catalog(100)[:10]), settings)
    assert result.ok
    assert result.counts.hidden == 0
    assert result.held_hide is not None
    assert "90 of 100 products" in result.held_hide
    assert f"onec-sync runs confirm-hide {result.run_uuid}" in result.held_hide
    assert visible(engine) == 100  # nothing hidden yet
    assert "import.hide_held" in actions(engine)
    status = collect_status(engine)
    assert [h["run_uuid"] for h in status["held_hides"]] == [result.run_uuid]
    assert "HIDING HELD" in format_status(status)

    hidden = confirm_hide(engine, result.run_uuid, redis=NO_REDIS, actor="anna")
    assert hidden["products"] == 90
    assert visible(engine) == 10
    assert actions(engine)[-1] == "import.hide_confirmed"
    assert collect_status(engine)["held_hides"] == []
    with pytest.raises(HideError, match="no held hiding"):
        confirm_hide(engine, result.run_uuid, redis=NO_REDIS, actor="anna")


def test_a_rejected_hiding_hides_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "all", catalog(50)), settings)
    result = import_files(engine, write_package(tmp_path / "few", catalog(50)[:5]), settings)
    reject_hide(engine, result.run_uuid, actor="anna")
    assert visible(engine) == 50
    assert actions(engine)[-1] == "import.hide_rejected"
    with pytest.raises(HideError):
        confirm_hide(engine, result.run_uuid, redis=NO_REDIS, actor="anna")


def test_a_hiding_within_the_share_happens_at_once(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "all", catalog(100)), settings)
    result = import_files(engine, write_package(tmp_path / "most", catalog(100)[:85]), settings)
    assert result.held_hide is None
    assert result.counts.hidden >= 15
    assert visible(engine) == 85


def test_the_flag_allows_a_mass_hiding_up_front(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "all", catalog(60)), settings)
    files = write_package(tmp_path / "few", catalog(60)[:6])
    result = import_files(engine, files, settings, allow_mass_hide=True)
    assert result.held_hide is None
    assert visible(engine) == 6


def test_a_held_hiding_cannot_be_confirmed_after_a_later_import(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "all", catalog(40)), settings)
    held = import_files(engine, write_package(tmp_path / "few", catalog(40)[:4]), settings)
    import_files(engine, write_package(tmp_path / "again", catalog(40)), settings)
    with pytest.raises(HideError, match="out of date"):
        confirm_hide(engine, held.run_uuid, redis=NO_REDIS, actor="anna")
    assert visible(engine) == 40


def test_the_command_line_shows_the_held_hiding_and_confirms_it(
    fresh_sqlite_url: str, tmp_path: Path
) -> None:
    env = {
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": fresh_sqlite_url,
        "ONEC_SYNC_PATHS_DATA_DIR": str(tmp_path / "data"),
    }
    runner = CliRunner()
    write_package(tmp_path / "all", catalog(200))
    write_package(tmp_path / "few", catalog(200)[:20])
    assert runner.invoke(main, ["import", str(tmp_path / "all")], env=env).exit_code == 0
    held = runner.invoke(main, ["import", str(tmp_path / "few")], env=env)
    assert held.exit_code == 0, held.output
    assert "hiding held" in held.stderr
    assert "180 of 200 products" in held.stderr
    run_uuid = held.stdout.rsplit("run ", 1)[1].split()[0]
    runs = runner.invoke(main, ["runs"], env=env)
    assert "held-hide" in runs.output
    assert "STARTED (UTC)" in runs.output.splitlines()[0]
    assert "HIDING HELD" in runner.invoke(main, ["status"], env=env).output
    confirmed = runner.invoke(main, ["runs", "confirm-hide", run_uuid], env=env)
    assert confirmed.exit_code == 0, confirmed.output
    assert "180 products" in confirmed.output


def test_the_share_must_make_sense() -> None:
    bad = dataclasses.replace(ImportSettings(), hide_guard_share=0)
    assert any("hide_guard_share" in p for p in bad.problems())
