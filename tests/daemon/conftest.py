"""Helpers for the daemon's tests: settings for a folder inbox, packages, counting rows."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import DatabaseSettings, FolderSettings, PathSettings, Settings
from syncd.store import models
from tests.cml_builder import catalog, write_package


def folder_settings(
    database_url: str, root: Path, *, settle: float = 0.0, recheck: float = 0.0
) -> Settings:
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    return Settings(
        database=DatabaseSettings(url=database_url),
        paths=PathSettings(data_dir=root / "data"),
        folder=FolderSettings(inbox=inbox, settle_seconds=settle, recheck_seconds=recheck),
    )


def drop_package(inbox: Path, name: str, products: int = 5, *, age: float = 60.0) -> Path:
    """A finished package folder whose files were last written ``age`` seconds ago."""
    folder = inbox / name
    write_package(folder, catalog(products))
    backdate(folder, age)
    return folder


def backdate(path: Path, seconds: float) -> None:
    moment = time.time() - seconds
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (moment, moment))


def count(engine: Engine, model: type[models.Base]) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def never() -> bool:
    return False


def no_wait(_seconds: float) -> bool:
    return False
