"""Exchange sessions in the audit log: one hash-chained entry per session, when it ends.

The entry says who (1C login, address), what (files, sizes, what each import did) and how it
ended. ``outcome`` is ``failed``, ``unchanged`` (every import found nothing to change, no new
image bytes: a repeated exchange) or ``succeeded``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from syncd.exchange.package import CHANGE_KEYS
from syncd.store import audit
from syncd.store.models import ExchangeFile, ExchangeSession


def record_session(
    db: Session,
    session: ExchangeSession,
    files: Sequence[ExchangeFile],
    *,
    run_counts: Mapping[str, int] | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append the session's audit entry (in the caller's transaction)."""
    counts = _totals(files, run_counts)
    outcome = "failed" if session.status == "failed" else _success_outcome(files, counts)
    started = _aware(session.created_at)
    ended = _aware(session.ended_at) if session.ended_at else datetime.now(UTC)
    audit.append(
        db,
        action=f"exchange.{session.type}",
        outcome=outcome,
        actor=f"1c:{session.username}",
        source=f"exchange session {session.id} from {session.remote_addr or 'unknown address'}",
        subject=", ".join(f.name for f in files) or None,
        counts=counts,
        duration_ms=int((ended - started).total_seconds() * 1000),
        error=session.error,
        details={
            "session_id": session.id,
            "status": session.status,
            "version": session.version,
            "zip": session.zip,
            "user_agent": session.user_agent,
            "files": [_file_entry(f) for f in files],
            **(details or {}),
        },
    )


def _totals(files: Sequence[ExchangeFile], run_counts: Mapping[str, int] | None) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in files:
        for key, value in (row.counts or {}).items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    for key, value in (run_counts or {}).items():
        if key in ("hidden", "deleted"):
            totals[key] = max(totals.get(key, 0), value)
    return totals


def _success_outcome(files: Sequence[ExchangeFile], counts: Mapping[str, int]) -> str:
    changed = any(counts.get(key, 0) for key in CHANGE_KEYS)
    new_images = counts.get("images_changed", 0) or counts.get("new_bytes", 0)
    return "succeeded" if changed or new_images else "unchanged"


def _file_entry(row: ExchangeFile) -> dict[str, Any]:
    return {
        "name": row.name,
        "size": row.size,
        "chunks": row.chunks,
        "kind": row.kind,
        "status": row.status,
        "sha256": row.sha256,
        "counts": row.counts or {},
        "error": row.error,
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
