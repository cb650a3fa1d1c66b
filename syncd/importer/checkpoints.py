"""Stream checkpoints: a pulled stream's cursor, written in the transaction of its data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from exchange_formats.records import Record
from syncd.importer.writer import CatalogWriter, Counts, WriteOptions
from syncd.store import models


def write_stream_batch(
    session: Session,
    stream: str,
    records: Sequence[Record],
    cursor: dict[str, Any],
    options: WriteOptions | None = None,
) -> Counts:
    """Write ``records`` and move ``stream``'s checkpoint to ``cursor`` in the caller's
    transaction, so both commit (or roll back) together. Used by pulled streams (OData)."""
    counts = CatalogWriter(session, options).write(records)
    save_checkpoint(session, stream, cursor)
    return counts


def save_checkpoint(session: Session, stream: str, cursor: dict[str, Any]) -> None:
    checkpoint = session.get(models.Checkpoint, stream)
    now = datetime.now(UTC)
    if checkpoint is None:
        session.add(models.Checkpoint(stream=stream, cursor=cursor, updated_at=now))
    else:
        checkpoint.cursor = cursor
        checkpoint.updated_at = now
    session.flush()


def read_checkpoint(session: Session, stream: str) -> dict[str, Any] | None:
    checkpoint = session.get(models.Checkpoint, stream)
    return dict(checkpoint.cursor) if checkpoint else None
