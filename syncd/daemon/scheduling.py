"""Schedules from configuration, and the failure backoff every scheduled job gets.

``daemon.schedules`` maps a job name to ``"every 30s"`` (also ``m``, ``h``, ``d``) or
``"cron: */5 * * * *"``; all times are UTC. ``make_trigger`` turns one into an APScheduler trigger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.settings import schedule_cron, schedule_interval


class ScheduleError(Exception):
    """The configured schedule cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def make_trigger(text: str) -> BaseTrigger:
    """The trigger for one schedule string; raises ``ValueError`` saying what is wrong."""
    interval = schedule_interval(text)
    if interval is not None:
        if interval <= 0:
            raise ValueError("the interval must be above zero")
        return IntervalTrigger(seconds=interval, timezone=UTC)
    fields = schedule_cron(text)
    if fields is None:
        raise ValueError(f"{text!r} is neither 'every <n>s|m|h|d' nor 'cron: <5 fields>'")
    return CronTrigger.from_crontab(fields, timezone=UTC)


def make_triggers(schedules: dict[str, str], known: set[str]) -> dict[str, BaseTrigger]:
    """A trigger per job; raises ``ScheduleError`` listing unknown jobs and bad schedules."""
    problems: list[str] = []
    triggers: dict[str, BaseTrigger] = {}
    for job, text in sorted(schedules.items()):
        if job not in known:
            problems.append(
                f"daemon.schedules.{job}: no such job here (known: {', '.join(sorted(known))})"
            )
            continue
        try:
            triggers[job] = make_trigger(text)
        except ValueError as exc:
            problems.append(f"daemon.schedules.{job}: {exc}")
    if problems:
        raise ScheduleError(problems)
    return triggers


@dataclass(slots=True)
class _Failures:
    count: int = 0
    skipped: int = 0
    last_failure: float = 0.0


class Backoff:
    """After ``n`` failures in a row a job skips its next ``2**(n-1) - 1`` runs (0, 1, 3, 7, ...),
    but never waits longer than ``max_seconds`` since its last failure. Thread-safe."""

    def __init__(self, max_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_seconds = max_seconds
        self._monotonic = clock
        self._jobs: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def should_skip(self, job: str) -> bool:
        """Whether this run of ``job`` is skipped; counts the skip."""
        with self._lock:
            state = self._jobs.get(job)
            if state is None or state.count == 0:
                return False
            waited = self._monotonic() - state.last_failure
            if state.skipped >= 2 ** (state.count - 1) - 1 or waited >= self.max_seconds:
                return False
            state.skipped += 1
            return True

    def failed(self, job: str) -> int:
        """Record a failure; returns how many in a row."""
        with self._lock:
            state = self._jobs.setdefault(job, _Failures())
            state.count += 1
            state.skipped = 0
            state.last_failure = self._monotonic()
            return state.count

    def succeeded(self, job: str) -> None:
        with self._lock:
            self._jobs.pop(job, None)

    def failures(self, job: str) -> int:
        with self._lock:
            state = self._jobs.get(job)
            return state.count if state else 0

    def retry_in(self, job: str, interval: timedelta | None) -> str:
        """For log lines: 'next try in about ...' given the job's interval, if known."""
        with self._lock:
            state = self._jobs.get(job)
            skips = 2 ** (state.count - 1) - 1 if state else 0
        if interval is None:
            return f"skipping {skips} run(s)" if skips else "trying again on the next run"
        seconds = min((skips + 1) * interval.total_seconds(), self.max_seconds)
        return f"next try in about {seconds:.0f}s"
