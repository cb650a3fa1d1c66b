"""``onec-sync run`` as a real process, supervised the way systemd does (a notify socket).

It imports from its folder inbox on a 1-second schedule, answers /health, /ready and /metrics,
pings the watchdog, stops in the middle of an import on SIGTERM with the database consistent,
and finishes that import after a restart.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from syncd.daemon.supervise import DaemonFailed, wait_until
from syncd.store import audit, models
from tests.cml_builder import catalog, write_package
from tests.daemon.conftest import count
from tests.daemon.daemonrun import get, health, launch, log_entries, metric, scrape, write_config
from tests.daemon.odata_standin import ODataStandIn
from tests.odata import data
from tests.odata.fake1c import Fake1C

pytestmark = pytest.mark.slow


def done(root: Path) -> list[str]:
    folder = root / "done"
    return sorted(p.name.split("_", 1)[1] for p in folder.iterdir()) if folder.exists() else []


def drop(root: Path, name: str, products: int, *, prefix: str) -> None:
    """Write a package into a hidden folder, then move it into the inbox with its marker."""
    staging = root / f".{name}"
    write_package(staging, catalog(products, prefix=prefix))
    (staging / "complete").touch()
    staging.rename(root / "inbox" / name)


def rows(engine: Engine, model: type[models.Base], prefix: str) -> int:
    column = model.__table__.c.onec_id  # type: ignore[attr-defined]
    with Session(engine) as session:
        query = select(func.count()).select_from(model).where(column.like(f"{prefix}-%"))
        return int(session.execute(query).scalar_one())


def test_imports_on_schedule_stops_mid_import_on_sigterm_and_finishes_after_restart(
    fresh_sqlite_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> None:
    config = write_config(
        tmp_path / "onec-sync.toml", database_url=fresh_sqlite_url, root=tmp_path,
        schedules={"folder_scan": "every 1s"}, extra="[import]\nbatch_size = 100\n",
    )  # fmt: skip
    engine = make_db_engine(fresh_sqlite_url)
    # Polls read through a plain engine: make_engine's SQLite transactions take the write lock
    # up front (BEGIN IMMEDIATE), and would queue behind the daemon's batches.
    reader = create_engine(fresh_sqlite_url)
    daemon = launch(config, watchdog_seconds=2)
    try:
        ready = daemon.wait_for("READY=1")
        daemon.wait_for("WATCHDOG=1", after=ready, timeout=5)
        assert wait_until(lambda: daemon.count("WATCHDOG=1") >= 3, timeout=5)  # every second
        assert get(daemon, "/health").json()["jobs"]["folder_scan"]["schedule"] == "every 1s"
        assert get(daemon, "/ready").json() == {
            "ready": True, "database": "ok", "schema": "current", "stopping": False,
        }  # fmt: skip
        before = scrape(daemon)

        drop(tmp_path, "small", 5, prefix="S")
        assert wait_until(lambda: done(tmp_path) == ["small"], timeout=20), daemon.log_text()
        assert rows(engine, models.Product, "S") == 5
        succeeded = {"job": "folder_scan", "outcome": "succeeded"}
        assert wait_until(  # counted when the job returns, just after it moved the package
            lambda: metric(scrape(daemon), "onec_sync_job_runs_total", **succeeded) >= 1,
            timeout=10,
        )
        after = scrape(daemon)
        written = "onec_sync_records_written_total"
        assert metric(after, written, stream="folder") > metric(before, written, stream="folder")
        assert metric(after, "onec_sync_stream_duration_seconds_count", stream="folder") >= 1
        assert 0 <= metric(after, "onec_sync_import_lag_seconds", stream="commerceml") < 60
        assert metric(after, "onec_sync_job_leader", job="folder_scan") == 1
        assert metric(after, "onec_sync_database_up") == 1

        drop(tmp_path, "big", 8000, prefix="B")
        assert wait_until(lambda: rows(reader, models.Product, "B") >= 300, timeout=30)
        asked = time.monotonic()
        assert daemon.stop(timeout=60) == 0
        took = time.monotonic() - asked
    finally:
        daemon.stop()
    reader.dispose()
    assert took < 20, "it must stop within daemon.stop_timeout_seconds"
    assert daemon.count("STOPPING=1") == 1

    # The database is consistent: every committed batch is recorded in its file's checkpoint.
    with Session(engine) as session:
        run = session.execute(
            select(models.SyncRun).where(models.SyncRun.source == "folder:" + _claimed(tmp_path))
        ).scalar_one()
        assert run.status == "interrupted"
        recorded = {"products": 0, "offers": 0}
        for run_file in run.files:
            by_table = (run_file.counts or {}).get("by_table", {})
            for table in recorded:
                recorded[table] += by_table.get(table, {}).get("inserted", 0)
    assert rows(engine, models.Product, "B") > 0  # stopped in the middle, not before
    assert rows(engine, models.Product, "B") == recorded["products"]
    assert rows(engine, models.Offer, "B") == recorded["offers"]
    assert done(tmp_path) == ["small"]  # the stopped package is still claimed, not moved

    again = launch(config)
    try:
        assert wait_until(lambda: done(tmp_path) == ["big", "small"], timeout=60), again.log_text()
    finally:
        assert again.stop() == 0
    offers = sum(len(p.variants) or 1 for p in catalog(8000, prefix="B"))
    assert rows(engine, models.Product, "B") == 8000
    assert rows(engine, models.Offer, "B") == offers
    with Session(engine) as session:
        statuses = session.execute(select(models.SyncRun.status)).scalars().all()
        assert sorted(statuses) == ["succeeded", "succeeded"]  # the big run resumed, not redone
        assert audit.verify(session).ok

    # Every line a job logged carries the job and the id of that job's run.
    job_lines = [e for e in log_entries(daemon) if e["logger"] == "syncd.daemon.inbox"]
    assert job_lines
    assert all(e.get("job") == "folder_scan" and e.get("run_id") for e in job_lines)


def _claimed(root: Path) -> str:
    processing = root / "inbox" / ".onec-sync" / "processing"
    [package] = [p.name for p in processing.iterdir()]
    return package


def test_an_unusable_schedule_or_an_old_schema_exits_78_for_systemd_not_to_retry(
    fresh_sqlite_url: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "bad.toml", database_url=fresh_sqlite_url, root=tmp_path,
        schedules={"folder_scan": "every 1s", "odata_unknown": "every 1m"},
    )  # fmt: skip
    with pytest.raises(DaemonFailed) as caught:
        launch(config, ready_timeout=20)
    assert "odata_unknown: no such job" in str(caught.value)

    empty = write_config(
        tmp_path / "empty.toml", database_url=f"sqlite:///{tmp_path / 'empty.db'}",
        root=tmp_path, schedules={},
    )  # fmt: skip
    with pytest.raises(DaemonFailed) as caught:
        launch(empty, ready_timeout=20)
    assert "onec-sync db upgrade" in str(caught.value)


def test_the_daemon_pulls_from_1c_over_odata_on_its_schedule(
    fresh_sqlite_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> None:
    fake = Fake1C()
    data.fill(fake, products=12, groups=2)
    standin = ODataStandIn(fake)
    config = write_config(
        tmp_path / "onec-sync.toml", database_url=fresh_sqlite_url, root=tmp_path,
        schedules={"odata": "every 1s", "folder_scan": "every 1s"},
        extra=f'[odata]\nurl = "{standin.url}"\nusername = "Обмен"\n'
        "backoff_initial_seconds = 0.1\nbackoff_max_seconds = 0.5\n",
    )  # fmt: skip
    engine = make_db_engine(fresh_sqlite_url)
    product = data.ref("product", 3)
    daemon = launch(config)
    try:
        assert wait_until(lambda: count(engine, models.Product) == 12, timeout=30), (
            daemon.log_text()
        )
        products = {"stream": "odata:products"}
        assert wait_until(  # the run's metrics are counted when the whole pull has finished
            lambda: metric(scrape(daemon), "onec_sync_records_written_total", **products) >= 12,
            timeout=15,
        )
        first = scrape(daemon)
        written = metric(first, "onec_sync_records_written_total", **products)
        assert metric(first, "onec_sync_stream_runs_total", stream="odata:prices")

        fake.put(data.PRODUCTS, data.product_row(3, group=1, Description="Переименован в 1С"))
        assert wait_until(lambda: _name(engine, product) == "Переименован в 1С", timeout=15)
        again = scrape(daemon)
        assert wait_until(
            lambda: metric(scrape(daemon), "onec_sync_records_written_total", **products) > written,
            timeout=15,
        )
        assert 0 <= metric(again, "onec_sync_import_lag_seconds", stream="odata") < 30
    finally:
        code = daemon.stop()
        standin.close()
    assert code == 0


def _name(engine: Engine, onec_id: str) -> str | None:
    with Session(engine) as session:
        return session.execute(
            select(models.Product.name).where(models.Product.onec_id == onec_id)
        ).scalar_one_or_none()


def test_sighup_reloads_the_schedule_and_refuses_a_broken_configuration(
    fresh_sqlite_url: str, tmp_path: Path
) -> None:
    config_path = tmp_path / "onec-sync.toml"

    def configure(schedules: dict[str, str]) -> None:
        write_config(config_path, database_url=fresh_sqlite_url, root=tmp_path,
                     schedules=schedules)  # fmt: skip

    configure({"housekeeping": "every 1s"})
    daemon = launch(config_path)
    try:
        drop(tmp_path, "waiting", 3, prefix="W")
        time.sleep(2)
        assert done(tmp_path) == []  # no folder_scan job yet

        configure({"housekeeping": "every 1s", "folder_scan": "every 1s"})
        daemon.process.send_signal(signal.SIGHUP)
        assert wait_until(lambda: done(tmp_path) == ["waiting"], timeout=15), daemon.log_text()
        assert set(health(daemon)["jobs"]) == {"exchange_sweep", "folder_scan", "housekeeping"}

        configure({"folder_scan": "every 1s", "nonsense": "every 1s"})
        daemon.process.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "reload refused" in daemon.log_text(), timeout=10)
        assert set(health(daemon)["jobs"]) == {"exchange_sweep", "folder_scan", "housekeeping"}
        drop(tmp_path, "still-working", 3, prefix="X")
        assert wait_until(lambda: len(done(tmp_path)) == 2, timeout=15)
    finally:
        assert daemon.stop() == 0
