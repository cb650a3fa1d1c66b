"""Runs one import as its own process, optionally killing itself with SIGKILL at a fault point.

FAULT: "" (none) | "count" (write the number of commits to <data_dir>/commits) |
"before-commit:N" | "after-commit:N" | "statement:M" (the M-th bulk statement of the writer).
Counts are shared by the importer's processes (a package's lanes run in a forked child), and
a fault kills the whole process group: the importer dies, not one of its lanes.
Used by test_crash_resume.py; not part of onec-sync.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from pathlib import Path

from config import load_settings
from syncd.importer import repository
from syncd.importer.pipeline import import_files
from syncd.store import unit_of_work
from syncd.store.engine import make_engine

fault = os.environ.get("FAULT", "")
kind, _, at = fault.partition(":")
target = int(at) if at else 0
seen = {name: multiprocessing.Value("l", 0) for name in ("commit", "statement")}


def tick(name: str) -> int:
    counter = seen[name]
    with counter.get_lock():
        counter.value += 1
        return int(counter.value)


def die() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


original_commit = unit_of_work.UnitOfWork.commit


def commit(self: unit_of_work.UnitOfWork) -> None:
    n = tick("commit")
    if kind == "before-commit" and n == target:
        die()
    original_commit(self)
    if kind == "after-commit" and n == target:
        die()


unit_of_work.UnitOfWork.commit = commit  # type: ignore[method-assign]

for name in ("upsert", "insert_new", "insert_rows", "replace_children"):
    original = getattr(repository.CatalogRepository, name)

    def counted(self: object, *args: object, _original: object = original, **kw: object) -> None:
        if kind == "statement" and tick("statement") == target:
            die()
        _original(self, *args, **kw)  # type: ignore[operator]

    setattr(repository.CatalogRepository, name, counted)

settings = load_settings()
engine = make_engine(settings.database)
result = import_files(engine, [Path(p) for p in sys.argv[1:]], settings, actor="crash-test")
if kind == "count":
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.paths.data_dir / "commits").write_text(str(seen["commit"].value))
sys.exit(0 if result.ok else 1)
