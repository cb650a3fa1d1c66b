"""``mode=file``: the raw body appended to the named file in the session's staging folder.

1C splits a file larger than ``file_limit`` into several requests with the same ``filename`` and
no end marker, so every body is appended and nothing is read before ``mode=import``. A file that
was already imported (or failed) and arrives again starts over: 1C is re-sending it. Every file is
a row of ``exchange_files`` (size, number of chunks, status, error).
"""

from __future__ import annotations

import os
import secrets
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
    max_session_files: int = 2000
    max_session_bytes: int = 16 * 1024**3


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
    _check_session_budget(session, name, limits)
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
            f"its first {row.size} bytes are kept for inspection"
        )
        db.flush()
        raise UploadTooLargeError(row.error)
    db.flush()
    return row


def _check_session_budget(session: ExchangeSession, name: str, limits: UploadLimits) -> None:
    """Refuse a new file past ``exchange.session_max_files``, any body once the session's files
    reached ``exchange.session_max_bytes`` (one request body may cross it, no more)."""
    uploads = [f for f in session.files if f.status != REJECTED]
    if name not in {f.name for f in uploads} and len(uploads) >= limits.max_session_files:
        raise UploadTooLargeError(
            f"{name}: this exchange session already holds {len(uploads)} files, the most "
            "exchange.session_max_files allows"
        )
    if sum(f.size or 0 for f in uploads) >= limits.max_session_bytes:
        raise UploadTooLargeError(
            f"{name}: this exchange session already received exchange.session_max_bytes "
            f"({limits.max_session_bytes} bytes)"
        )


def find_file(db: Session, session: ExchangeSession, name: str) -> ExchangeFile | None:
    """The session's upload named ``name`` (never a rejected body kept in quarantine)."""
    return db.scalars(
        select(ExchangeFile).where(
            ExchangeFile.session_id == session.id,
            ExchangeFile.name == name,
            ExchangeFile.status != REJECTED,
        )
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
    with path.open("ab") as out:
        return _copy(body, out, limit - already)


def _copy(body: IO[bytes], out: IO[bytes], room: int) -> tuple[int, bool]:
    """Copy ``body`` into ``out``, at most ``room`` bytes; (bytes written, whether all fitted).
    Synced to disk before returning."""
    written, complete = 0, True
    while True:
        piece = body.read(min(_PIECE, room - written + 1))
        if not piece:
            break
        if written + len(piece) > room:
            out.write(piece[: room - written])
            written, complete = room, False
            break
        out.write(piece)
        written += len(piece)
    out.flush()
    os.fsync(out.fileno())
    return written, complete


def _quarantine_body(
    db: Session,
    session: ExchangeSession,
    raw_name: str,
    body: IO[bytes],
    limits: UploadLimits,
    quarantine_dir: Path,
    reason: str,
) -> None:
    """Keep a refused upload for inspection, write-once: a fresh file under a name we choose
    (created exclusively, never overwritten or re-opened), and a row of its own (``rejected``)
    whose name no upload can take."""
    folder = quarantine_dir / "exchange" / f"session-{session.id}"
    folder.mkdir(parents=True, exist_ok=True)
    shown = raw_name.replace("\x00", "\\0")[:900] or "(empty)"  # the row name fits 1024
    unique = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(8)}"
    path = folder / f"rejected-{unique}.bin"
    with path.open("xb") as out:  # created here, exclusively: an existing file is never touched
        written, _ = _copy(body, out, limits.max_file_bytes)
    row = ExchangeFile(
        session_id=session.id,
        # "/rejected/..." starts with "/": sanitize_filename refuses absolute names, so no upload
        # is ever called like this (and find_file skips rejected rows anyway).
        name=f"/rejected/{unique}: {shown}",
        stored_path=str(path),
        size=written,
        kind="rejected",
        status=REJECTED,
        error=reason,
        chunks=1,
        counts={},
        updated_at=datetime.now(UTC),
    )
    db.add(row)
    db.flush()
