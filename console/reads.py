"""What the pages show, read from the database as plain dicts. Every list is bounded.

Times are aware UTC datetimes (SQLite hands them back naive; they are UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload

from syncd.daemon.status import leaders, order_counts, stream_status
from syncd.importer.hiding import held_runs, later_run
from syncd.store import models

PAGE = 50
RUN_STATUSES = ("running", "succeeded", "unchanged", "failed", "interrupted", "rejected")


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def overview(db: Session, engine: Engine, *, now: datetime) -> dict[str, Any]:
    streams = stream_status(db, now=now)
    return {
        "streams": streams,
        "failing": [s for s in streams if s["status"] == "failed"],
        "orders": order_counts(db),
        "leaders": leaders(db) if engine.dialect.name == "postgresql" else None,
        "held": [
            {**h, "started_at": aware(h["started_at"]), "tables": held_tables(h["held"])}
            for h in held_runs(db)
        ],
    }


def held_tables(held: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per table, what a held hiding would hide: ``{"table", "would_hide", "active"}``."""
    return [
        {"table": table, "would_hide": m.get("would_hide", 0), "active": m.get("active", 0)}
        for table, m in sorted((held or {}).items())
    ]


def runs(
    db: Session, *, stream: str | None, status: str | None, before: int | None, limit: int = PAGE
) -> list[dict[str, Any]]:
    """Runs newest first; ``before`` is the id the previous page ended at (keyset paging)."""
    r = models.SyncRun
    stmt = select(r).order_by(r.id.desc()).limit(limit)
    if stream:
        stmt = stmt.where(r.stream == stream)
    if status:
        stmt = stmt.where(r.status == status)
    if before is not None:
        stmt = stmt.where(r.id < before)
    return [_run(run) for run in db.scalars(stmt)]


def stream_names(db: Session) -> list[str]:
    return list(
        db.scalars(select(models.SyncRun.stream).distinct().order_by(models.SyncRun.stream))
    )


def run_detail(db: Session, run_uuid: str) -> dict[str, Any] | None:
    run = db.scalars(select(models.SyncRun).where(models.SyncRun.run_uuid == run_uuid)).first()
    if run is None:
        return None
    files = db.scalars(
        select(models.RunFile).where(models.RunFile.run_id == run.id).order_by(models.RunFile.id)
    ).all()
    entries = db.scalars(
        select(models.AuditEntry)
        .where(models.AuditEntry.run_uuid == run_uuid)
        .order_by(models.AuditEntry.id)
        .limit(500)
    ).all()
    return {
        **_run(run),
        "files": [
            {
                "name": f.name,
                "kind": f.kind,
                "size": f.size,
                "status": f.status,
                "counts": _counts(f.counts),
                "error": f.error,
                "duration_s": _seconds(f.started_at, f.finished_at),
            }
            for f in files
        ],
        "audit": [audit_row(e) for e in entries],
        "held": held_tables(run.held_hide) if run.held_hide else None,
        "held_out_of_date_by": later_run(db, run) if run.held_hide else None,
    }


def audit_page(
    db: Session, *, action: str | None, actor: str | None, before: int | None, limit: int = PAGE
) -> list[dict[str, Any]]:
    a = models.AuditEntry
    stmt = select(a).order_by(a.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(a.action == action)
    if actor:
        stmt = stmt.where(a.actor == actor)
    if before is not None:
        stmt = stmt.where(a.id < before)
    return [audit_row(e) for e in db.scalars(stmt)]


def audit_row(e: models.AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "created_at": aware(e.created_at),
        "actor": e.actor,
        "action": e.action,
        "outcome": e.outcome,
        "subject": e.subject or e.source,
        "run_uuid": e.run_uuid,
        "counts": _counts(e.counts),
        "error": e.error,
    }


def sessions(db: Session, *, limit: int = PAGE) -> list[dict[str, Any]]:
    s = models.ExchangeSession
    rows = db.scalars(
        select(s).options(selectinload(s.files)).order_by(s.id.desc()).limit(limit)
    ).all()
    return [
        {
            "id": x.id,
            "type": x.type,
            "username": x.username,
            "remote_addr": x.remote_addr,
            "status": x.status,
            "error": x.error,
            "created_at": aware(x.created_at),
            "ended_at": aware(x.ended_at),
            "files": [
                {"name": f.name, "size": f.size, "status": f.status, "error": f.error}
                for f in x.files
            ],
        }
        for x in rows
    ]


def orders_on_the_way(db: Session, *, limit: int = PAGE) -> list[dict[str, Any]]:
    """Orders not yet in 1C (or whose push failed), newest first, with their outbox row and
    the last steps of their history: each order's way to 1C."""
    o, box = models.Order, models.OrderOutbox
    stmt = (
        select(o, box)
        .outerjoin(box, box.order_id == o.id)
        .where(o.is_deleted.is_(False))
        .where((o.export_state != "exported") | (box.state.in_(("failed", "pending", "created"))))
        .order_by(o.id.desc())
        .limit(limit)
    )
    rows = db.execute(stmt).all()
    ids = [order.id for order, _ in rows]
    steps: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        h = models.OrderStatusChange
        for change in db.scalars(select(h).where(h.order_id.in_(ids)).order_by(h.id)):
            steps[change.order_id].append(
                {
                    "at": aware(change.created_at),
                    "status": change.status,
                    "source": change.source,
                    "note": change.note,
                }
            )
    return [
        {
            "number": order.number,
            "created_at": aware(order.created_at),
            "total": order.total,
            "currency": order.currency,
            "export_state": order.export_state,
            "outbox": None
            if outbox is None
            else {
                "state": outbox.state,
                "attempts": outbox.attempts,
                "last_error": outbox.last_error,
                "next_attempt_at": aware(outbox.next_attempt_at),
            },
            "steps": steps[order.id][-5:],
        }
        for order, outbox in rows
    ]


# --- pictures --------------------------------------------------------------------------------


def run_series(
    db: Session, *, now: datetime, days: int = 28, limit: int = 240
) -> list[dict[str, Any]]:
    """The latest ``limit`` finished runs of the last ``days`` days, oldest first: rows written
    per second and seconds (more bars than that would be thinner than a pixel)."""
    r = models.SyncRun
    rows = db.execute(
        select(r.run_uuid, r.stream, r.status, r.counts, r.started_at, r.finished_at)
        .where(r.started_at >= now - timedelta(days=days), r.finished_at.is_not(None))
        .order_by(r.id.desc())
        .limit(limit)
    ).all()
    out = []
    for run_uuid, stream, status, counts, started, finished in reversed(rows):
        seconds = _seconds(started, finished) or 0.0
        written = sum(v for k, v in _counts(counts).items() if k != "unchanged")
        out.append(
            {
                "run_uuid": run_uuid,
                "stream": stream,
                "status": status,
                "seconds": seconds,
                "per_second": written / seconds if seconds > 0 else 0.0,
                "started_at": aware(started),
            }
        )
    return out


def orders_per_hour(db: Session, *, now: datetime, hours: int = 48) -> list[tuple[datetime, int]]:
    """Orders taken in each of the last ``hours`` hours (UTC), oldest first."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    created = db.scalars(
        select(models.Order.created_at).where(models.Order.created_at >= start).limit(100_000)
    ).all()
    buckets = [0] * hours
    for moment in created:
        index = int(((aware(moment) or start) - start).total_seconds() // 3600)
        if 0 <= index < hours:
            buckets[index] += 1
    return [(start + timedelta(hours=i), n) for i, n in enumerate(buckets)]


def run_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(models.SyncRun)) or 0)


def _run(run: models.SyncRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "run_uuid": run.run_uuid,
        "stream": run.stream,
        "status": run.status,
        "source": run.source,
        "actor": run.actor,
        "started_at": aware(run.started_at),
        "finished_at": aware(run.finished_at),
        "duration_s": _seconds(run.started_at, run.finished_at),
        "counts": _counts(run.counts),
        "error": run.error,
    }


def _counts(counts: dict[str, Any] | None) -> dict[str, int]:
    return {k: v for k, v in (counts or {}).items() if isinstance(v, int) and v}


def _seconds(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return max(((aware(finished) or started) - (aware(started) or started)).total_seconds(), 0.0)
