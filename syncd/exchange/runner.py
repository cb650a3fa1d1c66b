"""The import job runner: imports run in worker threads of the serving process, not in requests.

1C polls ``mode=import`` until it hears ``success`` or ``failure``; a request never waits longer
than ``exchange.import_wait_seconds`` for the job, then answers ``progress`` with the job's
position. Jobs are keyed by (exchange session id, file name), so a repeated poll joins the running
job instead of starting another. The job's state of record is in the database (``exchange_files``
status, counts, error) — the work function writes it — so a restarted daemon finds what was left
``queued``/``importing`` and starts it again (see ``ExchangeService.resume``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

JobKey = tuple[int, str]  # (exchange_sessions.id, file name as 1C names it in mode=import)


@dataclass(slots=True)
class JobProgress:
    """Where a job is; written by its worker, read by polls (a torn read only shows stale text)."""

    stage: str = "queued"
    done: int = 0  # bytes of the file read so far
    total: int | None = None  # the file's size

    def text(self) -> str:
        """``12/200 MB read of import0_1.xml``-style position, else the stage."""
        if self.total:
            mb = 1024 * 1024
            return f"{self.done / mb:.1f}/{self.total / mb:.1f} MB {self.stage}"
        return self.stage


@dataclass(frozen=True, slots=True)
class JobOutcome:
    ok: bool
    message: str  # for 1C: a summary on success, the reason on failure
    interrupted: bool = False  # stopped because the daemon is stopping; resumes on restart


Work = Callable[[JobKey, JobProgress, threading.Event], JobOutcome]
CrashHandler = Callable[[JobKey, str], None]


@dataclass(slots=True)
class Job:
    key: JobKey
    progress: JobProgress
    stop: threading.Event
    future: Future[JobOutcome] = field(default_factory=Future)

    def wait(self, seconds: float) -> JobOutcome | None:
        """The outcome if the job ends within ``seconds``, else ``None``."""
        try:
            return self.future.result(timeout=max(seconds, 0))
        except FutureTimeout:
            return None


class JobRunner:
    """A small pool of worker threads running ``work`` once per key."""

    def __init__(self, work: Work, *, on_crash: CrashHandler, workers: int = 2) -> None:
        """``on_crash(key, reason)`` records a job that raised (``work`` records the others)."""
        self._work = work
        self._on_crash = on_crash
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exchange-import")
        self._jobs: dict[JobKey, Job] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, key: JobKey) -> Job:
        """The job for ``key``: the one already known, or a new one queued now."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                return job
            if self._closed:
                raise RuntimeError("the import runner is stopping")
            job = Job(key, JobProgress(), threading.Event())
            self._jobs[key] = job
            job.future = self._pool.submit(self._guard, job)
            return job

    def get(self, key: JobKey) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def forget(self, key: JobKey) -> None:
        """Drop a finished job (its outcome is in the database)."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.future.done():
                del self._jobs[key]

    def forget_finished(self) -> int:
        """Drop every finished job (their outcomes are in the database); returns how many."""
        with self._lock:
            done = [key for key, job in self._jobs.items() if job.future.done()]
            for key in done:
                del self._jobs[key]
        return len(done)

    def running(self) -> list[JobKey]:
        with self._lock:
            return [key for key, job in self._jobs.items() if not job.future.done()]

    def stop(self, *, wait: bool = True) -> None:
        """Ask every job to stop at its next batch boundary, then (optionally) wait for them."""
        with self._lock:
            self._closed = True
            for job in self._jobs.values():
                job.stop.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _guard(self, job: Job) -> JobOutcome:
        # The per-job guard: whatever goes wrong inside one import ends that job with a reason
        # for 1C and a traceback in the log, and never takes the worker thread down.
        try:
            return self._work(job.key, job.progress, job.stop)
        except Exception as exc:
            log.exception("exchange import job %s failed", job.key)
            reason = f"internal error while importing {job.key[1]}: {exc}"
            try:
                self._on_crash(job.key, reason)
            except Exception:
                log.exception("could not record the failure of exchange job %s", job.key)
            return JobOutcome(False, reason)
