"""Anchors: the head of the audit chain written outside the database.

A chain that someone with database access truncated, or rewrote and re-chained, is whole again
and ``audit.verify`` cannot tell. An anchor (entry id + hash, and when) kept where that person
cannot write catches both: the anchored entry is gone (truncation) or its hash differs (a
rewrite). Anchors go to a file, one JSON line each, appended (``O_APPEND``, fsync'ed) — keep it
on other storage or ship it away — and to the daemon's log (``jobs.audit_anchor``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from syncd.store import audit
from syncd.store.models import AuditEntry


class AnchorFileError(Exception):
    """The anchor file cannot be read or written, or a line of it is not an anchor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Anchor:
    entry_id: int
    entry_hash: str
    at: str  # ISO 8601 UTC, when the anchor was taken
    line: int = 0  # where it was read from (0: not read from a file)

    def to_line(self) -> str:
        return json.dumps({"at": self.at, "id": self.entry_id, "hash": self.entry_hash}) + "\n"


def current_anchor(session: Session) -> Anchor | None:
    """The head of the chain now, None for an empty log."""
    top = audit.head(session)
    if top is None:
        return None
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Anchor(entry_id=top[0], entry_hash=top[1], at=now)


def anchor_to_file(engine: Engine, path: Path) -> Anchor | None:
    """Append the current head to ``path`` (created 0640 if missing); None if the log is empty."""
    with Session(engine) as session:
        anchor = current_anchor(session)
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


def _parse(path: Path, number: int, line: str) -> Anchor:
    try:
        raw = json.loads(line)
        entry_id, entry_hash, at = raw["id"], raw["hash"], raw["at"]
    except (ValueError, KeyError, TypeError):
        raw = None
    if (
        raw is None
        or not isinstance(entry_id, int)
        or isinstance(entry_id, bool)
        or not isinstance(entry_hash, str)
        or not isinstance(at, str)
    ):
        raise AnchorFileError(
            f"{path}:{number}: not an anchor line (expected "
            '{"at": "...", "id": <entry id>, "hash": "<64 hex>"} as `audit anchor` writes)'
        )
    return Anchor(entry_id=entry_id, entry_hash=entry_hash, at=at, line=number)


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """``first_bad``: the anchor whose entry is missing or differs, lowest entry id first;
    ``last_good``: the highest anchored entry below it that still matches."""

    checked: int
    first_bad: Anchor | None = None
    reason: str = ""
    last_good: int | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def summary(self) -> str:
        if self.first_bad is None:
            return f"anchors: all {self.checked} match the log"
        bad = self.first_bad
        since = f"after entry {self.last_good}" if self.last_good is not None else "from the start"
        return (
            f"anchors: entry {bad.entry_id} {self.reason} (anchor of {bad.at}, line {bad.line}); "
            f"the log differs {since} — the first entry that differs is at most {bad.entry_id}"
        )


def check_anchors(session: Session, anchors: list[Anchor]) -> AnchorCheck:
    """Compare every anchor with the log, lowest entry id first; stop at the first that fails."""
    last_id = session.execute(select(func.max(AuditEntry.id))).scalar_one_or_none() or 0
    last_good: int | None = None
    for anchor in sorted(anchors, key=lambda a: (a.entry_id, a.line)):
        stored = session.execute(
            select(AuditEntry.entry_hash).where(AuditEntry.id == anchor.entry_id)
        ).scalar_one_or_none()
        if stored is None:
            reason = (
                f"is missing: the log was truncated (its last entry is {last_id})"
                if anchor.entry_id > last_id
                else "is missing: it was deleted"
            )
            return AnchorCheck(len(anchors), anchor, reason, last_good)
        if stored != anchor.entry_hash:
            return AnchorCheck(len(anchors), anchor, "was rewritten: its hash differs", last_good)
        last_good = anchor.entry_id
    return AnchorCheck(len(anchors), None, "", last_good)
