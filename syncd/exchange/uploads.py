"""``mode=file``: the raw body appended to the named file in the session's staging folder.

1C splits a file larger than ``file_limit`` into several requests with the same ``filename`` and
no end marker, so every body is appended and nothing is read before ``mode=import``. A file that
was already imported (or failed) and arrives again starts over: 1C is re-sending it. Every file is
a row of ``exchange_files`` (size, number of chunks, status, error).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.exchange.errors import ExchangeError, UploadTooLargeError
from syncd.exchange.sessions import staging_dir
from syncd.importer.errors import UnsafeNameError
from syncd.importer.names import kind_of, sanitize_filename
from syncd.store.models import ExchangeFile, ExchangeSession

_PIECE = 1024 * 1024
# exchange_files.status values
UPLOADING = "uploading"
STORED = "stored"  # an image moved into the media store
EXTRACTED = "extracted"  # a zip unpacked into the staging folder
QUEUED = "queued"
IMPORTING = "importing"
IMPORTED = "imported"
FAILED = "failed"
REJECTED = "rejected"  # refused on arrival (name, size); the body is kept in quarantine
FINISHED_STATES = frozenset({IMPORTED, FAILED, STORED, EXTRACTED})


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_file_bytes: int


def receive_chunk(
    db: Session,
    session: ExchangeSession,
    raw_name: str,
    body: IO[bytes],
    limits: UploadLimits,
    quarantine_dir: Path,
) -> ExchangeFile:
    """Append ``body`` to the session's file ``raw_name``; flushes the row, does not commit.

    Raises ``UnsafeNameError`` (the body is kept under ``quarantine_dir``, recorded as
    ``rejected``) or ``UploadTooLargeError`` (the file keeps its first ``max_file_bytes`` bytes and
    is marked ``failed``).
    """
    try:
        name = sanitize_filename(raw_name)
    except UnsafeNameError as exc:
        _quarantine_body(db, session, raw_name, body, limits, quarantine_dir, str(exc))
        raise
    row = _file_row(db, session, name)
    path = Path(row.stored_path)
    if row.status != UPLOADING:
        _start_over(row, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written, complete = _append(body, path, row.size, limits.max_file_bytes)
    row.size += written
    row.chunks += 1
    row.updated_at = datetime.now(UTC)
    if not complete:
        row.status = FAILED
        row.error = (
            f"{name}: larger than exchange.max_upload_bytes ({limits.max_file_bytes} bytes); "
            f"the first {row.size} bytes are kept in {path}"
        )
        db.flush()
        raise UploadTooLargeError(row.error)
    db.flush()
    return row


def find_file(db: Session, session: ExchangeSession, name: str) -> ExchangeFile | None:
    return db.scalars(
        select(ExchangeFile).where(ExchangeFile.session_id == session.id, ExchangeFile.name == name)
    ).one_or_none()


def _file_row(db: Session, session: ExchangeSession, name: str) -> ExchangeFile:
    row = find_file(db, session, name)
    if row is None:
        row = ExchangeFile(
            session_id=session.id,
            name=name,
            stored_path=str(staging_dir(session) / name),
            size=0,
            chunks=0,
            kind=kind_of(name),
            status=UPLOADING,
            counts={},
        )
        db.add(row)
    return row


def _start_over(row: ExchangeFile, path: Path) -> None:
    if row.status in (QUEUED, IMPORTING):
        raise ExchangeError(
            f"{row.name} is being imported; wait for the import to finish before sending it again"
        )
    path.unlink(missing_ok=True)
    row.status, row.error, row.size, row.chunks, row.sha256, row.counts = (
        UPLOADING,
        None,
        0,
        0,
        None,
        {},
    )


def _append(body: IO[bytes], path: Path, already: int, limit: int) -> tuple[int, bool]:
    """Bytes appended and whether the whole body fitted under ``limit``."""
    room = limit - already
    written = 0
    with path.open("ab") as out:
        while True:
            piece = body.read(min(_PIECE, room - written + 1))
            if not piece:
                break
            if written + len(piece) > room:
                out.write(piece[: room - written])
                written = room
                return written, False
            out.write(piece)
            written += len(piece)
        out.flush()
        os.fsync(out.fileno())
    return written, True


def _quarantine_body(
    db: Session,
    session: ExchangeSession,
    raw_name: str,
    body: IO[bytes],
    limits: UploadLimits,
    quarantine_dir: Path,
    reason: str,
) -> None:
    """Keep a refused upload for inspection under a name we choose; record it as ``rejected``."""
    folder = quarantine_dir / "exchange" / f"session-{session.id}"
    folder.mkdir(parents=True, exist_ok=True)
    shown = raw_name.replace("\x00", "\\0")[:900] or "(empty)"
    number = len(list(folder.iterdir())) + 1
    path = folder / f"rejected-{number:04d}.bin"
    written, _ = _append(body, path, 0, limits.max_file_bytes)
    row = find_file(db, session, f"rejected: {shown}") or ExchangeFile(
        session_id=session.id, name=f"rejected: {shown}", counts={}, chunks=0
    )
    row.stored_path, row.size, row.kind, row.status, row.error = (
        str(path),
        written,
        "rejected",
        REJECTED,
        reason,
    )
    row.chunks = (row.chunks or 0) + 1
    row.updated_at = datetime.now(UTC)
    db.add(row)
    db.flush()
