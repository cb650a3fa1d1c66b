"""The running daemon anchors the audit chain outside the database and backs the database up."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syncd.daemon.supervise import wait_until
from syncd.store import audit
from tests.cml_builder import catalog, write_package
from tests.daemon.daemonrun import launch, log_entries, write_config

pytestmark = pytest.mark.slow


def test_the_daemon_logs_the_audit_head_after_a_run_and_anchors_and_backs_up_on_schedule(
    fresh_sqlite_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> None:
    anchors, backups = tmp_path / "anchors.log", tmp_path / "backups"
    config = write_config(
        tmp_path / "onec-sync.toml", database_url=fresh_sqlite_url, root=tmp_path,
        schedules={"folder_scan": "every 1s", "audit_anchor": "every 1s", "backup": "every 2s"},
        extra=f'[audit]\nanchor_file = "{anchors}"\n[backup]\ndir = "{backups}"\nkeep_count = 2\n'
        "keep_days = 0\n",
    )  # fmt: skip
    daemon = launch(config)
    try:
        daemon.wait_for("READY=1")
        staging = tmp_path / ".pkg"
        write_package(staging, catalog(5))
        (staging / "complete").touch()
        staging.rename(tmp_path / "inbox" / "pkg")
        assert wait_until(lambda: (tmp_path / "done").exists(), timeout=30), daemon.log_text()
        backed_up = lambda: daemon.log_text().count("backup succeeded") >= 3  # noqa: E731
        assert wait_until(backed_up, timeout=30), daemon.log_text()
    finally:
        assert daemon.stop() == 0
    with Session(make_db_engine(fresh_sqlite_url)) as session:
        head = audit.head(session)
    assert head is not None
    heads = [e for e in log_entries(daemon) if e["message"].startswith("audit head: entry")]
    after_import = [e for e in heads if e.get("job") == "folder_scan"]
    assert after_import, "no audit head logged after the import"
    assert f"audit head: entry {head[0]} {head[1]}" in {e["message"] for e in heads}
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert lines
    assert lines[-1]["id"] == head[0]
    assert len(list(backups.glob("*.manifest.json"))) == 2  # rotated to backup.keep_count
