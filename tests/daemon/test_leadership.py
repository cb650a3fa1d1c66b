"""Several daemons on one PostgreSQL database: each job runs on one of them; a standby takes
over when the leader dies."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from syncd.daemon.leadership import Leadership
from syncd.daemon.supervise import DaemonProcess, wait_until
from syncd.store.locks import LockBusy, lock_key, named_lock
from tests.cml_builder import catalog, write_package
from tests.daemon.daemonrun import health, launch, metric, scrape, write_config

pytestmark = [pytest.mark.postgres]

JOBS = ["exchange_sweep", "folder_scan", "housekeeping"]
EXECUTED = ("succeeded", "unchanged", "idle", "failed", "interrupted")


def executed(daemon: DaemonProcess, job: str) -> float:
    samples = scrape(daemon)
    return sum(
        metric(samples, "onec_sync_job_runs_total", job=job, outcome=outcome)
        for outcome in EXECUTED
    )


def lock_holders(engine: Engine, job: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": lock_key("job:" + job)},
            ).scalar_one()
        )


def test_a_job_is_led_by_one_process_and_released_to_the_next(
    fresh_pg_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(fresh_pg_url)
    first, second = Leadership(engine), Leadership(engine)
    assert first.lead("folder_scan")
    assert not second.lead("folder_scan")
    assert first.lead("folder_scan")  # still ours: the check is cheap and repeatable
    # the same key as named_lock: a CLI sees it is taken
    with pytest.raises(LockBusy), named_lock(engine, "job:folder_scan", wait=False):
        pass
    first.release("folder_scan")
    assert second.lead("folder_scan")
    second.release_all()
    first.release_all()


def test_a_leader_whose_connection_died_notices_and_competes_again(
    fresh_pg_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(fresh_pg_url)
    leader = Leadership(engine)
    assert leader.lead("housekeeping")
    with engine.connect() as conn:  # the server restarts / kills the backend
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE 'onec-syncd job:housekeeping %'"
            )
        )
    other = Leadership(engine)
    assert wait_until(lambda: other.lead("housekeeping"), timeout=5)
    assert not leader.lead("housekeeping")  # it found out, and the other one leads now
    other.release_all()
    leader.release_all()


@pytest.mark.slow
def test_two_daemons_run_each_job_on_exactly_one_and_the_standby_takes_over_a_killed_leader(
    fresh_pg_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> None:
    interval = 2.0
    engine = make_db_engine(fresh_pg_url)
    schedules = dict.fromkeys(JOBS, f"every {interval:g}s")
    config = write_config(
        tmp_path / "onec-sync.toml", database_url=fresh_pg_url, root=tmp_path,
        schedules=schedules, daemon={"backoff_max_seconds": 1.0},
    )  # fmt: skip
    leader = launch(config)
    standby: DaemonProcess | None = None
    try:
        assert wait_until(lambda: health(leader)["leading"] == JOBS, timeout=15)
        standby = launch(config)
        time.sleep(3 * interval)

        assert health(leader)["leading"] == JOBS
        assert health(standby)["leading"] == []
        for job in JOBS:
            assert executed(leader, job) >= 3
            assert executed(standby, job) == 0, f"{job} ran on the standby too"
            standby_runs = scrape(standby)
            assert metric(standby_runs, "onec_sync_job_runs_total", job=job, outcome="standby")
            assert lock_holders(engine, job) == 1

        leader.kill()
        killed = time.monotonic()
        assert wait_until(lambda: health(standby)["leading"] == JOBS, timeout=3 * interval)
        took_over = time.monotonic() - killed
        write_package(tmp_path / "inbox" / "after", catalog(3))
        (tmp_path / "inbox" / "after" / "complete").touch()
        assert wait_until(lambda: (tmp_path / "done").exists(), timeout=10)
        assert executed(standby, "folder_scan") >= 1
    finally:
        leader.stop()
        if standby is not None:
            assert standby.stop() == 0
    # The standby tries at each of its runs, so it leads within one interval of the kill
    # (plus the time this test takes to poll /health).
    print(f"the standby took over {took_over:.2f}s after the kill")
    assert took_over <= interval + 0.5, f"took over after {took_over:.1f}s"
