"""Anchors: the head of the audit chain written outside the database.

A chain that someone with database access truncated, or rewrote and re-chained, is whole again
and ``audit.verify`` cannot tell. An anchor kept where that person cannot write catches both:
an anchored entry is gone (truncation) or its hash differs (a rewrite).

An anchor in a file is one JSON line, appended (``O_APPEND``, fsync'ed): the head (``id``,
``hash``, ``at``) and the ``trail`` — ``[id, first 16 hex digits of its hash]`` of every entry
written since the file's previous anchor (at most ``TRAIL_MAX``, the newest) — so a check names
the very first entry that differs, not only the anchor after it. The daemon's log gets the head
alone (``jobs.audit_anchor`` and a line after every run).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from syncd.store import audit
from syncd.store.models import AuditEntry

TRAIL_MAX = 10_000  # entries per anchor line (~25 bytes each); older ones rest on the head hash
_PREFIX = 16  # hex digits of each trail hash: 64 bits


class AnchorFileError(Exception):
    """The anchor file cannot be read or written, or a line of it is not an anchor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Anchor:
    entry_id: int
    entry_hash: str
    at: str  # ISO 8601 UTC, when the anchor was taken
    trail: tuple[tuple[int, str], ...] = ()  # (id, hash prefix) of the entries since the last one
    line: int = 0  # where it was read from (0: not read from a file)

    def to_line(self) -> str:
        raw = {"at": self.at, "id": self.entry_id, "hash": self.entry_hash}
        return json.dumps({**raw, "trail": [list(t) for t in self.trail]}) + "\n"


def current_anchor(session: Session, *, since: int | None = None) -> Anchor | None:
    """The head of the chain now (with the trail of entries after ``since``), None if empty."""
    top = audit.head(session)
    if top is None:
        return None
    trail: tuple[tuple[int, str], ...] = ()
    if since is not None:
        rows = session.execute(
            select(AuditEntry.id, AuditEntry.entry_hash)
            .where(AuditEntry.id > since, AuditEntry.id <= top[0])
            .order_by(AuditEntry.id.desc())
            .limit(TRAIL_MAX)
        ).all()
        trail = tuple((row[0], row[1][:_PREFIX]) for row in reversed(rows))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Anchor(entry_id=top[0], entry_hash=top[1], at=now, trail=trail)


def anchor_to_file(engine: Engine, path: Path) -> Anchor | None:
    """Append the current head and its trail to ``path`` (created 0640 if missing); None if the
    log is empty. The trail starts after the file's last anchor (a new file: the whole log,
    up to ``TRAIL_MAX`` entries)."""
    previous = _last_anchor(path)
    with Session(engine) as session:
        anchor = current_anchor(session, since=previous.entry_id if previous else 0)
    if anchor is None:
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, anchor.to_line().encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise AnchorFileError(f"cannot append to the anchor file {path}: {exc.strerror}") from exc
    return anchor


def read_anchors(path: Path) -> list[Anchor]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise AnchorFileError(f"cannot read the anchor file {path}: {reason}") from exc
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            found.append(_parse(path, number, line))
    return found


def _last_anchor(path: Path) -> Anchor | None:
    """The file's last anchor, read from its end (the file grows for years)."""
    try:
        with path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            tail, position = b"", end
            while position > 0 and tail.rstrip(b"\n").count(b"\n") < 1:
                step = min(64 * 1024, position)
                position -= step
                handle.seek(position)
                tail = handle.read(step) + tail
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorFileError(f"cannot read the anchor file {path}: {exc.strerror}") from exc
    lines = tail.rstrip(b"\n").split(b"\n")
    if not lines or not lines[-1].strip():
        return None
    return _parse(path, 0, lines[-1].decode("utf-8", errors="replace"))


def _parse(path: Path, number: int, line: str) -> Anchor:
    try:
        raw = json.loads(line)
        entry_id, entry_hash, at = raw["id"], raw["hash"], raw["at"]
        trail = tuple((int(i), str(h)) for i, h in raw.get("trail", []))
        valid = (
            isinstance(entry_id, int)
            and not isinstance(entry_id, bool)
            and isinstance(at, str)
            and _is_hex(entry_hash, 64)
            and all(_is_hex(h, _PREFIX) for _, h in trail)
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    where = f"{path}:{number}" if number else f"{path} (its last line)"
    if not valid:
        raise AnchorFileError(
            f"{where}: not an anchor line (expected "
            '{"at": "...", "id": <entry id>, "hash": "<64 hex>", "trail": [...]} as '
            "`audit anchor` writes)"
        )
    return Anchor(entry_id=entry_id, entry_hash=entry_hash, at=at, trail=trail, line=number)


def _is_hex(value: object, length: int) -> bool:
    return (
        isinstance(value, str)
        and len(value) == length
        and all(c in "0123456789abcdef" for c in value)
    )


@dataclass(frozen=True, slots=True)
class Difference:
    entry_id: int
    reason: str
    anchor: Anchor


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """``first``: the lowest entry that is missing or differs from what an anchor recorded;
    ``failed``: how many anchors found a difference."""

    checked: int
    entries: int = 0  # entries compared (heads and trails)
    first: Difference | None = None
    failed: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first is None

    def summary(self) -> str:
        if self.first is None:
            return f"anchors: all {self.checked} match the log ({self.entries} entries compared)"
        first = self.first
        return (
            f"anchors: {self.failed} of {self.checked} do not match the log; the first entry "
            f"that differs is {first.entry_id}: it {first.reason} (anchor of {first.anchor.at}, "
            f"line {first.anchor.line})"
        )


def check_anchors(session: Session, anchors: list[Anchor]) -> AnchorCheck:
    """Compare every anchor (its trail and its head) with the log."""
    last_id = session.execute(select(func.max(AuditEntry.id))).scalar_one_or_none() or 0
    differences: list[Difference] = []
    failed = 0
    entries = 0
    for anchor in anchors:
        expected = [*anchor.trail, (anchor.entry_id, anchor.entry_hash)]
        stored = _hashes(session, [entry_id for entry_id, _ in expected])
        found = [
            Difference(entry_id, reason, anchor)
            for entry_id, digest in expected
            if (reason := _compare(stored.get(entry_id), digest, entry_id, last_id)) is not None
        ]
        entries += len(expected)
        failed += bool(found)
        differences.extend(found)
    first = min(differences, key=lambda d: d.entry_id) if differences else None
    return AnchorCheck(len(anchors), entries, first, failed, differences)


def _compare(stored: str | None, recorded: str, entry_id: int, last_id: int) -> str | None:
    if stored is None:
        if entry_id > last_id:
            return f"is missing: the log was truncated (its last entry is {last_id})"
        return "is missing: it was deleted"
    if not stored.startswith(recorded):
        return "was rewritten: its hash differs"
    return None


def _hashes(session: Session, ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = session.execute(
            select(AuditEntry.id, AuditEntry.entry_hash).where(AuditEntry.id.in_(chunk))
        ).all()
        found.update({row[0]: row[1] for row in rows})
    return found
