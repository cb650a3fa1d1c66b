"""``onec-sync run``: the daemon. A thin shell around the jobs of ``syncd.jobs``.

* APScheduler 3.x ``BlockingScheduler`` in the main thread (UTC, ``coalesce=True``,
  ``max_instances=1``): one job per ``daemon.schedules`` entry, each run in a worker thread through
  the job guard (``_run_job``): skip while backing off, lead the job or stand by
  (``syncd.leadership``), run it, log and count the outcome. A job that raises is logged, the
  daemon backs off (``syncd.scheduling.Backoff``), and it stops leading that job for a while so
  another daemon may try; the process never exits because PostgreSQL or 1C is down.
* The HTTP endpoint (``syncd.endpoint``): the 1C exchange plus /health, /ready, /metrics.
* systemd (``syncd.sdnotify``): READY=1 once serving, WATCHDOG=1 at half ``$WATCHDOG_USEC`` from
  a scheduler job of its own (a stuck scheduler stops the pings), STATUS= lines, STOPPING=1.
* SIGTERM/SIGINT: stop scheduling, let running jobs commit their batch (they poll
  ``should_stop``), stop within ``daemon.stop_timeout_seconds`` (exit 1 if something had to be
  abandoned: its open transaction rolls back). SIGHUP: reload the configuration and the schedule.

Exit status: 0 after a clean stop, 1 after a forced one, 78 (EX_CONFIG) when the schedule is
invalid or the database schema is older than this code (systemd: ``RestartPreventExitStatus=78``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from config import ConfigError, Settings
from syncd import migrate
from syncd.db import make_engine
from syncd.endpoint import Endpoint, start_endpoint
from syncd.health import ReadinessProbe, make_ops_blueprint
from syncd.jobs import IDLE, Job, JobContext, JobReport, available_jobs
from syncd.leadership import Leadership
from syncd.locks import LockBusy
from syncd.logs import configure_logging, log_context
from syncd.metrics import DaemonMetrics
from syncd.scheduling import Backoff, ScheduleError, make_triggers
from syncd.sdnotify import Notifier

log = logging.getLogger("syncd.daemon")
EX_CONFIG = 78
EXCHANGE_SWEEP = "exchange_sweep"
_WATCHDOG = "_watchdog"


@dataclass
class JobState:
    """What /health and STATUS= show about one job (this process's view)."""

    schedule: str
    running_since: float | None = None
    last_outcome: str | None = None
    last_finished: str | None = None
    last_summary: str = ""


def run_daemon(settings: Settings, *, reload: Callable[[], Settings]) -> int:
    """Configure logging and run the daemon until stopped; returns the exit status."""
    configure_logging(settings.logging)
    return Daemon(settings, reload=reload).run()


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        reload: Callable[[], Settings],
        notifier: Notifier | None = None,
        jobs: Mapping[str, Job] | None = None,
    ) -> None:
        self.settings = settings
        self._load_settings = reload
        self.notifier = notifier or Notifier()
        self.jobs = dict(jobs if jobs is not None else available_jobs())
        self.engine = make_engine(settings.database)
        self.metrics = DaemonMetrics(self.engine)
        self.probe = ReadinessProbe(self.engine)
        self.backoff = Backoff(settings.daemon.backoff_max_seconds)
        self.leadership = Leadership(
            self.engine, connect_timeout=settings.database.connect_timeout_seconds
        )
        self.stop_event = threading.Event()
        self.endpoint: Endpoint | None = None
        self.states: dict[str, JobState] = {}
        self.actor = f"daemon@{socket.gethostname()}"
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            executors={
                "default": ThreadPoolExecutor(max(4, len(self.jobs))),
                "watchdog": ThreadPoolExecutor(1),
            },
        )
        self._started = threading.Event()
        self._stop_requested_at = 0.0
        self._began = time.monotonic()
        self._reload_lock = threading.Lock()
        self._state_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------

    def run(self) -> int:
        try:
            triggers = self._triggers(self.settings)
        except ScheduleError as exc:
            log.error("the schedule cannot be used: %s", "; ".join(exc.problems))
            return EX_CONFIG
        if not self._schema_usable():
            return EX_CONFIG
        ops = make_ops_blueprint(
            self.probe, self.metrics, stopping=self.stop_event.is_set, describe=self.describe
        )
        self.endpoint = start_endpoint(self.settings, self.engine, ops)
        threading.Thread(target=self._resume_exchange, name="exchange-resume", daemon=True).start()
        self._install(triggers)
        self._install_watchdog()
        self._install_signals()
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
        log.info(
            "onec-syncd serving %s; jobs: %s", self.endpoint.url,
            ", ".join(f"{n} ({s.schedule})" for n, s in sorted(self.states.items())) or "none",
        )  # fmt: skip
        self.notifier.ready(self._status_line())
        if not self.stop_event.is_set():
            self.scheduler.start()  # blocks until the stop sequence shuts it down
        return self._drain()

    def request_stop(self, reason: str) -> None:
        """Begin the stop sequence (idempotent); the main thread finishes it."""
        if self.stop_event.is_set():
            log.info("%s: already stopping", reason)
            return
        self._stop_requested_at = time.monotonic()
        self.stop_event.set()
        running = [n for n, s in self.states.items() if s.running_since is not None]
        log.info(
            "%s: stopping; waiting up to %.0fs for %s", reason,
            self.settings.daemon.stop_timeout_seconds, ", ".join(running) or "no running job",
        )  # fmt: skip
        self.notifier.stopping("stopping: " + (", ".join(running) or "idle"))
        threading.Thread(target=self._shutdown_scheduler, name="stop", daemon=True).start()

    def reload(self) -> bool:
        """Re-read the configuration; apply the new schedule and job settings. A configuration
        with problems is refused and the running one stays. Returns whether it was applied."""
        with self._reload_lock:
            try:
                settings = self._load_settings()
                triggers = self._triggers(settings)
            except (ConfigError, ScheduleError) as exc:
                log.error("reload refused, keeping the running configuration: %s",
                          "; ".join(exc.problems))  # fmt: skip
                return False
            for key in ("database", "daemon.http_listen", "daemon.http_threads", "exchange"):
                if _get(settings, key) != _get(self.settings, key):
                    log.warning("reload: %s changed; it takes effect after a restart", key)
            self.settings = settings
            self.backoff.max_seconds = settings.daemon.backoff_max_seconds
            self._install(triggers)
            log.info("reloaded the configuration; jobs: %s", ", ".join(sorted(self.states)))
            self.notifier.status(self._status_line())
            return True

    def _on_started(self, _event: SchedulerEvent) -> None:
        self._started.set()

    def _shutdown_scheduler(self) -> None:
        if self._started.wait(30):
            self.scheduler.shutdown(wait=False)

    def _drain(self) -> int:
        """After the scheduler stopped: wait for running jobs, stop serving, release locks."""
        deadline = (self._stop_requested_at or time.monotonic()) + (
            self.settings.daemon.stop_timeout_seconds
        )
        left = self._wait_for_jobs(deadline)
        if self.endpoint is not None:
            self.endpoint.stop_serving()
            if self.endpoint.exchange is not None:
                self.endpoint.exchange.close(wait=False)
                left += self._wait_for_exchange(self.endpoint, deadline)
        self.leadership.release_all()
        if left:
            log.error(
                "stop timeout (%.0fs): abandoning %s; their open transactions roll back and "
                "they resume on the next start", self.settings.daemon.stop_timeout_seconds,
                ", ".join(left),
            )  # fmt: skip
            logging.shutdown()
            os._exit(1)  # worker threads cannot be interrupted; the database undoes their batch
        self.engine.dispose()
        log.info("stopped cleanly")
        return 0

    def _wait_for_jobs(self, deadline: float) -> list[str]:
        while True:
            with self._state_lock:
                running = sorted(n for n, s in self.states.items() if s.running_since)
            if not running or time.monotonic() >= deadline:
                return running
            time.sleep(0.05)

    def _wait_for_exchange(self, endpoint: Endpoint, deadline: float) -> list[str]:
        assert endpoint.exchange is not None
        while True:
            running = endpoint.exchange.runner.running()
            if not running or time.monotonic() >= deadline:
                return [f"exchange import {name} (session {sid})" for sid, name in running]
            time.sleep(0.05)

    def _install_signals(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                threading.Thread(target=self.reload, name="reload", daemon=True).start()
            else:
                self.request_stop(name)

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)

    # --- the schedule --------------------------------------------------------------------------

    def _triggers(self, settings: Settings) -> dict[str, BaseTrigger]:
        schedules = dict(settings.daemon.schedules)
        if settings.exchange.enabled and EXCHANGE_SWEEP not in schedules:
            every = min(60, max(1, settings.exchange.session_ttl_seconds // 4))
            schedules[EXCHANGE_SWEEP] = f"every {every}s"
        triggers = make_triggers(schedules, set(self.jobs))
        self._schedules = schedules
        return triggers

    def _install(self, triggers: dict[str, BaseTrigger]) -> None:
        """Make the scheduler's jobs match ``triggers``; unchanged schedules keep their timing."""
        with self._state_lock:
            for name in set(self.states) - set(triggers):
                del self.states[name]
                if self.scheduler.get_job(name) is not None:
                    self.scheduler.remove_job(name)
                self.leadership.release(name)
            for name, trigger in triggers.items():
                text = self._schedules[name]
                state = self.states.get(name)
                if state is not None and state.schedule == text:
                    continue
                self.scheduler.add_job(
                    self._run_job, trigger, args=[name], id=name, name=name,
                    replace_existing=True, next_run_time=_first_run(trigger),
                )  # fmt: skip
                if state is None:
                    self.states[name] = JobState(schedule=text)
                else:
                    state.schedule = text

    def _install_watchdog(self) -> None:
        interval = self.notifier.ping_interval
        if interval is None:
            return
        self.scheduler.add_job(
            self._watchdog, IntervalTrigger(seconds=interval, timezone=UTC), id=_WATCHDOG,
            executor="watchdog", next_run_time=datetime.now(UTC),
        )  # fmt: skip

    def _watchdog(self) -> None:
        """Ping systemd while the scheduler dispatches jobs and the HTTP thread serves."""
        if self.endpoint is not None and self.endpoint.alive() and not self.stop_event.is_set():
            self.notifier.watchdog()

    # --- the job guard -------------------------------------------------------------------------

    def _run_job(self, name: str) -> None:
        if self.stop_event.is_set():
            return
        if self.backoff.should_skip(name):
            self.metrics.skipped(name, "backoff")
            return
        try:
            leading = self.leadership.lead(name)
        except SQLAlchemyError as exc:
            self._crashed(name, exc, started=time.monotonic())
            return
        finally:
            self.metrics.set_leading(list(self.states), self.leadership.leading())
        if not leading:
            self.metrics.skipped(name, "standby")
            return
        with log_context(job=name, run_id=str(uuid.uuid4())):
            self._execute(name)

    def _execute(self, name: str) -> None:
        started = time.monotonic()
        self._mark(name, running_since=started)
        try:
            report = self.jobs[name](self._context())
        except LockBusy as exc:
            log.info("%s: %s is held by another process (a CLI command?); skipped", name, exc)
            self.metrics.skipped(name, "busy")
            self._mark(name, running_since=None)
            return
        except Exception as exc:  # noqa: BLE001 - the per-job guard: log, back off, go on
            self._crashed(name, exc, started=started)
            return
        self._finished(name, report, started)

    def _finished(self, name: str, report: JobReport, started: float) -> None:
        duration = time.monotonic() - started
        if report.failed:
            failures = self.backoff.failed(name)
            self.leadership.release(name)
            log.error(
                "%s failed in %.1fs: %s (%d in a row; %s)", name, duration,
                report.error or report.summary, failures, self._next_try(name),
                extra={"outcome": report.outcome, "runs": list(report.runs)},
            )  # fmt: skip
        else:
            failures = 0
            self.backoff.succeeded(name)
            level = logging.DEBUG if report.outcome == IDLE else logging.INFO
            log.log(
                level, "%s %s in %.1fs: %s", name, report.outcome, duration, report.summary,
                extra={"outcome": report.outcome, "runs": list(report.runs)},
            )  # fmt: skip
        self.metrics.observe(report, failures)
        self._mark(name, running_since=None, outcome=report.outcome, summary=report.summary)
        if report.outcome != IDLE:
            self.notifier.status(self._status_line())

    def _crashed(self, name: str, exc: Exception, *, started: float) -> None:
        failures = self.backoff.failed(name)
        self.leadership.release(name)
        message = (
            f"{name} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        )
        if failures == 1:
            log.exception("%s (%s)", message, self._next_try(name))
        else:
            log.error("%s (%d in a row; %s)", message, failures, self._next_try(name))
        self.metrics.crashed(name, failures)
        self._mark(name, running_since=None, outcome="failed", summary=message)
        self.notifier.status(self._status_line())

    def _next_try(self, name: str) -> str:
        job = self.scheduler.get_job(name)
        trigger = job.trigger if job is not None else None
        interval = trigger.interval if isinstance(trigger, IntervalTrigger) else None
        return self.backoff.retry_in(name, interval if isinstance(interval, timedelta) else None)

    def _context(self) -> JobContext:
        return JobContext(
            settings=self.settings,
            engine=self.engine,
            actor=self.actor,
            should_stop=self.stop_event.is_set,
            stop_event=self.stop_event,
            exchange=self.endpoint.exchange if self.endpoint is not None else None,
        )

    # --- state for /health and STATUS= ---------------------------------------------------------

    def _mark(
        self,
        name: str,
        *,
        running_since: float | None,
        outcome: str | None = None,
        summary: str | None = None,
    ) -> None:
        with self._state_lock:
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
        with self._state_lock:
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

    def _status_line(self) -> str:
        leading = self.leadership.leading()
        url = self.endpoint.url if self.endpoint is not None else "-"
        with self._state_lock:
            recent = [
                f"{n} {s.last_outcome} {s.last_finished[11:19]}"
                for n, s in sorted(self.states.items())
                if s.last_outcome and s.last_finished
            ]
        return f"serving {url}; leading {', '.join(leading) or 'no job'}" + (
            f"; last: {'; '.join(recent)}" if recent else ""
        )

    # --- start-up ------------------------------------------------------------------------------

    def _schema_usable(self) -> bool:
        """False (exit 78) when the database answers with an older schema; an unreachable
        database does not stop the start: jobs retry and /ready says why it is not ready."""
        try:
            current = migrate.is_current(self.engine)
        except SQLAlchemyError as exc:
            log.warning("the database is unreachable at start (%s); starting anyway",
                        str(exc).splitlines()[0])  # fmt: skip
            return True
        if not current:
            log.error("the database schema is not the newest; run `onec-sync db upgrade`")
        return current

    def _resume_exchange(self) -> None:
        """Restart the exchange imports a stop left half-done, once the database answers."""
        if self.endpoint is None or self.endpoint.exchange is None:
            return
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                self.endpoint.exchange.resume(sweep_in_background=False)
                return
            except SQLAlchemyError as exc:
                log.warning("cannot resume exchange imports yet (%s); retrying in %.0fs",
                            str(exc).splitlines()[0], delay)  # fmt: skip
            if self.stop_event.wait(delay):
                return
            delay = min(delay * 2, 60.0)


def _first_run(trigger: BaseTrigger) -> datetime | None:
    """Interval jobs run once right after the start; cron jobs wait for their time."""
    if isinstance(trigger, IntervalTrigger):
        return datetime.now(UTC)
    first: datetime | None = trigger.get_next_fire_time(None, datetime.now(UTC))
    return first


def _get(settings: Settings, dotted: str) -> object:
    value: object = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value
