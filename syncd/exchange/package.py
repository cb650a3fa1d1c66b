"""What the exchange needs from the import pipeline, as a narrow interface.

The exchange imports a package file by file as 1C uploads it, then finishes it (a full package
hides what it did not mention, only when every file imported cleanly). ``PackageBackend`` is that
contract; ``syncd.exchange.pipeline_backend`` implements it with ``syncd.importer.pipeline.PackageImport``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

ProgressCallback = Callable[[int, int | None], None]  # (done, total or None)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileReport:
    """How one file's import ended."""

    ok: bool
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None  # the reason, naming file, line and element where known
    interrupted: bool = False  # stopped at a batch boundary (daemon stopping); resumable
    sha256: str | None = None

    @property
    def changed(self) -> bool:
        return any(self.counts.get(key, 0) for key in CHANGE_KEYS)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """How the whole package ended."""

    ok: bool
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return any(self.counts.get(key, 0) for key in CHANGE_KEYS)


CHANGE_KEYS = ("inserted", "updated", "deleted", "hidden")


class PackageBackend(Protocol):
    def begin(self, *, actor: str, source: str) -> str:
        """Start a package run; returns its ``run_uuid`` (a ``sync_runs`` row exists after it)."""
        ...

    def import_file(
        self,
        run_uuid: str,
        path: Path,
        *,
        name: str,
        on_progress: ProgressCallback,
        should_stop: Callable[[], bool],
    ) -> FileReport:
        """Import one file into the run; commits batch by batch; never raises for bad input."""
        ...

    def finish(self, run_uuid: str, *, hide: bool) -> RunReport:
        """End the run. ``hide``: a clean full package may hide what it did not mention; false
        when the exchange refused something the pipeline never saw (the run ends failed)."""
        ...


def summarize(counts: Mapping[str, int]) -> str:
    """``inserted 3, updated 1, unchanged 10`` — the non-zero counts, for replies and logs."""
    shown = [f"{key} {value}" for key, value in counts.items() if isinstance(value, int) and value]
    return ", ".join(shown) if shown else "nothing to do"
