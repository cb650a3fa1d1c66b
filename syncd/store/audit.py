"""The audit log: append-only, hash-chained, verifiable.

Each entry's ``entry_hash`` is ``sha256(prev_hash || canonical JSON of the entry)``, and
``prev_hash`` is the previous entry's ``entry_hash`` (``"0" * 64`` for the first). The database
refuses UPDATE and DELETE on the table (triggers, see migration 0001); ``verify()`` finds any
change made around them (a rewritten, removed or inserted entry breaks the chain).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from syncd.store.models import AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x0A0D17  # pg_advisory_xact_lock key serialising appends on PostgreSQL
_HASHED = (
    "created_at",
    "actor",
    "action",
    "source",
    "subject",
    "run_uuid",
    "content_hash",
    "outcome",
    "counts",
    "duration_ms",
    "error",
    "details",
)


def append(
    session: Session,
    *,
    action: str,
    outcome: str,
    actor: str | None = None,
    source: str | None = None,
    subject: str | None = None,
    run_uuid: str | None = None,
    content_hash: str | None = None,
    counts: dict[str, Any] | None = None,
    duration_ms: int | None = None,
    error: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction (it is kept only if the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    previous = session.execute(
        select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    entry = AuditEntry(
        created_at=datetime.now(UTC),
        actor=actor,
        action=action,
        source=source,
        subject=subject,
        run_uuid=run_uuid,
        content_hash=content_hash,
        outcome=outcome,
        counts=_plain(counts or {}),
        duration_ms=duration_ms,
        error=error,
        details=_plain(details or {}),
        prev_hash=previous or GENESIS,
        entry_hash="",
    )
    entry.entry_hash = entry_digest(entry)
    session.add(entry)
    session.flush()
    return entry


def entry_digest(entry: AuditEntry) -> str:
    payload = {name: getattr(entry, name) for name in _HASHED}
    payload["created_at"] = _utc_iso(entry.created_at)
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((entry.prev_hash + canonical).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    broken_at: int | None  # id of the first entry whose chain does not hold
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in id order; report the first entry that does not fit."""
    expected_prev = GENESIS
    checked = 0
    for entry in _entries(session, batch):
        if entry.prev_hash != expected_prev:
            return VerifyResult(checked, entry.id, "previous entry missing or changed")
        if entry_digest(entry) != entry.entry_hash:
            return VerifyResult(checked, entry.id, "entry content changed after it was written")
        expected_prev = entry.entry_hash
        checked += 1
    return VerifyResult(checked, None, None)


def _entries(session: Session, batch: int) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands timestamps back without their zone
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    """JSON-safe copy: what is stored must hash the same after a database round trip."""
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal | datetime):
        return str(value)
    raise TypeError(f"not JSON-serialisable in an audit entry: {type(value).__name__}")
