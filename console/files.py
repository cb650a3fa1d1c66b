"""Rejected input on disk: the quarantine (files) and the folder exchange's failed packages.

Both keep ``<name>.reason.txt`` beside what they hold. A name from a request is accepted only
if it is exactly one entry of the folder's own listing, so no path from outside is ever joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REASON = ".reason.txt"
_STAMP = re.compile(r"^(\d{8}T\d{6}\.\d{6}Z)_(.+)$")
MAX_REASON_BYTES = 64 * 1024
MAX_LISTED = 500


@dataclass(frozen=True, slots=True)
class Kept:
    """One quarantined file or failed package."""

    name: str  # the entry's name in its folder (<stamp>_<original>)
    original: str
    kept_at: datetime | None
    size: int
    is_package: bool
    reason: str  # the reason file's text ("" if it has none)

    @property
    def line(self) -> str | None:
        found = re.search(r"line (\d+)", self.reason)
        return found.group(1) if found else None

    @property
    def element(self) -> str | None:
        found = re.search(r"element <([^<>]+)>", self.reason)
        return found.group(1) if found else None

    @property
    def summary(self) -> str:
        for line in self.reason.splitlines():
            if line.startswith("reason: "):
                return line.removeprefix("reason: ")
        return self.reason.splitlines()[0] if self.reason else ""


def listing(directory: Path | None) -> list[Kept]:
    """What ``directory`` keeps, newest first (at most ``MAX_LISTED``); [] if it is missing."""
    if directory is None or not directory.is_dir():
        return []
    entries = [
        p for p in directory.iterdir() if not p.name.endswith(REASON) and not p.name.startswith(".")
    ]
    entries.sort(key=lambda p: p.name, reverse=True)
    return [_kept(p) for p in entries[:MAX_LISTED]]


def find(directory: Path | None, name: str) -> Path | None:
    """The entry ``name`` of ``directory``, or None: never a path outside it."""
    if directory is None or not name or len(name.encode()) > 255 or name in (".", ".."):
        return None
    if any(c in name for c in ("/", "\\", "\x00")):
        return None
    if name.endswith(REASON) or name.startswith("."):
        return None
    candidate = directory / name
    if candidate.parent != directory or not (candidate.is_file() or candidate.is_dir()):
        return None
    if candidate.is_symlink():
        return None
    return candidate


def describe(path: Path) -> Kept:
    return _kept(path)


def _kept(path: Path) -> Kept:
    match = _STAMP.match(path.name)
    kept_at = None
    if match:
        try:
            kept_at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            kept_at = None
    is_package = path.is_dir()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if is_package else 0
    if not is_package:
        size = path.stat().st_size
    return Kept(
        name=path.name,
        original=match.group(2) if match else path.name,
        kept_at=kept_at,
        size=size,
        is_package=is_package,
        reason=_reason(path),
    )


def _reason(path: Path) -> str:
    reason = path.with_name(path.name + REASON)
    try:
        with reason.open("rb") as handle:
            return handle.read(MAX_REASON_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""
