"""The jobs the daemon schedules; the CLI runs the very same functions (``onec-sync sync ...``).

Each job is ``job(ctx) -> JobReport``: it does its work once, commits as it goes, honours
``ctx.should_stop`` between batches, and reports per stream what it wrote. Errors it cannot
handle (database down, 1C unreachable at the HTTP level) propagate: the daemon's job guard logs
them and backs off. A job that needs a run lock of its own takes it (``LockBusy`` if held).

=================  ==========================================  ===============================
job                does                                         CLI
=================  ==========================================  ===============================
folder_scan        imports complete packages from folder.inbox  ``onec-sync sync folder``
odata              pulls every stream of odata.streams          ``onec-sync sync odata``
odata_<stream>     pulls one stream (``odata_stock``, ...)      ``sync odata --stream <stream>``
orders_push        sends the shop's orders to 1C over OData     ``onec-sync orders push``
housekeeping       removes files older than [housekeeping]      ``onec-sync sync housekeeping``
exchange_sweep     ends idle 1C exchange sessions               (daemon only: needs the endpoint)
audit_anchor       logs the audit chain's head; appends it to   ``onec-sync audit anchor FILE``
                   audit.anchor_file if set
backup             backs up the database into backup.dir and    ``onec-sync backup``
                   rotates old backups
=================  ==========================================  ===============================
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config import Settings
from config.settings import ODATA_STREAMS
from syncd.daemon.housekeeping import sweep_old_files
from syncd.daemon.inbox import PackageOutcome, outcomes_summary, scan_inbox
from syncd.daemon.webhooks import deliver_all
from syncd.importer.pipeline import ProgressCallback
from syncd.odata.orders import push_orders
from syncd.odata.sync import run_odata_sync
from syncd.store import anchors
from syncd.store import backup as backups

log = logging.getLogger(__name__)

SUCCEEDED, UNCHANGED, FAILED, INTERRUPTED = "succeeded", "unchanged", "failed", "interrupted"
IDLE = "idle"  # nothing to do


class ExchangeSweeper(Protocol):
    """What ``exchange_sweep`` needs of the exchange endpoint (``ExchangeService``)."""

    def sweep(self) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class JobContext:
    settings: Settings
    engine: Engine
    actor: str = "daemon"
    should_stop: Callable[[], bool] = lambda: False
    stop_event: threading.Event | None = None  # set when stopping; lets waits end early
    on_progress: ProgressCallback | None = None  # byte progress of package imports
    exchange: ExchangeSweeper | None = None  # the daemon's running exchange endpoint

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True if the wait ended because the job must stop."""
        if self.stop_event is not None:
            return self.stop_event.wait(seconds)
        time.sleep(seconds)
        return self.should_stop()


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamReport:
    """One stream's part of a job: ``stream`` is a metrics label (folder, odata:stock, orders)."""

    stream: str
    outcome: str  # succeeded | unchanged | failed | interrupted | skipped
    written: int = 0  # rows inserted, updated, deleted or hidden
    counts: Mapping[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobReport:
    job: str
    outcome: str  # succeeded | unchanged | failed | interrupted | idle (nothing to do)
    summary: str = ""
    streams: tuple[StreamReport, ...] = ()
    runs: tuple[str, ...] = ()  # sync_runs.run_uuid of the runs it made
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == FAILED


Job = Callable[[JobContext], JobReport]


# --- the jobs --------------------------------------------------------------------------------


def folder_scan(ctx: JobContext) -> JobReport:
    """Import every complete package in ``folder.inbox`` (see ``syncd.daemon.inbox``)."""
    outcomes = scan_inbox(
        ctx.settings, ctx.engine, should_stop=ctx.should_stop, sleep=ctx.sleep,
        actor=ctx.actor, on_progress=ctx.on_progress,
    )  # fmt: skip
    streams = tuple(_package_report(o) for o in outcomes)
    return JobReport(
        job="folder_scan",
        outcome=_overall([s.outcome for s in streams]),
        summary=outcomes_summary(outcomes),
        streams=streams,
        runs=tuple(o.run.run_uuid for o in outcomes if o.run is not None),
        error=next((f"{o.name}: {o.error}" for o in outcomes if o.error), None),
    )


def housekeeping(ctx: JobContext) -> JobReport:
    removed = sweep_old_files(ctx.settings, ctx.engine)
    done = [r for r in removed if r.entries]
    summary = ", ".join(f"{r.entries} {r.what} ({r.bytes} bytes)" for r in done)
    return JobReport(
        job="housekeeping", outcome=SUCCEEDED if done else IDLE, summary=summary or "nothing old"
    )


def webhooks(ctx: JobContext) -> JobReport:
    """Deliver the change feed to the webhook endpoints (``syncd.daemon.webhooks``)."""
    report = deliver_all(ctx.engine, ctx.settings.changes, should_stop=ctx.should_stop)
    if report.skipped:
        return JobReport(job="webhooks", outcome=IDLE, summary="another process is delivering")
    # A receiver that is down is the receiver's problem, retried on its own schedule: it does
    # not fail the job (which would back off every endpoint and make the daemon unready).
    summary = f"{report.delivered} event(s) delivered"
    if report.failed:
        summary += f"; not delivered: {', '.join(report.failed)}"
    outcome = SUCCEEDED if report.delivered else IDLE
    return JobReport(job="webhooks", outcome=outcome, summary=summary)


def exchange_sweep(ctx: JobContext) -> JobReport:
    if ctx.exchange is None:
        return JobReport(job="exchange_sweep", outcome=IDLE, summary="no exchange endpoint here")
    ended = ctx.exchange.sweep()
    return JobReport(
        job="exchange_sweep",
        outcome=SUCCEEDED if ended else IDLE,
        summary=f"{ended} idle session(s) ended" if ended else "no idle sessions",
    )


def audit_anchor(ctx: JobContext) -> JobReport:
    """Log the audit chain's head, and append it to ``audit.anchor_file`` when set."""
    anchor = log_audit_head(ctx.engine, ctx.settings.audit.anchor_file)
    if anchor is None:
        return JobReport(job="audit_anchor", outcome=IDLE, summary="audit log is empty")
    return JobReport(
        job="audit_anchor",
        outcome=SUCCEEDED,
        summary=f"audit head: entry {anchor.entry_id} {anchor.entry_hash}",
    )


def log_audit_head(engine: Engine, anchor_file: Path | None = None) -> anchors.Anchor | None:
    """One log line with the audit chain's head (an anchor outside the database)."""
    if anchor_file is not None:
        anchor = anchors.anchor_to_file(engine, anchor_file)
    else:
        with Session(engine) as session:
            anchor = anchors.current_anchor(session)
    if anchor is not None:
        log.info(
            "audit head: entry %d %s", anchor.entry_id, anchor.entry_hash,
            extra={"audit_head_id": anchor.entry_id, "audit_head_hash": anchor.entry_hash},
        )  # fmt: skip
    return anchor


def backup(ctx: JobContext) -> JobReport:
    """``backups.take_backup`` into ``backup.dir``, then ``backups.rotate``."""
    made = backups.take_backup(ctx.settings.database, ctx.settings.backup.dir)
    removed = backups.rotate(ctx.settings.backup)
    return JobReport(
        job="backup",
        outcome=SUCCEEDED,
        summary=f"{made.path.name} ({made.manifest.size} bytes), {len(removed)} old removed",
    )


def odata_pull(ctx: JobContext, *, stream: str | None = None) -> JobReport:
    """``run_odata_sync`` for every stream of ``odata.streams``, or one."""
    result = run_odata_sync(
        ctx.settings, ctx.engine, stream=stream, should_stop=ctx.should_stop, actor=ctx.actor
    )
    streams = tuple(
        StreamReport(
            stream=f"odata:{s.stream}",
            outcome=s.outcome,
            written=s.counts.written,
            counts=_counts(s.counts),
            error=s.error,
        )
        for s in result.streams
    )
    summary = ", ".join(f"{s.stream} {s.outcome} ({s.written} written)" for s in streams)
    return JobReport(
        job=f"odata_{stream}" if stream else "odata",
        outcome=result.outcome,
        summary=summary,
        streams=streams,
        runs=(result.run_uuid,),
        error=result.error,
    )


def orders_push(ctx: JobContext) -> JobReport:
    """``push_orders``. 1C unavailable ("deferred": the orders wait) counts as a failure, so
    the job backs off; orders 1C refused fail the run and wait for a person."""
    result = push_orders(ctx.settings, ctx.engine, should_stop=ctx.should_stop, actor=ctx.actor)
    counts = result.counts()
    if result.outcome == "deferred":
        outcome = FAILED
    elif result.outcome == "succeeded" and not any(counts.values()):
        outcome = IDLE
    else:
        outcome = result.outcome
    error = "; ".join(result.errors) or None
    stream = StreamReport(
        stream="orders",
        outcome=outcome,
        written=counts["created"] + counts["posted"],
        counts=counts,
        error=error,
    )
    return JobReport(
        job="orders_push",
        outcome=outcome,
        summary=", ".join(f"{k} {v}" for k, v in counts.items()),
        streams=(stream,),
        runs=(result.run_uuid,),
        error=error,
    )


# --- the registry ----------------------------------------------------------------------------


def available_jobs() -> dict[str, Job]:
    """Every job this installation can run, by name."""
    jobs: dict[str, Job] = {
        "folder_scan": folder_scan,
        "odata": odata_pull,
        "orders_push": orders_push,
        "housekeeping": housekeeping,
        "exchange_sweep": exchange_sweep,
        "audit_anchor": audit_anchor,
        "backup": backup,
        "webhooks": webhooks,
    }
    for stream in ODATA_STREAMS:
        jobs[f"odata_{stream}"] = partial(odata_pull, stream=stream)
    return jobs


def unmet_needs(settings: Settings, job: str) -> str | None:
    """Why ``job`` cannot run with ``settings`` (a setting it needs is empty), else None."""
    if job == "folder_scan" and settings.folder.inbox is None:
        return "needs folder.inbox"
    if (job == "orders_push" or job.startswith("odata")) and not settings.odata.url:
        return "needs odata.url"
    return None


def _package_report(outcome: PackageOutcome) -> StreamReport:
    counts = outcome.run.counts if outcome.run is not None else None
    return StreamReport(
        stream="folder",
        outcome=outcome.outcome,
        written=counts.written if counts else 0,
        counts=_counts(counts) if counts else {},
        duration_s=outcome.duration_s,
        error=outcome.error,
    )


def _counts(counts: Any) -> dict[str, int]:
    names = ("inserted", "updated", "unchanged", "deleted", "hidden", "rejected")
    return {name: int(getattr(counts, name)) for name in names}


def _overall(outcomes: list[str]) -> str:
    if not outcomes:
        return IDLE
    for outcome in (FAILED, INTERRUPTED, SUCCEEDED):
        if outcome in outcomes:
            return outcome
    return UNCHANGED
