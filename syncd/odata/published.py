"""What a 1C base publishes over OData (its ``$metadata``), read once and kept.

``$metadata`` runs to megabytes on a УТ or ERP base with much published, and 1C's standard
interface offers no cheap way to ask whether it changed (no ETag, no configuration version). So
the names it lists are kept in ``odata_metadata`` per base URL and reused until something says
1C's configuration or publication may have changed:

* a stream fails as a request 1C rejects (an unknown entity set or property: 1C's error codes 6,
  8, 10, 14...) or names what the kept copy lacks: ``forget`` drops the copy, the next run reads
  ``$metadata`` anew;
* the copy is older than ``odata.metadata_max_age_hours`` (0: read on every run);
* ``onec-sync odata check`` (run it after updating 1C) always reads it and keeps what it read.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from exchange_formats.errors import FormatError
from exchange_formats.odata.metadata import (
    Metadata,
    metadata_from_json,
    metadata_to_json,
    parse_metadata,
)
from syncd.odata.client import ODataClient
from syncd.store import models
from syncd.store.unit_of_work import UnitOfWork

_TABLE = models.table(models.ODataMetadata)


def published(client: ODataClient, sessions: sessionmaker[Session]) -> Metadata:
    """The base's ``$metadata``: the kept copy while it holds, else read from 1C and kept.

    Raises what ``client.metadata()`` and ``parse_metadata`` raise when 1C must be asked.
    """
    max_age = timedelta(hours=client.settings.metadata_max_age_hours)
    with UnitOfWork(sessions) as uow:
        kept = uow.session.get(models.ODataMetadata, client.base)
        if kept is not None and datetime.now(UTC) - _aware(kept.read_at) < max_age:
            try:
                return metadata_from_json(kept.names)
            except FormatError:
                pass  # a damaged copy is read again
    return refresh(client, sessions)


def refresh(client: ODataClient, sessions: sessionmaker[Session]) -> Metadata:
    """Read ``$metadata`` from 1C and keep it (committed at once)."""
    body = client.metadata()
    metadata = parse_metadata(body)
    with UnitOfWork(sessions) as uow:
        uow.session.merge(
            models.ODataMetadata(
                url=client.base,
                sha256=hashlib.sha256(body).hexdigest(),
                names=metadata_to_json(metadata),
                read_at=datetime.now(UTC),
            )
        )
        uow.commit()
    return metadata


def forget(client: ODataClient, sessions: sessionmaker[Session]) -> None:
    """Drop the kept copy: the next run reads ``$metadata`` from 1C."""
    with UnitOfWork(sessions) as uow:
        uow.session.execute(delete(_TABLE).where(_TABLE.c.url == client.base))
        uow.commit()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
