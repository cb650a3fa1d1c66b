"""Reading files through before anything is written, on every core.

The HTTP exchange hands the pipeline one file at a time and keeps no undo journal, so each file
is read once, writing nothing, before its first batch is written (``PackageImport.import_file``
with ``read_first``); a package imported whole uses the undo journal instead (``syncd.importer.undo``).
Files are independent, so several are read in parallel worker processes; ``should_stop`` is
honoured while waiting.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from exchange_formats.commerceml import open_document
from exchange_formats.errors import FormatError

# Below this much data a worker process costs more than it saves.
_PARALLEL_MIN_BYTES = 4 * 1024 * 1024


class ValidationStopped(Exception):
    """``should_stop`` became true; the workers were terminated."""


def read_through(path: Path, name: str, timezone: str) -> FormatError | None:
    """Read every record of the file, keeping none; the error, if the file is bad."""
    try:
        for _record in open_document(path, name=name, tz=ZoneInfo(timezone)).records():
            pass
    except FormatError as exc:
        return exc
    return None


def first_error(
    files: Sequence[tuple[Path, str]],
    timezone: str,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[int, FormatError] | None:
    """``(index, error)`` of the first bad file in ``files`` order, or None when all read."""
    total = sum(path.stat().st_size for path, _ in files)
    workers = min(len(files), os.cpu_count() or 1)
    if workers < 2 or total < _PARALLEL_MIN_BYTES:
        for index, (path, name) in enumerate(files):
            if should_stop and should_stop():
                raise ValidationStopped
            if (error := read_through(path, name, timezone)) is not None:
                return index, error
        return None
    # fork, not forkserver/spawn: those re-import the caller's __main__ in every worker, which
    # breaks any script that calls the pipeline without a __main__ guard. The workers only parse
    # (no logging, no database, modules already imported), and signal handlers act only in the
    # process that installed them (syncd.daemon.stopsignals).
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending = [pool.apply_async(read_through, (p, n, timezone)) for p, n in files]
        while not all(job.ready() for job in pending):
            if should_stop and should_stop():
                pool.terminate()
                raise ValidationStopped
            time.sleep(0.05)
        errors = [job.get() for job in pending]
    return next(((i, e) for i, e in enumerate(errors) if e is not None), None)
