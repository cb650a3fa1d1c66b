"""The daemon writes the audit chain's head outside the database: a log line, and the anchor file."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config import AuditSettings, DatabaseSettings, Settings
from syncd.daemon.jobs import JobContext, audit_anchor
from syncd.store import audit


def test_the_audit_anchor_job_logs_the_head_and_appends_it_to_the_anchor_file(
    fresh_sqlite_url: str,
    make_db_engine: Callable[..., Engine],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_db_engine(fresh_sqlite_url)
    with Session(engine) as session:
        entry = audit.append(session, action="import.run", outcome="succeeded")
        session.commit()
        head = (entry.id, entry.entry_hash)
    anchors = tmp_path / "anchors.log"
    settings = Settings(
        database=DatabaseSettings(url=fresh_sqlite_url), audit=AuditSettings(anchor_file=anchors)
    )
    with caplog.at_level(logging.INFO, logger="syncd.daemon.jobs"):
        report = audit_anchor(JobContext(settings=settings, engine=engine))
        audit_anchor(JobContext(settings=settings, engine=engine))
    assert report.outcome == "succeeded"
    assert f"audit head: entry {head[0]} {head[1]}" in caplog.text
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert [(a["id"], a["hash"]) for a in lines] == [head, head]


def test_the_audit_anchor_job_on_an_empty_log_writes_nothing(
    fresh_sqlite_url: str, make_db_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.log"
    settings = Settings(
        database=DatabaseSettings(url=fresh_sqlite_url), audit=AuditSettings(anchor_file=anchors)
    )
    report = audit_anchor(JobContext(settings=settings, engine=make_db_engine(fresh_sqlite_url)))
    assert report.outcome == "idle"
    assert not anchors.exists()
