"""The catalog side's work in the import workers: one file's import, and finishing a package.

One catalog writer at a time (a lock): two 1C sessions may upload at once, but their imports run
one after the other, so batches of two packages never interleave on the same rows.

When the package is finished: a file that fails ends it at once (the pipeline puts back what a
full package changed); a Bitrix-module client (it names a ``version`` on ``init``) says so
with ``deactivate``/``complete``; the standard 1C client opens a session per XML file and never
says so, so its session is finished as soon as its last document imported. A session abandoned
half-way is finished when it expires (``ExchangeService.sweep``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from syncd.exchange import audit_trail
from syncd.exchange.kinds import wrong_kind
from syncd.exchange.package import FileReport, PackageBackend, RunReport, summarize
from syncd.exchange.runner import JobKey, JobOutcome, JobProgress
from syncd.exchange.sessions import FAILED, OPEN, SUCCEEDED, end_session
from syncd.exchange.staging import Staging, pending_documents, prepare_session
from syncd.exchange.uploads import FAILED as FILE_FAILED
from syncd.exchange.uploads import IMPORTED, IMPORTING, QUEUED, REJECTED, find_file
from syncd.importer.errors import ArchiveError
from syncd.store.models import ExchangeFile, ExchangeSession, SyncRun

log = logging.getLogger(__name__)
FINISH = "<finish>"  # the job key's file name for finishing a package


@dataclass(frozen=True, slots=True)
class CatalogContext:
    sessions: sessionmaker[Session]
    staging: Staging
    backend: PackageBackend


class CatalogJobs:
    """``run(key, progress, stop)``: the ``JobRunner`` work for ``type=catalog`` sessions."""

    def __init__(self, context: CatalogContext) -> None:
        self._ctx = context
        self._writer = threading.Lock()

    def run(self, key: JobKey, progress: JobProgress, stop: threading.Event) -> JobOutcome:
        session_id, name = key
        progress.stage = "waiting for another import to finish"
        with self._writer:
            if name == FINISH:
                return self._finish(session_id, progress)
            return self._import(session_id, name, progress, stop)

    def record_crash(self, key: JobKey, reason: str) -> None:
        with self._ctx.sessions() as db:
            row = _file(db, key)
            if row is not None:
                _mark(row, FILE_FAILED, error=reason)
                db.commit()

    # --- one file ------------------------------------------------------------------------

    def _import(
        self, session_id: int, name: str, progress: JobProgress, stop: threading.Event
    ) -> JobOutcome:
        outcome = self._import_one(session_id, name, progress, stop)
        if outcome.interrupted:
            return outcome
        if outcome.ok and not self._standard_client_done(session_id):
            return outcome
        # The last document, or a bad one: the package ends here (a bad file puts back what the
        # package changed, and 1C stops its exchange at the failure it is answered).
        finished = self._finish(session_id, progress)
        return finished if outcome.ok and not finished.ok else outcome

    def _standard_client_done(self, session_id: int) -> bool:
        """The standard 1C client (no ``version``) is done once no document is left to import."""
        with self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, session_id)
            return session.version is None and not pending_documents(db, session)

    def _import_one(
        self, session_id: int, name: str, progress: JobProgress, stop: threading.Event
    ) -> JobOutcome:
        with self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, session_id)
            progress.stage = "unpacking"
            try:
                prepare_session(db, session, self._ctx.staging)
            except ArchiveError as exc:
                return self._fail(db, (session_id, name), str(exc), kept_at=exc.kept_at)
            row = find_file(db, session, name)
            if row is None or not Path(row.stored_path).is_file():
                return self._fail(db, (session_id, name), f"{name} was not uploaded")
            refused = wrong_kind(Path(row.stored_path), name=name, exchange_type="catalog")
            if refused is not None:
                return self._fail(db, (session_id, name), refused)
            _mark(row, IMPORTING)
            db.commit()
            run_uuid = self._run_of(db, session)
            path = Path(row.stored_path)
        progress.stage = f"importing {name}"
        report = self._ctx.backend.import_file(
            run_uuid,
            path,
            name=name,
            on_progress=lambda done, total: _set(progress, done, total, f"of {name} imported"),
            should_stop=stop.is_set,
        )
        return self._record(session_id, name, report)

    def _record(self, session_id: int, name: str, report: FileReport) -> JobOutcome:
        with self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, session_id)
            row = find_file(db, session, name)
            assert row is not None
            if report.interrupted:
                _mark(row, QUEUED)  # picked up again when the daemon starts
                db.commit()
                return JobOutcome(
                    False, f"{name}: import interrupted, it resumes on restart", interrupted=True
                )
            row.counts = dict(report.counts)
            row.sha256 = report.sha256 or _sha256(Path(row.stored_path))
            _mark(row, IMPORTED if report.ok else FILE_FAILED, error=report.error)
            db.commit()
        if not report.ok:
            return JobOutcome(False, report.error or f"{name}: import failed")
        return JobOutcome(True, f"{name}: {summarize(report.counts)}")

    def _fail(
        self, db: Session, key: JobKey, reason: str, *, kept_at: str | None = None
    ) -> JobOutcome:
        """Record the failed import; a document that never reached the staging folder points
        at the upload it was to come from (``kept_at``), which is kept for inspection."""
        row = _file(db, key)
        if row is not None:
            _mark(row, FILE_FAILED, error=reason)
            if kept_at and not Path(row.stored_path).exists():
                row.stored_path = kept_at
        db.commit()
        return JobOutcome(False, reason)

    def _run_of(self, db: Session, session: ExchangeSession) -> str:
        """The session's package run, begun on its first document. Commits; call it with no
        transaction open (the pipeline writes on its own connection; SQLite has one writer)."""
        if session.run_id is not None:
            run_uuid = db.get_one(SyncRun, session.run_id).run_uuid
            db.commit()
            return run_uuid
        run_uuid = self._ctx.backend.begin(
            actor=f"1c:{session.username}", source=f"exchange session {session.id}"
        )
        session.run_id = db.scalars(select(SyncRun.id).where(SyncRun.run_uuid == run_uuid)).one()
        db.commit()
        return run_uuid

    # --- the whole package -------------------------------------------------------------

    def _finish(self, session_id: int, progress: JobProgress) -> JobOutcome:
        """End the package: the pipeline run, then (if still open) the session and its audit.

        Only a session that is still open and had no failed or refused file lets the pipeline
        hide what a full package did not mention: the pipeline knows nothing of refused
        uploads or archives. A session already ended (an upload refused) still gets its run
        closed, hiding nothing.
        """
        progress.stage = "finishing the package"
        with self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, session_id)
            was_open = session.status == OPEN
            if was_open:
                with contextlib.suppress(ArchiveError):  # recorded on its row; the session fails
                    prepare_session(db, session, self._ctx.staging)
            clean = was_open and not any(f.status in (FILE_FAILED, REJECTED) for f in session.files)
            run_uuid = None
            if session.run_id is not None:
                run = db.get_one(SyncRun, session.run_id)
                run_uuid = run.run_uuid if run.status == "running" else None
            db.commit()
        report = self._ctx.backend.finish(run_uuid, hide=clean) if run_uuid else None
        if not was_open:
            return JobOutcome(False, session.error or f"the exchange session {session.status}")
        with self._ctx.sessions() as db:
            session = db.get_one(ExchangeSession, session_id)
            outcome = _close(db, session, report)
            db.commit()
        return outcome


def _close(db: Session, session: ExchangeSession, report: RunReport | None) -> JobOutcome:
    files = list(session.files)
    problems = [f"{f.name}: {f.error}" for f in files if f.status in (FILE_FAILED, REJECTED)]
    if report is not None and not report.ok:
        problems.append(report.error or "the package could not be finished")
    if problems:
        end_session(session, FAILED, "; ".join(problems))
    else:
        end_session(session, SUCCEEDED)
        # Imported and recorded: the staged copies go. A failed session keeps everything it was
        # sent, for inspection.
        if session.staging_dir:
            shutil.rmtree(session.staging_dir, ignore_errors=True)
    audit_trail.record_session(db, session, files, run_counts=report.counts if report else None)
    if problems:
        return JobOutcome(False, session.error or "failed")
    counts = dict(report.counts) if report else {}
    return JobOutcome(True, f"package finished: {summarize(counts)}")


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


def _file(db: Session, key: JobKey) -> ExchangeFile | None:
    return db.scalars(
        select(ExchangeFile).where(ExchangeFile.session_id == key[0], ExchangeFile.name == key[1])
    ).one_or_none()


def _mark(row: ExchangeFile, status: str, *, error: str | None = None) -> None:
    row.status, row.error, row.updated_at = status, error, datetime.now(UTC)


def _set(progress: JobProgress, done: int, total: int | None, stage: str) -> None:
    progress.done, progress.total, progress.stage = done, total, stage
