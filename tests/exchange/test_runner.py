"""The import job runner: one job per key, polls never wait past their budget."""

from __future__ import annotations

import threading

from syncd.exchange.runner import JobKey, JobOutcome, JobProgress, JobRunner


def test_a_repeated_poll_joins_the_running_job_and_a_poll_returns_within_its_budget() -> None:
    release = threading.Event()
    calls: list[JobKey] = []

    def work(key: JobKey, progress: JobProgress, stop: threading.Event) -> JobOutcome:
        calls.append(key)
        progress.stage, progress.done, progress.total = "records imported", 5 * 2**20, 10 * 2**20
        release.wait(5)
        return JobOutcome(True, "done")

    runner = JobRunner(work, on_crash=lambda key, reason: None)
    try:
        job = runner.submit((1, "import.xml"))
        assert job.wait(0.05) is None
        assert runner.submit((1, "import.xml")) is job
        assert job.progress.text() == "5.0/10.0 MB records imported"
        release.set()
        assert job.wait(5) == JobOutcome(True, "done")
        assert calls == [(1, "import.xml")]
        runner.forget((1, "import.xml"))
        assert runner.get((1, "import.xml")) is None
    finally:
        runner.stop()


def test_a_job_that_raises_ends_with_a_reason_and_is_recorded() -> None:
    recorded: list[tuple[JobKey, str]] = []

    def work(key: JobKey, progress: JobProgress, stop: threading.Event) -> JobOutcome:
        raise OSError("disk full")

    runner = JobRunner(work, on_crash=lambda key, reason: recorded.append((key, reason)))
    try:
        outcome = runner.submit((7, "offers.xml")).wait(5)
        assert outcome is not None
        assert not outcome.ok
        assert "disk full" in outcome.message
        assert recorded == [((7, "offers.xml"), outcome.message)]
    finally:
        runner.stop()


def test_stopping_asks_running_jobs_to_stop() -> None:
    started = threading.Event()

    def work(key: JobKey, progress: JobProgress, stop: threading.Event) -> JobOutcome:
        started.set()
        stopped = stop.wait(5)
        return JobOutcome(False, "stopped", interrupted=stopped)

    runner = JobRunner(work, on_crash=lambda key, reason: None)
    job = runner.submit((1, "a.xml"))
    assert started.wait(5)
    runner.stop()
    outcome = job.wait(0)
    assert outcome is not None
    assert outcome.interrupted
