"""Content-addressed image store: ``<media_dir>/<sha256[:2]>/<sha256>`` plus ``media_files`` rows.

1C re-sends every image with every full export. Stored by content, a re-sent image costs one
hash and no disk: its bytes already exist, and its ``media_files`` row (1C's relative path ->
sha256) is left untouched when the content did not change.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store.models import MediaFile

_PIECE = 1024 * 1024
_LOOKUP_BATCH = 500


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int
    new: bool  # False when the same bytes were already stored


@dataclass(frozen=True, slots=True)
class MediaEntry:
    """An image 1C referred to as ``path`` (e.g. ``import_files/ab/x.jpg``) and its stored bytes."""

    path: str
    blob: StoredBlob


class MediaStore:
    """Bytes by SHA-256 under ``media_dir``. Safe for concurrent writers: files appear atomically."""

    def __init__(self, media_dir: Path) -> None:
        self.root = media_dir

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put_stream(self, stream: Readable, *, max_bytes: int | None = None) -> StoredBlob:
        """Store what ``stream`` yields; raises ``ValueError`` past ``max_bytes``."""
        tmp_dir = self.root / ".incoming"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False) as out:
            try:
                while piece := stream.read(_PIECE):
                    size += len(piece)
                    if max_bytes is not None and size > max_bytes:
                        raise ValueError(f"larger than {max_bytes} bytes")
                    digest.update(piece)
                    out.write(piece)
            except BaseException:
                out.close()
                Path(out.name).unlink(missing_ok=True)
                raise
        return self._settle(Path(out.name), digest.hexdigest(), size)

    def put_file(self, path: Path) -> StoredBlob:
        """Move the file at ``path`` into the store (or drop it when its bytes are already there)."""
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as source:
            while piece := source.read(_PIECE):
                digest.update(piece)
                size += len(piece)
        return self._settle(path, digest.hexdigest(), size)

    def _settle(self, incoming: Path, sha256: str, size: int) -> StoredBlob:
        final = self.path_of(sha256)
        if final.exists():
            incoming.unlink()
            return StoredBlob(sha256, size, new=False)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(incoming, final)
        except OSError:  # another file system (staging folder elsewhere): copy, then rename
            shutil.move(str(incoming), str(final))
        return StoredBlob(sha256, size, new=True)


def record_media(db: Session, entries: Iterable[MediaEntry]) -> tuple[int, int]:
    """Upsert ``media_files`` for ``entries``; returns (changed, unchanged). Flushes, no commit."""
    changed = unchanged = 0
    batch: list[MediaEntry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= _LOOKUP_BATCH:
            counts = _record_batch(db, batch)
            changed, unchanged, batch = changed + counts[0], unchanged + counts[1], []
    if batch:
        counts = _record_batch(db, batch)
        changed, unchanged = changed + counts[0], unchanged + counts[1]
    db.flush()
    return changed, unchanged


def _record_batch(db: Session, batch: list[MediaEntry]) -> tuple[int, int]:
    latest = {entry.path: entry for entry in batch}
    existing = {
        row.path: row
        for row in db.scalars(select(MediaFile).where(MediaFile.path.in_(list(latest))))
    }
    changed = unchanged = 0
    now = datetime.now(UTC)
    for path, entry in latest.items():
        row = existing.get(path)
        if row is not None and row.sha256 == entry.blob.sha256:
            unchanged += 1
            continue
        changed += 1
        if row is None:
            row = MediaFile(path=path)
            db.add(row)
        row.sha256, row.size, row.updated_at = entry.blob.sha256, entry.blob.size, now
        row.content_type = mimetypes.guess_type(path)[0]
    return changed, unchanged
