"""Quarantine: rejected input kept byte for byte, with the reason beside it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path


def quarantine(path: Path, reason: str, directory: Path, *, move: bool = False) -> Path:
    """Keep ``path`` under ``directory`` with ``<name>.reason.txt``; returns where it went.

    ``move`` takes the file away (uploads, inbox); otherwise it is copied (a user's own file).
    """
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = directory / f"{stamp}_{path.name}"
    if move:
        shutil.move(str(path), target)
    else:
        shutil.copy2(path, target)
    target.with_name(target.name + ".reason.txt").write_text(
        f"file: {path}\nquarantined: {stamp}\nreason: {reason}\n", encoding="utf-8"
    )
    return target
