"""Schedule strings from configuration, and the failure backoff of scheduled jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config import ConfigError, DaemonSettings, DatabaseSettings, Settings, load_settings
from syncd.daemon.process import Daemon
from syncd.daemon.scheduling import Backoff, ScheduleError, make_trigger, make_triggers


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("every 1s", 1), ("every 30s", 30), ("every 15m", 900), ("every 2h", 7200), ("every 1d", 86400),
     (" every  0.5s ", 0.5)],
)  # fmt: skip
def test_every_makes_an_interval_trigger(text: str, seconds: float) -> None:
    trigger = make_trigger(text)
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(seconds=seconds)


def test_cron_makes_a_utc_cron_trigger() -> None:
    trigger = make_trigger("cron: 30 3 * * *")
    assert isinstance(trigger, CronTrigger)
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, start) == datetime(2026, 1, 2, 3, 30, tzinfo=UTC)


def test_every_problem_of_a_schedule_is_listed_at_once() -> None:
    with pytest.raises(ScheduleError) as caught:
        make_triggers(
            {"folder_scan": "cron: 61 * * * *", "nonsense": "every 1s", "housekeeping": "daily"},
            {"folder_scan", "housekeeping"},
        )
    text = "\n".join(caught.value.problems)
    assert "daemon.schedules.folder_scan" in text
    assert "daemon.schedules.nonsense: no such job here" in text
    assert "daemon.schedules.housekeeping" in text


def test_config_check_rejects_a_schedule_of_the_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "onec-sync.toml"
    path.write_text('[daemon.schedules]\nfolder_scan = "every minute"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert any("daemon.schedules.folder_scan" in p for p in caught.value.problems)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def runs_skipped_after_each_failure(backoff: Backoff, failures: int, clock: Clock) -> list[int]:
    """Fail ``failures`` times in a row; after each, count the runs skipped before the next try."""
    skipped = []
    for _ in range(failures):
        backoff.failed("job")
        n = 0
        while backoff.should_skip("job"):
            n += 1
            clock.now += 1  # one run per second
        skipped.append(n)
    return skipped


def test_a_failing_job_skips_exponentially_more_runs() -> None:
    clock = Clock()
    backoff = Backoff(max_seconds=3600, clock=clock)
    assert runs_skipped_after_each_failure(backoff, 5, clock) == [0, 1, 3, 7, 15]


def test_the_backoff_never_waits_longer_than_its_cap() -> None:
    clock = Clock()
    backoff = Backoff(max_seconds=5, clock=clock)
    assert runs_skipped_after_each_failure(backoff, 6, clock) == [0, 1, 3, 5, 5, 5]


def test_a_success_ends_the_backoff() -> None:
    clock = Clock()
    backoff = Backoff(max_seconds=3600, clock=clock)
    runs_skipped_after_each_failure(backoff, 4, clock)
    backoff.succeeded("job")
    assert backoff.failures("job") == 0
    backoff.failed("job")
    assert not backoff.should_skip("job")  # the first failure retries on the very next run


@pytest.mark.parametrize(
    ("job", "need"),
    [("folder_scan", "needs folder.inbox"), ("odata_stock", "needs odata.url"),
     ("orders_push", "needs odata.url")],
)  # fmt: skip
def test_a_scheduled_job_whose_settings_are_missing_is_refused_at_start(
    tmp_path: Path, job: str, need: str
) -> None:
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'x.db'}"),
        daemon=DaemonSettings(schedules={job: "every 1m"}),
    )
    daemon = Daemon(settings, reload=lambda: settings)
    with pytest.raises(ScheduleError) as caught:
        daemon._triggers(settings)
    assert caught.value.problems == [f"daemon.schedules.{job}: {need}"]
    daemon.engine.dispose()
