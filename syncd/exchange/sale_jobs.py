"""Importing an order-update file from 1C: in the request (old protocol) or a worker (new).

1C without ``version`` on ``init`` expects the answer to ``mode=file`` to say whether the file was
applied; with ``version`` it uploads first and polls ``mode=import`` like the catalog side. Either
way the whole file is parsed before anything is written, and applied in one transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from config import ExchangeSettings
from exchange_formats.commerceml import read_orders
from exchange_formats.errors import FormatError
from syncd.exchange.kinds import wrong_kind
from syncd.exchange.package import summarize
from syncd.exchange.runner import JobKey, JobOutcome, JobProgress
from syncd.exchange.sessions import FAILED as SESSION_FAILED
from syncd.exchange.sessions import end_session
from syncd.exchange.staging import Staging, pending_documents, prepare_session
from syncd.exchange.uploads import FAILED, IMPORTED, IMPORTING, find_file
from syncd.importer.errors import ArchiveError
from syncd.importer.names import kind_of
from syncd.importer.order_updates import apply_updates
from syncd.store import audit
from syncd.store.models import ExchangeFile, ExchangeSession


@dataclass(frozen=True, slots=True)
class SaleContext:
    sessions: sessionmaker[Session]
    staging: Staging
    settings: ExchangeSettings
    timezone: str


class SaleJobs:
    def __init__(self, context: SaleContext) -> None:
        self._ctx = context
        self._writer = threading.Lock()

    def run(self, key: JobKey, progress: JobProgress, stop: threading.Event) -> JobOutcome:
        progress.stage = "applying order updates"
        return self.import_file(*key)

    def record_crash(self, key: JobKey, reason: str) -> None:
        with self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, key[0])
            row = find_file(db, session, key[1])
            if row is not None:
                _mark(row, FAILED, reason)
                db.commit()

    def import_uploaded(self, session_id: int, name: str) -> JobOutcome:
        """Old protocol: apply what ``mode=file`` just received (a zip: every document in it)."""
        if kind_of(name) != "zip":
            return self.import_file(session_id, name)
        with self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, session_id)
            try:
                prepare_session(db, session, self._ctx.staging)
            except ArchiveError as exc:
                return self._fail(db, session, None, str(exc))
            names = [row.name for row in pending_documents(db, session)]
        if not names:
            return JobOutcome(False, f"{name}: the archive holds no document")
        outcomes = [self.import_file(session_id, document) for document in names]
        failed = [o for o in outcomes if not o.ok]
        if failed:
            return failed[0]
        return JobOutcome(True, "; ".join(o.message for o in outcomes))

    def import_file(self, session_id: int, name: str) -> JobOutcome:
        """Apply the uploaded order-update file ``name``; records the outcome on its row."""
        with self._writer, self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, session_id)
            try:
                prepare_session(db, session, self._ctx.staging)
            except ArchiveError as exc:
                return self._fail(db, session, None, str(exc))
            row = find_file(db, session, name)
            if row is None or not Path(row.stored_path).is_file():
                return self._fail(db, session, row, f"{name} was not uploaded")
            _mark(row, IMPORTING, None)
            db.commit()
            return self._apply(db, session, row)

    def _apply(self, db: Session, session: ExchangeSession, row: ExchangeFile) -> JobOutcome:
        refused = wrong_kind(Path(row.stored_path), name=row.name, exchange_type="sale")
        if refused is not None:
            return self._fail(db, session, row, refused)
        tz = ZoneInfo(self._ctx.timezone)
        try:
            documents = list(read_orders(Path(row.stored_path), name=row.name, tz=tz))
        except FormatError as exc:
            db.rollback()
            return self._fail(db, session, row, str(exc))
        counts = apply_updates(db, documents, self._ctx.settings.status_map)
        row.counts = counts.as_dict()
        _mark(row, IMPORTED, None)
        outcome = "succeeded" if counts.updated else "unchanged"
        audit.append(
            db,
            action="exchange.sale.updates",
            outcome=outcome,
            actor=f"1c:{session.username}",
            source=f"exchange session {session.id}",
            subject=row.name,
            counts=row.counts,
            details={"unknown_orders": counts.unknown[:100]},
        )
        db.commit()
        message = f"{row.name}: orders {summarize(row.counts)}"
        return JobOutcome(True, message)

    def _fail(
        self, db: Session, session: ExchangeSession, row: ExchangeFile | None, reason: str
    ) -> JobOutcome:
        if row is not None:
            _mark(row, FAILED, reason)
        end_session(session, SESSION_FAILED, reason)
        audit.append(
            db,
            action="exchange.sale.updates",
            outcome="failed",
            actor=f"1c:{session.username}",
            source=f"exchange session {session.id}",
            subject=row.name if row is not None else None,
            error=reason,
            details={"kept_at": row.stored_path if row is not None else None},
        )
        db.commit()
        return JobOutcome(False, reason)


def _mark(row: ExchangeFile, status: str, error: str | None) -> None:
    row.status, row.error, row.updated_at = status, error, datetime.now(UTC)
