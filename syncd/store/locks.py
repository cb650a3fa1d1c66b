"""Named locks that hold across processes and hosts, released when their holder dies.

PostgreSQL: a session-level advisory lock on a dedicated connection (the server drops it when
the connection or the process holding it dies). SQLite: an ``flock`` on a file beside the
database (the kernel drops it when the process dies).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from syncd.store.lock_keys import lock_key

__all__ = ["CATALOG_LOCK", "LockBusy", "lock_key", "named_lock"]

# Held by whatever writes the catalog (package imports, the exchange's files, OData pulls): a
# failed full package undoes what it inserted by id (syncd.importer.undo), so it must be the only writer.
CATALOG_LOCK = "import:catalog"


class LockBusy(Exception):
    """Another process holds the lock and the caller asked not to wait."""


@contextmanager
def named_lock(engine: Engine, name: str, *, wait: bool = True) -> Iterator[None]:
    """Hold the lock ``name`` for the with-block; raises ``LockBusy`` if ``wait`` is false."""
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine, name, wait=wait):
            yield
    else:
        with _file_lock(_lock_path(engine, name), wait=wait):
            yield


@contextmanager
def _pg_lock(engine: Engine, name: str, *, wait: bool) -> Iterator[None]:
    key = lock_key(name)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        elif not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise LockBusy(name)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@contextmanager
def _file_lock(path: Path, *, wait: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(path.stem) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _lock_path(engine: Engine, name: str) -> Path:
    database = engine.url.database or ""
    base = Path(database).expanduser() if database not in ("", ":memory:") else Path("var/onec")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return base.with_name(base.name + ".locks") / f"{safe}.lock"
