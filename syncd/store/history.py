"""Read-only views of what happened: runs and the audit log, as plain dicts for the CLI/API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store import models


def recent_runs(
    session: Session, *, limit: int = 20, stream: str | None = None
) -> list[dict[str, Any]]:
    stmt = select(models.SyncRun).order_by(models.SyncRun.id.desc()).limit(limit)
    if stream:
        stmt = stmt.where(models.SyncRun.stream == stream)
    return [
        {
            "run_uuid": run.run_uuid,
            "stream": run.stream,
            "status": run.status,
            "source": run.source,
            "actor": run.actor,
            "started_at": _aware(run.started_at).isoformat(),
            "finished_at": _aware(run.finished_at).isoformat() if run.finished_at else None,
            "duration_s": _duration(run.started_at, run.finished_at),
            "counts": {k: v for k, v in (run.counts or {}).items() if k != "by_table"},
            "error": run.error,
            "held_hide": run.held_hide,
        }
        for run in session.execute(stmt).scalars()
    ]


def format_runs(runs: list[dict[str, Any]]) -> str:
    """``recent_runs``' result as the table ``onec-sync runs`` prints (times in UTC)."""
    if not runs:
        return "no runs yet"
    lines = [f"{'STARTED (UTC)':<19}  {'TOOK':>7}  {'STREAM':<16} {'STATUS':<11} COUNTS  RUN"]
    for run in runs:
        counts = " ".join(f"{k}={v}" for k, v in run["counts"].items() if v)
        took = "-" if run["duration_s"] is None else f"{run['duration_s']:.1f}s"
        status = "held-hide" if run["held_hide"] else run["status"]
        lines.append(
            f"{run['started_at'][:19].replace('T', ' ')}  {took:>7}  {run['stream']:<16} "
            f"{status:<11} {counts or '-'}  {run['run_uuid']}"
            + (f"\n    {run['error']}" if run["error"] else "")
        )
    if any(r["status"] == "interrupted" for r in runs):
        lines.append(
            "interrupted runs resume where they stopped when the same files are imported again "
            "(`onec-sync import PATHS`)"
        )
    if any(r["held_hide"] for r in runs):
        lines.append(
            "held-hide: a full package's hiding waits: `onec-sync runs confirm-hide RUN` or "
            "`onec-sync runs reject-hide RUN` (`onec-sync status` says how much)"
        )
    return "\n".join(lines)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _duration(started: datetime, finished: datetime | None) -> float | None:
    if finished is None:
        return None
    return round((_aware(finished) - _aware(started)).total_seconds(), 3)


def recent_audit(
    session: Session, *, limit: int = 50, action: str | None = None
) -> list[dict[str, Any]]:
    stmt = select(models.AuditEntry).order_by(models.AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(models.AuditEntry.action == action)
    return [
        {
            "id": entry.id,
            "created_at": _aware(entry.created_at).isoformat(),
            "action": entry.action,
            "outcome": entry.outcome,
            "actor": entry.actor,
            "source": entry.source,
            "subject": entry.subject,
            "run_uuid": entry.run_uuid,
            "counts": {k: v for k, v in (entry.counts or {}).items() if k != "by_table"},
            "duration_ms": entry.duration_ms,
            "error": entry.error,
        }
        for entry in session.execute(stmt).scalars()
    ]
