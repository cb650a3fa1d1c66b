"""Read-only views of what happened: runs and the audit log, as plain dicts for the CLI/API."""

from __future__ import annotations

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
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "counts": {k: v for k, v in (run.counts or {}).items() if k != "by_table"},
            "error": run.error,
        }
        for run in session.execute(stmt).scalars()
    ]


def recent_audit(
    session: Session, *, limit: int = 50, action: str | None = None
) -> list[dict[str, Any]]:
    stmt = select(models.AuditEntry).order_by(models.AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(models.AuditEntry.action == action)
    return [
        {
            "id": entry.id,
            "created_at": entry.created_at.isoformat(),
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
