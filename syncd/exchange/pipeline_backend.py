"""``PackageBackend`` on the import pipeline: ``syncd.importer.pipeline.PackageImport``.

The exchange hands the pipeline one file at a time as 1C uploads them; the pipeline treats them as
one package, the same way whichever door it came through: from the first file that may be full
on, it keeps the undo journal, so a bad file (or a refused upload) makes ``finish`` put back every
row the package changed. Each file is imported holding the catalog lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from config import Settings
from syncd.exchange.package import FileReport, ProgressCallback, RunReport
from syncd.importer.pipeline import Interrupted, PackageImport, Progress
from syncd.store.locks import CATALOG_LOCK, named_lock


class PipelineBackend:
    """Keeps one ``PackageImport`` per run in memory; resumes it from the database if absent."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine, self._settings = engine, settings
        self._runs: dict[str, PackageImport] = {}
        self._lock = threading.Lock()

    def begin(self, *, actor: str, source: str) -> str:
        package = PackageImport.begin(self._engine, self._settings, actor=actor, source=source)
        with self._lock:
            self._runs[package.run_uuid] = package
        return package.run_uuid

    def import_file(
        self,
        run_uuid: str,
        path: Path,
        *,
        name: str,
        on_progress: ProgressCallback,
        should_stop: Callable[[], bool],
    ) -> FileReport:
        package = self._package(run_uuid)

        def progress(p: Progress) -> None:
            on_progress(p.bytes_read, p.bytes_total)

        try:
            with named_lock(self._engine, CATALOG_LOCK):  # one catalog writer at a time
                result = package.import_file(
                    path, name=name, on_progress=progress, should_stop=should_stop
                )
        except Interrupted:
            return FileReport(ok=False, interrupted=True, error=f"{name}: interrupted")
        return FileReport(
            ok=result.ok, counts=_counts(result.counts), error=result.error, sha256=result.sha256
        )

    def finish(self, run_uuid: str, *, hide: bool) -> RunReport:
        package = self._package(run_uuid)
        # When the exchange refused part of this package (an upload, an archive) that the
        # pipeline never saw, the run ends as failed, which hides nothing.
        failed_inside = any(not result.ok for result in package.results)
        refused = (
            None if hide or failed_inside else "part of the package was refused by the exchange"
        )
        result = package.finish(failed_outside=refused)
        with self._lock:
            self._runs.pop(run_uuid, None)
        return RunReport(ok=result.ok, counts=_counts(result.counts), error=result.error)

    def _package(self, run_uuid: str) -> PackageImport:
        with self._lock:
            if run_uuid not in self._runs:
                self._runs[run_uuid] = PackageImport.resume(self._engine, self._settings, run_uuid)
            return self._runs[run_uuid]


def _counts(counts: Any) -> dict[str, int]:
    """The totals (inserted, updated, ...); the per-table breakdown stays in the pipeline's
    own run records."""
    return {key: value for key, value in counts.as_dict().items() if isinstance(value, int)}
