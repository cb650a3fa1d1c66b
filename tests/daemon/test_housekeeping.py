"""Housekeeping removes what is old enough and never what is still in use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config import HousekeepingSettings, Settings
from syncd.daemon.housekeeping import sweep_old_files
from syncd.daemon.jobs import JobContext, housekeeping
from syncd.store import models
from tests.daemon.conftest import backdate, folder_settings

DAY = 86400


def make_session(engine: Engine, status: str, ended_days_ago: float | None) -> int:
    now = datetime.now(UTC)
    with Session(engine) as session:
        row = models.ExchangeSession(
            token=f"t-{status}-{ended_days_ago}-{now.timestamp()}",
            type="catalog",
            username="1c",
            status=status,
            created_at=now - timedelta(days=30),
            last_seen_at=now - timedelta(days=ended_days_ago or 0),
            ended_at=now - timedelta(days=ended_days_ago) if ended_days_ago else None,
        )
        session.add(row)
        session.commit()
        return row.id


def staging(settings: Settings, session_id: int, age_days: float) -> Path:
    folder = settings.paths.exchange_dir / f"20260101T000000-{session_id}"
    folder.mkdir(parents=True)
    (folder / "import.xml").write_bytes(b"x" * 100)
    backdate(folder, age_days * DAY)
    return folder


@pytest.fixture
def settings(fresh_database_url: str, tmp_path: Path) -> Settings:
    base = folder_settings(fresh_database_url, tmp_path)
    return replace(base, housekeeping=HousekeepingSettings(exchange_staging_days=14, work_days=1))


def test_staging_of_long_ended_sessions_goes_and_open_or_recent_ones_stay(
    settings: Settings, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(settings.database.url)
    old_done = staging(settings, make_session(engine, "succeeded", 20), 20)
    old_failed = staging(settings, make_session(engine, "failed", 15), 20)
    recent = staging(settings, make_session(engine, "failed", 2), 20)
    still_open = staging(settings, make_session(engine, "open", None), 40)
    orphan_old = staging(settings, 999_999, 30)
    orphan_new = staging(settings, 999_998, 1)

    removed = {r.what: r for r in sweep_old_files(settings, engine)}

    assert not old_done.exists()
    assert not old_failed.exists()
    assert not orphan_old.exists()
    assert recent.exists()
    assert still_open.exists()
    assert orphan_new.exists()
    assert removed["exchange_staging"].entries == 3
    assert removed["exchange_staging"].bytes == 300


def test_work_quarantine_and_folder_archives_go_after_their_ages(
    settings: Settings, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(settings.database.url)
    work = settings.paths.data_dir / "work"
    (work / "old").mkdir(parents=True)
    (work / "new").mkdir()
    backdate(work / "old", 2 * DAY)
    quarantine = settings.paths.quarantine_dir
    quarantine.mkdir(parents=True)
    for name, age in (("20250101T000000.000000Z_offers.xml", 100), ("recent.xml", 10)):
        (quarantine / name).write_text("bad")
        (quarantine / f"{name}.reason.txt").write_text("why")
        backdate(quarantine / name, age * DAY)
    done, failed = settings.folder.done_path, settings.folder.failed_path
    assert done is not None
    assert failed is not None
    long_ago = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y%m%dT%H%M%S.%fZ")
    for directory in (done, failed):
        (directory / f"{long_ago}_pkg").mkdir(parents=True)
        (directory / f"{long_ago}_pkg.reason.txt").write_text("why")
        (directory / "20991231T000000.000000Z_future").mkdir()

    report = housekeeping(JobContext(settings=settings, engine=engine))

    assert sorted(p.name for p in work.iterdir()) == ["new"]
    assert sorted(p.name for p in quarantine.iterdir()) == ["recent.xml", "recent.xml.reason.txt"]
    assert sorted(p.name for p in done.iterdir()) == ["20991231T000000.000000Z_future"]
    # failed packages are kept 90 days by default
    assert len(list(failed.iterdir())) == 3
    assert report.outcome == "succeeded"
    assert "1 work" in report.summary
    assert "1 quarantine" in report.summary


def test_an_age_of_zero_keeps_everything(
    settings: Settings, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(settings.database.url)
    keep_all = replace(
        settings,
        housekeeping=HousekeepingSettings(
            exchange_staging_days=0, work_days=0, quarantine_days=0, folder_done_days=0,
            folder_failed_days=0, change_events_days=0,
        ),
    )  # fmt: skip
    old = staging(settings, 999_999, 400)
    assert [r.what for r in sweep_old_files(keep_all, engine)] == ["expired_tokens"]
    assert old.exists()


def test_logins_and_revocations_go_a_day_after_their_tokens_expired(
    settings: Settings, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(settings.database.url)
    now = datetime.now(UTC)
    ages = {"long-expired": 3.0, "just-expired": 0.5, "live": -7.0}  # days since expiry
    with Session(engine) as session:
        for name, days in ages.items():
            expires = now - timedelta(days=days)
            session.add(
                models.TokenFamily(
                    id=f"family-{name}", username="shop", current_jti=f"r-{name}",
                    expires_at=expires,
                )
            )  # fmt: skip
            session.add(models.RevokedToken(jti=f"jti-{name}", expires_at=expires))
        session.commit()

    removed = {r.what: r for r in sweep_old_files(settings, engine)}

    with Session(engine) as session:
        families = sorted(f.id for f in session.query(models.TokenFamily))
        revoked = sorted(t.jti for t in session.query(models.RevokedToken))
    assert families == ["family-just-expired", "family-live"]
    assert revoked == ["jti-just-expired", "jti-live"]
    assert removed["expired_tokens"].entries == 2
