"""Runs one import as its own process, optionally killing itself with SIGKILL at a fault point.

FAULT: "" (none) | "count" (write the number of commits to <data_dir>/commits) |
"before-commit:N" | "after-commit:N" | "statement:M" (the M-th bulk statement of the writer).
Used by test_crash_resume.py; not part of onec-sync.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from config import load_settings
from syncd import repository, unit_of_work
from syncd.db import make_engine
from syncd.pipeline import import_files

fault = os.environ.get("FAULT", "")
kind, _, at = fault.partition(":")
target = int(at) if at else 0
seen = {"commit": 0, "statement": 0}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


original_commit = unit_of_work.UnitOfWork.commit


def commit(self: unit_of_work.UnitOfWork) -> None:
    seen["commit"] += 1
    if kind == "before-commit" and seen["commit"] == target:
        die()
    original_commit(self)
    if kind == "after-commit" and seen["commit"] == target:
        die()


unit_of_work.UnitOfWork.commit = commit  # type: ignore[method-assign]

for name in ("upsert", "insert_new", "insert_rows", "replace_children"):
    original = getattr(repository.CatalogRepository, name)

    def counted(self: object, *args: object, _original: object = original, **kw: object) -> None:
        seen["statement"] += 1
        if kind == "statement" and seen["statement"] == target:
            die()
        _original(self, *args, **kw)  # type: ignore[operator]

    setattr(repository.CatalogRepository, name, counted)

settings = load_settings()
engine = make_engine(settings.database)
result = import_files(engine, [Path(p) for p in sys.argv[1:]], settings, actor="crash-test")
if kind == "count":
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.paths.data_dir / "commits").write_text(str(seen["commit"]))
sys.exit(0 if result.ok else 1)
