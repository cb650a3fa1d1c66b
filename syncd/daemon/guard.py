"""The job guard: every scheduled run of every job goes through ``JobGuard.run``.

In order: skip while stopping or backing off; lead the job or stand by (``syncd.daemon.leadership``);
run it with the job and a fresh run id on every log line; log, count (``syncd.daemon.metrics``) and
remember the outcome. A job that raises or reports a failure is logged (the first time with its
traceback, then one line each), backs off (``syncd.daemon.scheduling.Backoff``) and gives up the lead so
another daemon may try; nothing a job does can take the daemon down.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from syncd.daemon.jobs import IDLE, Job, JobContext, JobReport, log_audit_head
from syncd.daemon.leadership import Leadership
from syncd.daemon.logs import log_context
from syncd.daemon.metrics import DaemonMetrics
from syncd.daemon.scheduling import Backoff
from syncd.daemon.sdnotify import Notifier
from syncd.store.locks import LockBusy

log = logging.getLogger("syncd.daemon")


@dataclass
class JobState:
    """What /health and STATUS= show about one job (this process's view)."""

    schedule: str
    running_since: float | None = None
    last_outcome: str | None = None
    last_finished: str | None = None
    last_summary: str = ""


class JobGuard:
    def __init__(
        self,
        jobs: Mapping[str, Job],
        *,
        leadership: Leadership,
        backoff: Backoff,
        metrics: DaemonMetrics,
        notifier: Notifier,
        context: Callable[[], JobContext],
        interval_of: Callable[[str], timedelta | None],
        status_prefix: Callable[[], str],
    ) -> None:
        self.jobs = jobs
        self.leadership = leadership
        self.backoff = backoff
        self.metrics = metrics
        self.notifier = notifier
        self._context = context
        self._interval_of = interval_of
        self._status_prefix = status_prefix
        self.stopping = threading.Event()
        self.states: dict[str, JobState] = {}
        self._lock = threading.Lock()
        self._began = time.monotonic()

    # --- which jobs are scheduled (the daemon keeps this in step with the scheduler) -----------

    def track(self, name: str, schedule: str) -> None:
        with self._lock:
            state = self.states.setdefault(name, JobState(schedule=schedule))
            state.schedule = schedule

    def untrack(self, name: str) -> None:
        with self._lock:
            self.states.pop(name, None)
        self.leadership.release(name)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(n for n, s in self.states.items() if s.running_since is not None)

    # --- one scheduled run ---------------------------------------------------------------------

    def run(self, name: str) -> None:
        """What the scheduler calls for ``name``; never raises."""
        if self.stopping.is_set():
            return
        with log_context(job=name):
            if self.backoff.should_skip(name):
                self.metrics.skipped(name, "backoff")
                return
            try:
                leading = self.leadership.lead(name)
            except SQLAlchemyError as exc:
                self._crashed(name, exc)
                return
            finally:
                with self._lock:
                    names = list(self.states)
                self.metrics.set_leading(names, self.leadership.leading())
            if not leading:
                self.metrics.skipped(name, "standby")
                return
            with log_context(run_id=str(uuid.uuid4())):
                self._execute(name)

    def _execute(self, name: str) -> None:
        started = time.monotonic()
        self._mark(name, running_since=started)
        try:
            report = self.jobs[name](self._context())
        except LockBusy as exc:
            log.info("%s skipped: %s is held (another run of it is in progress)", name, exc)
            self.metrics.skipped(name, "busy")
            self._mark(name, running_since=None)
            return
        except Exception as exc:  # noqa: BLE001 - the per-job guard: log, back off, go on
            self._crashed(name, exc)
            return
        self._finished(name, report, time.monotonic() - started)

    def _finished(self, name: str, report: JobReport, duration: float) -> None:
        extra = {"outcome": report.outcome, "runs": list(report.runs), "duration_s": duration}
        if report.failed:
            failures = self.backoff.failed(name)
            self.leadership.release(name)
            log.error(
                "%s failed in %.1fs: %s (%d in a row; %s)", name, duration,
                report.error or report.summary, failures, self._next_try(name), extra=extra,
            )  # fmt: skip
        else:
            failures = 0
            self.backoff.succeeded(name)
            level = logging.DEBUG if report.outcome == IDLE else logging.INFO
            log.log(level, "%s %s in %.1fs: %s", name, report.outcome, duration, report.summary,
                    extra=extra)  # fmt: skip
        self.metrics.observe(report, failures)
        if report.outcome != IDLE and name != "audit_anchor":
            self._log_audit_head()
        self._mark(name, running_since=None, outcome=report.outcome, summary=report.summary)
        if report.outcome != IDLE:
            self.notifier.status(self.status_line())

    def _log_audit_head(self) -> None:
        """The audit chain's head after every run that did something: an anchor in the log."""
        try:
            log_audit_head(self._context().engine)
        except SQLAlchemyError as exc:
            log.warning("audit head not logged: %s", (str(exc).splitlines() or [""])[0])

    def _crashed(self, name: str, exc: Exception) -> None:
        failures = self.backoff.failed(name)
        self.leadership.release(name)
        first_line = (str(exc).splitlines() or [""])[0]
        message = f"{name} failed: {type(exc).__name__}: {first_line}"
        if failures == 1:
            log.exception("%s (%s)", message, self._next_try(name))
        else:
            log.error("%s (%d in a row; %s)", message, failures, self._next_try(name))
        self.metrics.crashed(name, failures)
        self._mark(name, running_since=None, outcome="failed", summary=message)
        self.notifier.status(self.status_line())

    def _next_try(self, name: str) -> str:
        return self.backoff.retry_in(name, self._interval_of(name))

    # --- state for /health and STATUS= ---------------------------------------------------------

    def _mark(
        self,
        name: str,
        *,
        running_since: float | None,
        outcome: str | None = None,
        summary: str | None = None,
    ) -> None:
        with self._lock:
            state = self.states.get(name)
            if state is None:  # removed by a reload while it ran
                return
            state.running_since = running_since
            if outcome is not None:
                state.last_outcome = outcome
                state.last_finished = datetime.now(UTC).isoformat(timespec="seconds")
                state.last_summary = summary or ""

    def describe(self) -> dict[str, Any]:
        """/health's body: uptime, each job's schedule and last outcome, what this daemon leads."""
        now = time.monotonic()
        with self._lock:
            jobs = {
                name: {
                    "schedule": s.schedule,
                    "running_for_s": round(now - s.running_since, 1) if s.running_since else None,
                    "last_outcome": s.last_outcome,
                    "last_finished": s.last_finished,
                    "last_summary": s.last_summary,
                    "failures_in_row": self.backoff.failures(name),
                }
                for name, s in sorted(self.states.items())
            }
        return {
            "pid": os.getpid(),
            "uptime_s": round(now - self._began, 1),
            "leading": self.leadership.leading(),
            "jobs": jobs,
        }

    def status_line(self) -> str:
        """One line for ``systemctl status``: where it serves, what it leads, the last outcomes."""
        leading = ", ".join(self.leadership.leading()) or "no job"
        with self._lock:
            recent = [
                f"{n} {s.last_outcome} {s.last_finished[11:19]}"
                for n, s in sorted(self.states.items())
                if s.last_outcome and s.last_finished
            ]
        line = f"{self._status_prefix()}; leading {leading}"
        return line + (f"; last: {'; '.join(recent)}" if recent else "")
