"""``onec-sync run``: the daemon. A thin shell around the jobs of ``syncd.daemon.jobs``.

* APScheduler 3.x ``BlockingScheduler`` in the main thread (UTC, ``coalesce=True``,
  ``max_instances=1``): one job per ``daemon.schedules`` entry, each run in a worker thread through
  the job guard (``syncd.daemon.guard``: backoff, one leader per job, logging, metrics). The process never
  exits because PostgreSQL or 1C is down; /ready says what is wrong.
* The HTTP endpoint (``syncd.daemon.endpoint``): the 1C exchange plus /health, /ready, /metrics.
* systemd (``syncd.daemon.sdnotify``): READY=1 once serving, WATCHDOG=1 at half ``$WATCHDOG_USEC`` from
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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TypeVar

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from config import ConfigError, Settings
from syncd.daemon import stopsignals
from syncd.daemon.endpoint import Endpoint, start_endpoint
from syncd.daemon.guard import JobGuard
from syncd.daemon.health import ReadinessProbe, make_ops_blueprint, make_public_blueprint
from syncd.daemon.jobs import Job, JobContext, available_jobs, unmet_needs
from syncd.daemon.leadership import Leadership
from syncd.daemon.logs import configure_logging
from syncd.daemon.metrics import DaemonMetrics
from syncd.daemon.scheduling import Backoff, ScheduleError, make_triggers
from syncd.daemon.sdnotify import Notifier
from syncd.store import migrate
from syncd.store.engine import make_engine

log = logging.getLogger("syncd.daemon")
EX_CONFIG = 78
EXCHANGE_SWEEP = "exchange_sweep"
_WATCHDOG = "_watchdog"
_RESTART_NEEDED = ("database", "daemon.http_listen", "daemon.http_threads", "exchange")
_T = TypeVar("_T")


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
        self.engine = make_engine(settings.database)
        self.metrics = DaemonMetrics(self.engine)
        self.endpoint: Endpoint | None = None
        self.actor = f"daemon@{socket.gethostname()}"
        self.guard = JobGuard(
            dict(jobs if jobs is not None else available_jobs()),
            leadership=Leadership(
                self.engine, connect_timeout=settings.database.connect_timeout_seconds
            ),
            backoff=Backoff(settings.daemon.backoff_max_seconds),
            metrics=self.metrics,
            notifier=self.notifier,
            context=self._context,
            interval_of=self._interval_of,
            status_prefix=lambda: f"serving {self.endpoint.url if self.endpoint else '-'}",
        )
        self.stop_event = self.guard.stopping
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            executors={
                "default": ThreadPoolExecutor(max(4, len(self.guard.jobs))),
                "watchdog": ThreadPoolExecutor(1),
            },
        )
        self._schedules: dict[str, str] = {}  # installed: job -> schedule text
        self._pending_schedules: dict[str, str] = {}  # of the last _triggers() call
        self._started = threading.Event()
        self._stop_requested_at = 0.0
        self._reload_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------

    def run(self) -> int:
        try:
            triggers = self._triggers(self.settings)
        except ScheduleError as exc:
            log.error("the schedule cannot be used: %s", "; ".join(exc.problems))
            return EX_CONFIG
        if not self._schema_usable():
            return EX_CONFIG
        probe = ReadinessProbe(self.engine)
        ops = make_ops_blueprint(
            probe, self.metrics, stopping=self.stop_event.is_set, describe=self.guard.describe,
        )  # fmt: skip
        public = make_public_blueprint(
            probe, self.metrics, stopping=self.stop_event.is_set, describe=self.guard.describe,
            token=self.settings.daemon.ops_token.reveal(),
        )  # fmt: skip
        try:
            self.endpoint = start_endpoint(self.settings, self.engine, ops, public)
        except OSError as exc:  # the port is taken, or the address is not this host's
            daemon = self.settings.daemon
            log.error("cannot listen on %s or %s: %s", daemon.http_listen, daemon.ops_listen, exc)
            return 1
        threading.Thread(target=self._resume_exchange, name="exchange-resume", daemon=True).start()
        self._install(triggers)
        self._install_watchdog()
        self._install_signals()
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
        log.info(
            "onec-syncd serving %s (operators: %s); jobs: %s", self.endpoint.url,
            self.endpoint.ops_url or "-",
            ", ".join(f"{n} ({s})" for n, s in sorted(self._schedules.items())) or "none",
        )  # fmt: skip
        self.notifier.ready(self.guard.status_line())
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
        running = ", ".join(self.guard.running()) or "no running job"
        log.info("%s: stopping; waiting up to %.0fs for %s", reason,
                 self.settings.daemon.stop_timeout_seconds, running)  # fmt: skip
        self.notifier.stopping(f"stopping: {running}")
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
            for key in _RESTART_NEEDED:
                if _get(settings, key) != _get(self.settings, key):
                    log.warning("reload: %s changed; it takes effect after a restart", key)
            self.settings = settings
            self.guard.backoff.max_seconds = settings.daemon.backoff_max_seconds
            self._install(triggers)
            log.info("reloaded the configuration; jobs: %s", ", ".join(sorted(self._schedules)))
            self.notifier.status(self.guard.status_line())
            return True

    def _on_started(self, _event: SchedulerEvent) -> None:
        self._started.set()

    def _shutdown_scheduler(self) -> None:
        if self._started.wait(30):
            self.scheduler.shutdown(wait=False)

    def _drain(self) -> int:
        """After the scheduler stopped: wait for running jobs, stop serving, release locks."""
        began = self._stop_requested_at or time.monotonic()
        deadline = began + self.settings.daemon.stop_timeout_seconds
        left = _wait(self.guard.running, deadline)
        if self.endpoint is not None:
            self.endpoint.stop_serving()
            exchange = self.endpoint.exchange
            if exchange is not None:
                exchange.close(wait=False)
                running = _wait(exchange.runner.running, deadline)
                left += [f"exchange import {name} (session {sid})" for sid, name in running]
        self.guard.leadership.release_all()
        if left:
            log.error(
                "stop timeout (%.0fs): abandoning %s; their open transactions roll back and "
                "they resume on the next start", self.settings.daemon.stop_timeout_seconds,
                ", ".join(left),
            )  # fmt: skip
            logging.shutdown()
            os._exit(1)  # worker threads cannot be interrupted; the database undoes their batch
        self.engine.dispose()
        log.info("stopped cleanly in %.1fs", time.monotonic() - began)
        return 0

    def _install_signals(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if signum == signal.SIGHUP:
                threading.Thread(target=self.reload, name="reload", daemon=True).start()
            else:
                self.request_stop(signal.Signals(signum).name)

        stopsignals.install(on_signal, (signal.SIGTERM, signal.SIGINT, signal.SIGHUP))

    # --- the schedule --------------------------------------------------------------------------

    def _triggers(self, settings: Settings) -> dict[str, BaseTrigger]:
        """Triggers for ``settings`` (plus exchange_sweep when the exchange is on); remembers
        the schedule strings for ``_install``. Raises ``ScheduleError``."""
        schedules = dict(settings.daemon.schedules)
        if settings.exchange.enabled and EXCHANGE_SWEEP not in schedules:
            every = min(60, max(1, settings.exchange.session_ttl_seconds // 4))
            schedules[EXCHANGE_SWEEP] = f"every {every}s"
        triggers = make_triggers(schedules, set(self.guard.jobs))
        unmet = [
            f"daemon.schedules.{job}: {need}"
            for job in sorted(schedules)
            if (need := unmet_needs(settings, job)) is not None
        ]
        if unmet:
            raise ScheduleError(unmet)
        self._pending_schedules = schedules
        return triggers

    def _install(self, triggers: dict[str, BaseTrigger]) -> None:
        """Make the scheduler's jobs match ``triggers``; unchanged schedules keep their timing."""
        new = self._pending_schedules
        for name in set(self._schedules) - set(new):
            if self.scheduler.get_job(name) is not None:
                self.scheduler.remove_job(name)
            self.guard.untrack(name)
        for name, trigger in triggers.items():
            if self._schedules.get(name) == new[name]:
                continue
            self.scheduler.add_job(
                self.guard.run, trigger, args=[name], id=name, name=name,
                replace_existing=True, next_run_time=_first_run(trigger),
            )  # fmt: skip
            self.guard.track(name, new[name])
        self._schedules = dict(new)

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

    def _interval_of(self, name: str) -> timedelta | None:
        job = self.scheduler.get_job(name)
        interval = getattr(job.trigger, "interval", None) if job is not None else None
        return interval if isinstance(interval, timedelta) else None

    def _context(self) -> JobContext:
        return JobContext(
            settings=self.settings,
            engine=self.engine,
            actor=self.actor,
            should_stop=self.stop_event.is_set,
            stop_event=self.stop_event,
            exchange=self.endpoint.exchange if self.endpoint is not None else None,
        )

    # --- start-up ------------------------------------------------------------------------------

    def _schema_usable(self) -> bool:
        """False (exit 78) when the database answers with an older schema; an unreachable
        database does not stop the start: jobs retry and /ready says why it is not ready."""
        try:
            current = migrate.is_current(self.engine)
        except SQLAlchemyError as exc:
            log.warning("the database is unreachable at start (%s); starting anyway",
                        (str(exc).splitlines() or [""])[0])  # fmt: skip
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
                            (str(exc).splitlines() or [""])[0], delay)  # fmt: skip
            if self.stop_event.wait(delay):
                return
            delay = min(delay * 2, 60.0)


def _wait(running: Callable[[], list[_T]], deadline: float) -> list[_T]:
    """Poll ``running()`` until it is empty or ``deadline`` (monotonic) passed."""
    while (left := running()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


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
