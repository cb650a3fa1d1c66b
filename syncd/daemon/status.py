"""What the sync is doing, read from the database: for ``onec-sync status`` and ``/metrics``.

Per stream (``sync_runs.stream``: commerceml, odata, orders, ...): the last run and how it
ended, the last success and the *lag* (seconds since it); the stream cursors (``checkpoints``);
orders not yet in 1C; the exchange sessions; the webhook endpoints; on PostgreSQL, which daemon leads which job.
Everything is plain data (dicts of str/int/float/None, ISO-8601 UTC times).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from syncd.daemon.webhooks import describe
from syncd.importer.hiding import held_runs
from syncd.store import changes, models

OK_STATUSES = ("succeeded", "unchanged")


def collect_status(engine: Engine, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``onec-sync status`` shows. Raises ``SQLAlchemyError`` if the database is down."""
    now = now or datetime.now(UTC)
    with Session(engine) as db:
        return {
            "checked_at": now.isoformat(),
            "streams": stream_status(db, now=now),
            "cursors": cursors(db),
            "orders": order_counts(db),
            "exchange": exchange_overview(db),
            "leaders": leaders(db) if engine.dialect.name == "postgresql" else None,
            "held_hides": held_hides(db),
            "webhooks": webhook_status(db),
        }


def webhook_status(db: Session) -> list[dict[str, Any]]:
    """Each webhook endpoint: state, how far behind the feed's head, its last error."""
    head = changes.head(db)
    rows = db.execute(select(models.WebhookEndpoint).order_by(models.WebhookEndpoint.id))
    return [describe(endpoint, head=head) for endpoint in rows.scalars()]


def stream_status(db: Session, *, now: datetime) -> list[dict[str, Any]]:
    runs = models.SyncRun
    last_ids = select(func.max(runs.id)).group_by(runs.stream).scalar_subquery()
    last = db.execute(select(runs).where(runs.id.in_(last_ids)).order_by(runs.stream)).scalars()
    successes = dict(last_successes(db))
    out = []
    for run in last:
        success = successes.get(run.stream)
        out.append(
            {
                "stream": run.stream,
                "last_run": run.run_uuid,
                "status": run.status,
                "started_at": _iso(run.started_at),
                "finished_at": _iso(run.finished_at),
                "error": run.error,
                "last_success_at": _iso(success),
                "lag_seconds": round((now - success).total_seconds(), 1) if success else None,
            }
        )
    return out


def last_successes(db: Session) -> list[tuple[str, datetime]]:
    """(stream, when its last successful run finished), UTC."""
    runs = models.SyncRun
    rows = db.execute(
        select(runs.stream, func.max(runs.finished_at))
        .where(runs.status.in_(OK_STATUSES), runs.finished_at.is_not(None))
        .group_by(runs.stream)
    ).all()
    return [(stream, _aware(finished)) for stream, finished in rows if finished is not None]


def held_hides(db: Session) -> list[dict[str, Any]]:
    """Full packages whose hiding waits for an operator (``syncd.importer.hiding``)."""
    return [{**h, "started_at": _iso(h["started_at"])} for h in held_runs(db)]


def cursors(db: Session) -> list[dict[str, Any]]:
    rows = db.execute(select(models.Checkpoint).order_by(models.Checkpoint.stream)).scalars()
    return [
        {"stream": c.stream, "cursor": c.cursor, "updated_at": _iso(c.updated_at)} for c in rows
    ]


def order_counts(db: Session) -> dict[str, Any]:
    """Orders not yet confirmed by 1C, and the OData outbox by state."""
    orders = models.Order
    pending = db.execute(
        select(func.count())
        .select_from(orders)
        .where(orders.export_state != "exported", orders.is_deleted.is_(False))
    ).scalar_one()
    outbox = db.execute(
        select(models.OrderOutbox.state, func.count()).group_by(models.OrderOutbox.state)
    ).all()
    return {"pending": int(pending), "outbox": {state: int(n) for state, n in outbox}}


def exchange_overview(db: Session) -> dict[str, Any]:
    sessions = models.ExchangeSession
    by_status = db.execute(select(sessions.status, func.count()).group_by(sessions.status)).all()
    last = db.execute(select(sessions).order_by(sessions.id.desc()).limit(1)).scalar_one_or_none()
    return {
        "sessions": {status: int(n) for status, n in by_status},
        "last": None
        if last is None
        else {
            "id": last.id,
            "type": last.type,
            "username": last.username,
            "status": last.status,
            "created_at": _iso(last.created_at),
            "last_seen_at": _iso(last.last_seen_at),
            "ended_at": _iso(last.ended_at),
            "error": last.error,
        },
    }


def leaders(db: Session) -> list[dict[str, Any]]:
    """The daemons holding job leadership locks (they name themselves in application_name)."""
    rows = db.execute(
        text(
            "SELECT application_name, client_addr::text, backend_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'onec-syncd %' "
            "ORDER BY application_name"
        )
    ).all()
    out = []
    for name, addr, since in rows:  # "onec-syncd job:<job> <host> pid <pid>"
        parts = str(name).split(" ", 2)
        job = parts[1].removeprefix("job:") if len(parts) > 1 else ""
        where = parts[2] if len(parts) > 2 else ""
        out.append({"job": job, "daemon": where, "client_addr": addr, "since": _iso(since)})
    return out


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment is not None else None


def format_status(status: dict[str, Any]) -> str:
    """``collect_status``'s result as the text ``onec-sync status`` prints."""
    lines = ["streams:"]
    for s in status["streams"] or []:
        lag = f"lag {_duration(s['lag_seconds'])}" if s["lag_seconds"] is not None else "never ok"
        lines.append(
            f"  {s['stream']:<14} {s['status']:<11} {(s['finished_at'] or s['started_at'])[:19]}"
            f"  {lag}  run {s['last_run']}" + (f"\n      {s['error']}" if s["error"] else "")
        )
    if not status["streams"]:
        lines.append("  (no runs yet)")
    if status["cursors"]:
        lines.append("cursors:")
        for c in status["cursors"]:
            lines.append(f"  {c['stream']:<24} {c['cursor']}  ({(c['updated_at'] or '')[:19]})")
    orders = status["orders"]
    outbox = ", ".join(f"{k} {v}" for k, v in sorted(orders["outbox"].items())) or "empty"
    lines.append(f"orders: {orders['pending']} not yet in 1C; OData outbox: {outbox}")
    last = status["exchange"]["last"]
    if last is None:
        lines.append("exchange: no session yet")
    else:
        lines.append(
            f"exchange: last session {last['id']} ({last['type']}, {last['username']}) "
            f"{last['status']} at {(last['ended_at'] or last['last_seen_at'] or '')[:19]}"
            + (f": {last['error']}" if last["error"] else "")
        )
    for held in status.get("held_hides") or []:
        rows = ", ".join(
            f"{m['would_hide']} of {m['active']} {table}"
            for table, m in sorted(held["held"].items())
        )
        lines.append(
            f"HIDING HELD: run {held['run_uuid']} ({held['started_at'][:19]}Z) would hide {rows}: "
            f"`onec-sync runs confirm-hide {held['run_uuid']}` or `reject-hide`"
        )
    for w in status.get("webhooks") or []:
        lines.append(
            f"webhook {w['id']}: {w['state']}, {w['behind']} behind, {w['delivered']} delivered"
            f"  {w['url']}"
            + (f"\n      {w['attempts']} failure(s): {w['last_error']}" if w["attempts"] else "")
        )
    if status["leaders"] is not None:
        leaders = ", ".join(f"{x['job']} on {x['daemon']}" for x in status["leaders"])
        lines.append(f"leaders: {leaders or 'no daemon running'}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
