"""The audit log: append-only, hash-chained, verifiable.

Each entry's ``entry_hash`` is computed over ``prev_hash || canonical JSON of the entry``, and
``prev_hash`` is the previous entry's ``entry_hash`` (``"0" * 64`` for the first). Entries written
while ``database.audit_key`` is set are *keyed*: the hash is HMAC-SHA256 with that key, and
``key_id`` names the key (a fingerprint, never the key). Entries written without it are unkeyed
(plain SHA-256), so anyone with database access could recompute them; a keyed entry can only be
forged by whoever holds the key, which the database never stores. Once the log is keyed, every
later entry must be keyed with the same key: an unkeyed entry after a keyed one is a downgrade.

The database refuses UPDATE and DELETE on the table (triggers, see migration 0001) and the
runtime role may only INSERT and SELECT (``syncd.store.roles``); ``verify()`` finds any change
made around them (a rewritten, removed or inserted entry breaks the chain). Truncating the tail
and re-chaining keep the chain whole: anchors written outside the database catch those
(``syncd.store.anchors``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from config.secret import Secret
from syncd.store.engine import KEY_OPTION
from syncd.store.models import AuditEntry

GENESIS = "0" * 64
KEY_SET = "audit.key_set"  # the entry that starts a keyed part of the log
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
    """Add one entry in the caller's transaction (it is kept only if the caller commits).

    With a key configured and a head that is unkeyed or keyed with another key, an
    ``audit.key_set`` entry comes first: the keyed part of the log starts there.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    key = configured_key(session)
    head = session.execute(
        select(AuditEntry.entry_hash, AuditEntry.key_id).order_by(AuditEntry.id.desc()).limit(1)
    ).one_or_none()
    previous, previous_key_id = (head[0], head[1]) if head else (GENESIS, None)
    if key is not None and previous_key_id != key_id(key):
        marker = _new_entry(
            session, key, previous, action=KEY_SET, outcome="succeeded",
            details={"key_id": key_id(key), "previous_key_id": previous_key_id},
        )  # fmt: skip
        previous = marker.entry_hash
    return _new_entry(
        session, key, previous, action=action, outcome=outcome, actor=actor, source=source,
        subject=subject, run_uuid=run_uuid, content_hash=content_hash, counts=counts,
        duration_ms=duration_ms, error=error, details=details,
    )  # fmt: skip


def _new_entry(
    session: Session,
    key: bytes | None,
    previous: str,
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
        prev_hash=previous,
        entry_hash="",
        key_id=key_id(key) if key is not None else None,
    )
    entry.entry_hash = entry_digest(entry, key)
    session.add(entry)
    session.flush()
    return entry


def configured_key(session: Session) -> bytes | None:
    """The audit key the session's engine was made with (``database.audit_key``), if any."""
    secret = session.get_bind().get_execution_options().get(KEY_OPTION)
    if isinstance(secret, Secret) and secret:
        return secret.reveal().encode("utf-8")
    return None


def key_id(key: bytes) -> str:
    """A fingerprint naming the key in entries and messages; it reveals nothing of the key."""
    return hmac.new(key, b"onec-sync audit key id", hashlib.sha256).hexdigest()[:16]


def entry_digest(entry: AuditEntry, key: bytes | None = None) -> str:
    """SHA-256 for unkeyed entries; HMAC-SHA256 with ``key`` (which also covers ``key_id``)."""
    payload = {name: getattr(entry, name) for name in _HASHED}
    payload["created_at"] = _utc_iso(entry.created_at)
    if entry.key_id is not None:
        payload["key_id"] = entry.key_id
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    message = (entry.prev_hash + canonical).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What ``verify`` found. ``keyed_from`` is the first keyed entry's id (None: no keyed part);
    ``keys_checked`` says whether the keyed part's HMACs were checked (the key was configured)
    or only its links (no key: anyone with database access could have recomputed it)."""

    checked: int
    broken_at: int | None  # id of the first entry whose chain does not hold
    reason: str | None
    keyed_from: int | None = None
    keyed: int = 0  # entries in the keyed part
    keys_checked: bool = False
    head_id: int | None = None
    head_hash: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


@dataclass(slots=True)
class _Walk:
    key: bytes | None
    checked: int = 0
    keyed: int = 0
    keyed_from: int | None = None
    expected_prev: str = GENESIS
    head_id: int | None = None

    def problem(self, entry: AuditEntry) -> str | None:
        if entry.prev_hash != self.expected_prev:
            return "previous entry missing or changed"
        if entry.key_id is None:
            if self.keyed_from is not None:
                return f"unkeyed entry after the keyed part that starts at entry {self.keyed_from}"
            if entry_digest(entry) != entry.entry_hash:
                return "entry content changed after it was written"
            return None
        if self.key is not None and entry.key_id != key_id(self.key):
            return f"keyed with key {entry.key_id}, not the configured key {key_id(self.key)}"
        if self.key is not None and entry_digest(entry, self.key) != entry.entry_hash:
            return "entry content changed after it was written (its HMAC does not match)"
        return None

    def accept(self, entry: AuditEntry) -> None:
        if entry.key_id is not None:
            self.keyed += 1
            if self.keyed_from is None:
                self.keyed_from = entry.id
        self.expected_prev = entry.entry_hash
        self.head_id = entry.id
        self.checked += 1

    def result(self, broken_at: int | None = None, reason: str | None = None) -> VerifyResult:
        return VerifyResult(
            self.checked, broken_at, reason, keyed_from=self.keyed_from, keyed=self.keyed,
            keys_checked=self.key is not None, head_id=self.head_id,
            head_hash=self.expected_prev if self.head_id is not None else None,
        )  # fmt: skip


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in id order; report the first entry that does not fit.

    Without the key (``database.audit_key``) the keyed part is checked for its links only.
    """
    walk = _Walk(configured_key(session))
    for entry in _entries(session, batch):
        reason = walk.problem(entry)
        if reason is not None:
            return walk.result(entry.id, reason)
        walk.accept(entry)
    return walk.result()


def head(session: Session) -> tuple[int, str] | None:
    """The newest entry's id and hash (what an anchor records), None for an empty log."""
    row = session.execute(
        select(AuditEntry.id, AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).one_or_none()
    return (row[0], row[1]) if row else None


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


def describe(result: VerifyResult) -> list[str]:
    """What ``verify`` found, as lines for a person: the verdict and which part is keyed."""
    lines = []
    if result.ok:
        lines.append(f"audit log intact: {result.checked} entries verified")
    else:
        lines.append(
            f"audit log tampered with at entry {result.broken_at}: {result.reason} "
            f"({result.checked} entries before it verified)"
        )
    unkeyed = result.checked - result.keyed
    if result.keyed_from is None:
        lines.append(
            f"unkeyed: all {result.checked} entries (SHA-256: anyone with database access could "
            "recompute them; set database.audit_key to key the log)"
        )
        if result.keys_checked and result.checked:
            lines.append(
                "warning: an audit key is configured but no entry is keyed: expected only "
                "until the first entry written with the key; otherwise the keyed part was "
                "removed (check with --anchors)"
            )
        return lines
    if unkeyed:
        lines.append(f"unkeyed: the {unkeyed} entries before entry {result.keyed_from} (SHA-256)")
    if result.keys_checked:
        lines.append(f"keyed: {result.keyed} entries from entry {result.keyed_from} (HMAC checked)")
    else:
        lines.append(
            f"keyed: {result.keyed} entries from entry {result.keyed_from}, only their links "
            "checked: no audit key configured (ONEC_SYNC_DATABASE_AUDIT_KEY), so their content "
            "is not verified"
        )
    return lines
