"""``PackageBackend`` on the import pipeline: ``syncd.pipeline.PackageImport``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from config import Settings
from syncd.exchange.package import FileReport, ProgressCallback, RunReport


class PipelineBackend:
    """Keeps one ``PackageImport`` per run in memory; resumes it from the database if absent."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine, self._settings = engine, settings
        self._runs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def begin(self, *, actor: str, source: str) -> str:
        from syncd.pipeline import PackageImport

        package = PackageImport.begin(self._engine, self._settings, actor=actor, source=source)
        with self._lock:
            self._runs[package.run_uuid] = package
        return str(package.run_uuid)

    def import_file(
        self,
        run_uuid: str,
        path: Path,
        *,
        name: str,
        on_progress: ProgressCallback,
        should_stop: Callable[[], bool],
    ) -> FileReport:
        result = self._package(run_uuid).import_file(
            path,
            name=name,
            on_progress=lambda p: on_progress(p.bytes_read, p.bytes_total),
            should_stop=should_stop,
        )
        return FileReport(ok=bool(result.ok), counts=result.counts.as_dict(), error=result.error)

    def finish(self, run_uuid: str) -> RunReport:
        result = self._package(run_uuid).finish()
        with self._lock:
            self._runs.pop(run_uuid, None)
        return RunReport(ok=bool(result.ok), counts=result.counts.as_dict(), error=result.error)

    def _package(self, run_uuid: str) -> Any:
        from syncd.pipeline import PackageImport

        with self._lock:
            if run_uuid not in self._runs:
                self._runs[run_uuid] = PackageImport.resume(self._engine, self._settings, run_uuid)
            return self._runs[run_uuid]
