"""Turning what a session uploaded into importable files, in the import worker.

Zips are unpacked and images moved into the media store only when 1C asks to import (there is no
end-of-upload marker; chunks may still be arriving before that) and never inside a request: a big
archive takes longer than 1C waits. Each step commits, so a restart does not repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.exchange.sessions import staging_dir
from syncd.exchange.uploads import EXTRACTED, FAILED, IMPORTING, QUEUED, STORED, UPLOADING
from syncd.importer.archive import ArchiveLimits, Extracted, extract_archive
from syncd.importer.errors import ArchiveError
from syncd.importer.media import MediaEntry, MediaStore, record_media
from syncd.store.models import ExchangeFile, ExchangeSession

RECEIVED = "received"  # a document complete in the staging folder (unpacked from a zip)
PENDING_DOCUMENT_STATES = frozenset({UPLOADING, RECEIVED, QUEUED, IMPORTING})


@dataclass(frozen=True, slots=True)
class Staging:
    limits: ArchiveLimits
    media: MediaStore


def prepare_session(db: Session, session: ExchangeSession, staging: Staging) -> None:
    """Unpack the session's complete zips and store its images; commits after each archive.

    Raises ``ArchiveError`` for the first archive refused (recorded as ``failed`` on its row;
    the archive stays in the staging folder).
    """
    for row in _files(db, session, kind="zip", status=UPLOADING):
        try:
            extracted = extract_archive(
                Path(row.stored_path), staging_dir(session), staging.limits, staging.media
            )
        except ArchiveError as exc:
            row.status, row.error, row.updated_at = FAILED, str(exc), datetime.now(UTC)
            db.commit()
            exc.kept_at = row.stored_path
            raise
        _record_extracted(db, session, row, extracted)
        db.commit()
    images = _files(db, session, kind="image", status=UPLOADING)
    if images:
        entries = [_store_image(row, staging.media) for row in images]
        record_media(db, entries)
        db.commit()


def pending_documents(db: Session, session: ExchangeSession) -> list[ExchangeFile]:
    """Documents of the session not imported yet (neither imported nor failed)."""
    return [
        row
        for row in db.scalars(
            select(ExchangeFile).where(
                ExchangeFile.session_id == session.id, ExchangeFile.kind == "xml"
            )
        )
        if row.status in PENDING_DOCUMENT_STATES
    ]


def _files(db: Session, session: ExchangeSession, *, kind: str, status: str) -> list[ExchangeFile]:
    return list(
        db.scalars(
            select(ExchangeFile)
            .where(
                ExchangeFile.session_id == session.id,
                ExchangeFile.kind == kind,
                ExchangeFile.status == status,
            )
            .order_by(ExchangeFile.id)
        )
    )


def _record_extracted(
    db: Session, session: ExchangeSession, archive: ExchangeFile, extracted: Extracted
) -> None:
    now = datetime.now(UTC)
    for name, path, size in extracted.documents:
        row = db.scalars(
            select(ExchangeFile).where(
                ExchangeFile.session_id == session.id, ExchangeFile.name == name
            )
        ).one_or_none()
        if row is None:
            row = ExchangeFile(session_id=session.id, name=name, chunks=0, counts={})
            db.add(row)
        row.stored_path, row.size, row.kind, row.updated_at = str(path), size, "xml", now
        row.error = None
        if row.status not in (QUEUED, IMPORTING):
            row.status = RECEIVED
    changed, unchanged = record_media(db, extracted.images)
    archive.status, archive.updated_at = EXTRACTED, now
    archive.counts = {
        "documents": len(extracted.documents),
        "images": len(extracted.images),
        "images_changed": changed,
        "images_unchanged": unchanged,
        "image_bytes_new": sum(e.blob.size for e in extracted.images if e.blob.new),
    }


def _store_image(row: ExchangeFile, media: MediaStore) -> MediaEntry:
    blob = media.put_file(Path(row.stored_path))
    row.status, row.sha256, row.updated_at = STORED, blob.sha256, datetime.now(UTC)
    row.counts = {"new_bytes": blob.size if blob.new else 0}
    return MediaEntry(row.name, blob)
