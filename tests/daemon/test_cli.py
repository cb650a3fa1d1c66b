"""The admin's commands for the daemon's work: `sync folder`, `sync housekeeping`, `status`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from syncd.daemon.leadership import Leadership
from syncd.store import models
from syncd.store.locks import named_lock
from tests.daemon.conftest import backdate, count, drop_package
from tests.daemon.daemonrun import write_config


def invoke(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--config", str(config), *args], env={"ONEC_SYNC_CONFIG": ""}
    )
    return result.exit_code, result.output


@pytest.fixture
def config(fresh_database_url: str, tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "onec-sync.toml", database_url=fresh_database_url, root=tmp_path, schedules={}
    )


def test_sync_folder_imports_the_inbox_now_like_the_scheduled_job(
    config: Path, tmp_path: Path, fresh_database_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    drop_package(tmp_path / "inbox", "exchange-7", products=6)

    code, output = invoke(config, "sync", "folder")

    assert code == 0, output
    assert "folder_scan: succeeded: exchange-7 succeeded" in output
    assert count(make_db_engine(fresh_database_url), models.Product) == 6
    code, output = invoke(config, "sync", "folder", "--json")
    assert code == 0
    assert json.loads(output)["outcome"] == "idle"


def test_sync_folder_says_a_failed_package_and_exits_1(config: Path, tmp_path: Path) -> None:
    package = drop_package(tmp_path / "inbox", "broken")
    (package / "import.xml").write_text("<КоммерческаяИнформация>", encoding="utf-8")
    backdate(package, 60)

    code, output = invoke(config, "sync", "folder")

    assert code == 1
    assert "broken failed" in output
    assert (tmp_path / "failed").is_dir()


def test_sync_folder_waits_its_turn_when_another_process_scans(
    config: Path, tmp_path: Path, fresh_database_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    drop_package(tmp_path / "inbox", "later")
    with named_lock(make_db_engine(fresh_database_url), "folder-scan"):
        code, output = invoke(config, "sync", "folder")
    assert code == 75
    assert "folder-scan is held: another run is in progress" in output
    assert (tmp_path / "inbox" / "later").is_dir()


def test_sync_folder_without_an_inbox_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "none.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n', encoding="utf-8")
    invoke(config, "db", "upgrade")
    code, output = invoke(config, "sync", "folder")
    assert code == 78
    assert "folder.inbox is not set" in output


def test_status_shows_streams_lag_orders_and_the_last_exchange_session(
    config: Path, tmp_path: Path
) -> None:
    drop_package(tmp_path / "inbox", "p1")
    assert invoke(config, "sync", "folder")[0] == 0

    code, output = invoke(config, "status", "--json")

    assert code == 0, output
    status = json.loads(output)
    [stream] = status["streams"]
    assert stream["stream"] == "commerceml"
    assert stream["status"] == "succeeded"
    assert 0 <= stream["lag_seconds"] < 60
    assert status["orders"] == {"pending": 0, "outbox": {}}
    assert status["exchange"]["last"] is None
    code, text = invoke(config, "status")
    assert code == 0
    assert "commerceml" in text
    assert "orders: 0 not yet in 1C" in text


@pytest.mark.postgres
def test_status_names_the_daemon_leading_each_job(
    fresh_pg_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> None:
    config = write_config(tmp_path / "c.toml", database_url=fresh_pg_url, root=tmp_path,
                          schedules={})  # fmt: skip
    leadership = Leadership(make_db_engine(fresh_pg_url))
    assert leadership.lead("folder_scan")
    try:
        code, output = invoke(config, "status", "--json")
    finally:
        leadership.release_all()
    assert code == 0, output
    [leader] = json.loads(output)["leaders"]
    assert leader["job"] == "folder_scan"
    assert "pid" in leader["daemon"]


def test_sync_housekeeping_reports_what_it_removed(config: Path, tmp_path: Path) -> None:
    code, output = invoke(config, "sync", "housekeeping")
    assert code == 0, output
    assert output.startswith("housekeeping: idle: nothing old")
