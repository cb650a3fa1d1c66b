"""Folder exchange: import the packages 1C exports into a folder, each exactly once.

1C writes a package into ``folder.inbox`` as a sub-folder (``inbox/<package>/import.xml ...``)
or as files straight into the inbox (XML files, ``v8_*.zip`` archives, ``import_files/``), which
then make up one package. A package is *complete* when a marker file (``folder.marker_names``)
is in it (in the inbox itself for loose files), or when nothing in it changed for
``folder.settle_seconds``; either way its sizes and modification times are read twice,
``folder.recheck_seconds`` apart, and a package that changed in between, that holds a temporary
file (``*.tmp``, ``*.part``, ...) or nothing importable waits for the next scan.

A complete package is *claimed* by renaming it into ``<inbox>/.onec-sync/processing/`` (same
file system: atomic), imported through the pipeline (``package_files`` + ``import_files``), then
moved to ``folder.done_path`` or ``folder.failed_path`` with ``<name>.reason.txt`` beside a failed
one. A stop (SIGTERM) or an outage (database down) leaves the claimed package in ``processing/``;
the next scan imports it first, and the pipeline resumes the run where it stopped.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from config import FolderSettings, Settings
from syncd.importer.inputs import IMAGES_DIR, InputError, package_files
from syncd.importer.pipeline import ProgressCallback, RunResult, import_files
from syncd.store.locks import named_lock

log = logging.getLogger(__name__)
SCAN_LOCK = "folder-scan"
WORK_DIR = ".onec-sync"  # inside the inbox: claimed packages, never mistaken for one
LOOSE = "inbox"  # the name of the package made of files straight in the inbox
TEMPORARY = (".tmp", ".part", ".partial", ".crdownload", ".lock", "~")
IMPORTABLE = (".xml", ".zip")

Snapshot = dict[str, tuple[int, int]]  # relative path -> (size, mtime in ns)
StopCheck = Callable[[], bool]
Sleep = Callable[[float], bool]  # sleeps; True if it was woken to stop


class FolderError(Exception):
    """The folder exchange cannot work (inbox missing, not writable)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something in the inbox that may be a package: a sub-folder, or the loose files."""

    name: str
    entries: tuple[Path, ...]  # top-level inbox entries it consists of
    marker_dir: Path  # where its marker file would be


@dataclass(frozen=True, slots=True)
class PackageOutcome:
    name: str
    outcome: str  # succeeded | unchanged | failed | interrupted
    run: RunResult | None = None
    error: str | None = None
    moved_to: Path | None = None
    duration_s: float = 0.0


def scan_inbox(
    settings: Settings,
    engine: Engine,
    *,
    should_stop: StopCheck,
    sleep: Sleep,
    actor: str,
    on_progress: ProgressCallback | None = None,
) -> list[PackageOutcome]:
    """Import what is complete in the inbox: first the packages a stop left claimed, then the
    newly complete ones, oldest first. Returns one outcome per package it imported or tried.

    Raises ``FolderError`` for an unusable inbox, ``LockBusy`` while another process scans;
    database errors propagate with the package still claimed (the next scan imports it).
    """
    folder = settings.folder
    inbox = _checked_inbox(folder)
    processing = inbox / WORK_DIR / "processing"
    processing.mkdir(parents=True, exist_ok=True)
    with named_lock(engine, SCAN_LOCK, wait=False):
        claimed = sorted(p for p in processing.iterdir() if p.is_dir())
        if not should_stop():
            claimed += _claim_complete(inbox, processing, folder, sleep)
        outcomes = []
        for package in claimed:
            if should_stop():
                break
            outcomes.append(
                import_package(
                    package, settings, engine, should_stop=should_stop, actor=actor,
                    on_progress=on_progress,
                )
            )  # fmt: skip
    return outcomes


def import_package(
    package: Path,
    settings: Settings,
    engine: Engine,
    *,
    should_stop: StopCheck,
    actor: str,
    on_progress: ProgressCallback | None = None,
) -> PackageOutcome:
    """Import one claimed package folder, then move it to done/ or failed/ (not when stopped)."""
    name = display_name(package.name)
    log.info("importing package %s", name, extra={"package": package.name})
    inputs = [package, *sorted(p for p in package.rglob("*") if _is_zip(p))]
    try:
        with package_files(inputs, settings, engine) as files:
            result = import_files(
                engine, files, settings, actor=actor, source=f"folder:{package.name}",
                on_progress=on_progress, should_stop=should_stop,
            )  # fmt: skip
    except InputError as exc:
        return _failed(package, settings.folder, str(exc), None)
    if result.outcome == "interrupted":
        log.info("package %s: stopped; it resumes on the next scan", name)
        return PackageOutcome(name, "interrupted", result, duration_s=result.duration_s)
    if not result.ok:
        return _failed(package, settings.folder, result.error or result.outcome, result)
    done = _move(package, _target_dir(settings.folder.done_path))
    log.info(
        "package %s %s: run %s, moved to %s", name, result.outcome, result.run_uuid, done,
        extra={"run_uuid": result.run_uuid, "counts": _short_counts(result)},
    )  # fmt: skip
    return PackageOutcome(name, result.outcome, result, moved_to=done, duration_s=result.duration_s)


# --- finding complete packages ---------------------------------------------------------------


def find_candidates(inbox: Path, skip: frozenset[Path] = frozenset()) -> list[Candidate]:
    """Sub-folders of the inbox, plus the loose files (with ``import_files/``) as one;
    hidden entries and ``skip`` (done/failed folders kept inside the inbox) are not packages."""
    folders, loose = [], []
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith(".") or entry in skip:
            continue
        if entry.is_dir() and entry.name != IMAGES_DIR:
            folders.append(Candidate(entry.name, (entry,), entry))
        else:
            loose.append(entry)
    if any(e.is_file() for e in loose):
        folders.append(Candidate(LOOSE, tuple(loose), inbox))
    return folders


def snapshot(candidate: Candidate) -> Snapshot:
    """Size and modification time of every file in the candidate (files vanishing meanwhile
    are left out: the second look will differ)."""
    found: Snapshot = {}
    for entry in candidate.entries:
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        for path in files:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def looks_complete(
    candidate: Candidate, snap: Snapshot, folder: FolderSettings, now: float
) -> bool:
    """Marker present or quiet long enough; no temporary files; something to import."""
    names = [Path(p).name for p in snap]
    if not any(n.lower().endswith(IMPORTABLE) for n in names):
        return False
    if any(n.lower().endswith(TEMPORARY) for n in names):
        return False
    if any((candidate.marker_dir / marker).is_file() for marker in folder.marker_names):
        return True
    newest = max(mtime for _size, mtime in snap.values()) / 1e9
    return now - newest >= folder.settle_seconds


def _claim_complete(
    inbox: Path, processing: Path, folder: FolderSettings, sleep: Sleep
) -> list[Path]:
    first = {}
    now = datetime.now(UTC).timestamp()
    skip = frozenset(p for p in (folder.done_path, folder.failed_path) if p is not None)
    for candidate in find_candidates(inbox, skip):
        snap = snapshot(candidate)
        if snap and looks_complete(candidate, snap, folder, now):
            first[candidate] = snap
    if not first or sleep(folder.recheck_seconds):
        return []
    claimed = []
    for candidate, snap in sorted(first.items(), key=lambda item: _oldest(item[1])):
        if snapshot(candidate) != snap:
            log.info("package %s is still changing; waiting", candidate.name)
            continue
        claimed.append(_claim(candidate, processing))
    return claimed


def _claim(candidate: Candidate, processing: Path) -> Path:
    target = processing / f"{_stamp()}_{candidate.name}"
    if candidate.entries == (candidate.marker_dir,):  # a sub-folder: one rename
        os.rename(candidate.marker_dir, target)
    else:
        target.mkdir()
        for entry in candidate.entries:
            os.rename(entry, target / entry.name)
    log.info("claimed package %s as %s", candidate.name, target.name)
    return target


# --- after the import ------------------------------------------------------------------------


def _failed(
    package: Path, folder: FolderSettings, reason: str, result: RunResult | None
) -> PackageOutcome:
    target = _move(package, _target_dir(folder.failed_path))
    target.with_name(target.name + ".reason.txt").write_text(
        _reason_text(display_name(package.name), reason, result), encoding="utf-8"
    )
    log.error("package %s failed: %s; moved to %s", display_name(package.name), reason, target)
    return PackageOutcome(
        display_name(package.name), "failed", result, error=reason, moved_to=target,
        duration_s=result.duration_s if result else 0.0,
    )  # fmt: skip


def _reason_text(name: str, reason: str, result: RunResult | None) -> str:
    lines = [f"package: {name}", f"failed: {datetime.now(UTC).isoformat()}", f"reason: {reason}"]
    if result is not None:
        lines.append(f"run: {result.run_uuid} ({result.outcome})")
        for item in result.files:
            if item.error:
                lines.append(f"file {item.name}: {item.error}")
            if item.quarantined:
                lines.append(f"  kept in quarantine: {item.quarantined}")
    lines.append("Fix the cause and put the package back into the inbox to import it again.")
    return "\n".join(lines) + "\n"


def _move(package: Path, directory: Path) -> Path:
    target = directory / package.name
    shutil.move(str(package), target)
    return target


def _target_dir(path: Path | None) -> Path:
    assert path is not None, "a folder exchange has an inbox, so done/failed paths"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _checked_inbox(folder: FolderSettings) -> Path:
    if folder.inbox is None:
        raise FolderError(
            "folder.inbox is not set: the folder exchange is off; set [folder] inbox "
            "(ONEC_SYNC_FOLDER_INBOX) to the folder 1C exports into"
        )
    if not folder.inbox.is_dir():
        raise FolderError(f"folder.inbox {folder.inbox} is not a folder")
    if not os.access(folder.inbox, os.W_OK):
        raise FolderError(f"folder.inbox {folder.inbox} is not writable by this user")
    return folder.inbox


def _is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def _oldest(snap: Snapshot) -> int:
    return min(mtime for _size, mtime in snap.values())


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _short_counts(result: RunResult) -> dict[str, int]:
    c = result.counts
    return {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}


def display_name(name: str) -> str:
    """``<stamp>_<name>`` -> ``<name>``: how 1C named the package."""
    return name.split("_", 1)[1] if stamp_of(name) is not None and "_" in name else name


def stamp_of(name: str) -> datetime | None:
    """When a package named ``<stamp>_<name>`` (processing/, done/, failed/) was claimed."""
    head = name.split("_", 1)[0]
    try:
        return datetime.strptime(head, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def outcomes_summary(outcomes: Sequence[PackageOutcome]) -> str:
    if not outcomes:
        return "nothing complete in the inbox"
    return ", ".join(f"{o.name} {o.outcome}" for o in outcomes)
