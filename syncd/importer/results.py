"""What an import reports: progress while it runs, and the result of each file and run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exchange_formats.records import DocumentKind
from syncd.importer.writer import Counts
from syncd.store import models


@dataclass(frozen=True, slots=True)
class Progress:
    file: str
    records_done: int
    bytes_read: int
    bytes_total: int


@dataclass(frozen=True, slots=True)
class FileResult:
    name: str
    sha256: str
    kind: str
    outcome: str  # succeeded | unchanged | failed | skipped
    counts: Counts
    only_changes: bool | None = None
    error: str | None = None
    quarantined: Path | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


@dataclass(frozen=True, slots=True)
class RunResult:
    run_uuid: str
    outcome: str  # succeeded | unchanged | failed | interrupted
    counts: Counts
    files: tuple[FileResult, ...] = ()
    error: str | None = None
    duration_s: float = 0.0
    resumed: bool = False
    held_hide: str | None = None  # why this full package's hiding waits for an operator

    @property
    def ok(self) -> bool:
        return self.outcome in ("succeeded", "unchanged")


def file_result(run_file: models.RunFile) -> FileResult:
    counts = Counts.from_dict(run_file.counts or {})
    if run_file.status in ("failed", "skipped"):
        outcome = run_file.status
    else:
        outcome = "unchanged" if counts.written == 0 and counts.rejected == 0 else "succeeded"
    return FileResult(
        run_file.name,
        run_file.sha256,
        run_file.kind or DocumentKind.UNKNOWN.value,
        outcome,
        counts,
        run_file.only_changes,
        error=run_file.error,
    )
