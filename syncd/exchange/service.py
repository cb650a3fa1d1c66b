"""Everything the exchange endpoint needs, built once per process from the settings.

``ExchangeService`` owns the import workers: create it once, call ``resume()`` when the process
starts (imports a stopped daemon left half-done start again) and ``close()`` when it stops.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from config import Settings
from syncd.exchange import audit_trail
from syncd.exchange.auth import CredentialChecker
from syncd.exchange.catalog import FINISH, CatalogContext, CatalogJobs
from syncd.exchange.listen import Listeners
from syncd.exchange.package import PackageBackend
from syncd.exchange.runner import JobKey, JobOutcome, JobProgress, JobRunner
from syncd.exchange.sale_jobs import SaleContext, SaleJobs
from syncd.exchange.sessions import EXPIRED, OPEN, end_session
from syncd.exchange.staging import Staging
from syncd.exchange.throttle import LoginThrottle
from syncd.exchange.uploads import IMPORTING, QUEUED, UploadLimits
from syncd.importer.archive import ArchiveLimits
from syncd.importer.media import MediaStore
from syncd.store.engine import make_session_factory
from syncd.store.models import ExchangeFile, ExchangeSession

log = logging.getLogger(__name__)


class ExchangeService:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        backend: PackageBackend | None = None,
        workers: int = 2,
    ) -> None:
        """``backend`` defaults to the import pipeline (``syncd.exchange.pipeline_backend``)."""
        if backend is None:
            from syncd.exchange.pipeline_backend import PipelineBackend

            backend = PipelineBackend(engine, settings)
        self.settings = settings.exchange
        self.paths = settings.paths
        self.timezone = settings.import_.timezone  # 1C's local time zone
        self.sessions = make_session_factory(
            engine, change_log=settings.changes.enabled, changes_redis_url=settings.redis.url
        )
        self.credentials = CredentialChecker(settings.exchange)
        self.throttle = LoginThrottle(
            settings.exchange.login_rate_limit,
            settings.redis.url or "memory://",
            allowlist=settings.exchange.login_allowlist,
        )
        self.upload_limits = UploadLimits(
            settings.exchange.max_upload_bytes,
            max_session_files=settings.exchange.session_max_files,
            max_session_bytes=settings.exchange.session_max_bytes,
        )
        staging = Staging(
            ArchiveLimits(
                max_ratio=settings.exchange.zip_max_ratio,
                max_bytes=settings.exchange.zip_max_bytes,
                max_members=settings.exchange.zip_max_members,
            ),
            MediaStore(settings.paths.media_dir),
        )
        self.catalog = CatalogJobs(CatalogContext(self.sessions, staging, backend))
        self.sale = SaleJobs(
            SaleContext(self.sessions, staging, settings.exchange, settings.import_.timezone)
        )
        self.runner = JobRunner(self._work, on_crash=self._crash, workers=workers)
        self._sweep_lock = threading.Lock()
        self._stopping = threading.Event()
        self.listeners = Listeners(
            self.sessions,
            max_waiting=settings.exchange.listen_max_waiting,
            stopping=self._stopping,
        )

    # --- lifecycle -------------------------------------------------------------------------

    def resume(self, *, sweep_in_background: bool = True) -> list[JobKey]:
        """Start again the imports a stopped daemon left queued or running; returns their keys.

        ``sweep_in_background=False``: the caller calls ``sweep()`` itself (the daemon does, as
        its ``exchange_sweep`` job, on one daemon of several)."""
        with self.sessions() as db:
            rows = db.execute(
                select(ExchangeFile.session_id, ExchangeFile.name)
                .join(ExchangeSession)
                .where(ExchangeFile.status.in_((QUEUED, IMPORTING)))
                .where(ExchangeSession.status == OPEN)
            ).all()
        keys = [(int(session_id), str(name)) for session_id, name in rows]
        for key in keys:
            log.info("resuming exchange import %s of session %s", key[1], key[0])
            self.runner.submit(key)
        if sweep_in_background:
            threading.Thread(target=self._housekeeping, name="exchange-sweep", daemon=True).start()
        return keys

    def sweep(self) -> int:
        """End sessions idle past ``session_ttl_seconds``: a catalog package is finished, the
        others are marked expired (and audited). Returns how many were ended or queued."""
        if not self._sweep_lock.acquire(blocking=False):
            return 0
        try:
            self.runner.forget_finished()  # outcomes nobody polled for any more
            return self._sweep()
        finally:
            self._sweep_lock.release()

    def close(self, *, wait: bool = True) -> None:
        self._stopping.set()
        self.runner.stop(wait=wait)

    def _housekeeping(self) -> None:
        interval = min(60.0, max(1.0, self.settings.session_ttl_seconds / 4))
        while not self._stopping.wait(interval):
            try:
                self.sweep()
            except SQLAlchemyError:
                log.exception("exchange: could not end idle sessions; trying again later")

    # --- the work the runner does --------------------------------------------------------

    def _work(self, key: JobKey, progress: JobProgress, stop: threading.Event) -> JobOutcome:
        if self._type_of(key[0]) == "sale":
            return self.sale.run(key, progress, stop)
        return self.catalog.run(key, progress, stop)

    def _crash(self, key: JobKey, reason: str) -> None:
        if self._type_of(key[0]) == "sale":
            self.sale.record_crash(key, reason)
        else:
            self.catalog.record_crash(key, reason)

    def _type_of(self, session_id: int) -> str:
        with self.sessions() as db:
            return db.get_one(ExchangeSession, session_id).type

    def _sweep(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.session_ttl_seconds)
        with self.sessions() as db:
            idle = db.scalars(
                select(ExchangeSession).where(
                    ExchangeSession.status == OPEN, ExchangeSession.last_seen_at < cutoff
                )
            ).all()
            ended = 0
            for session in idle:
                if any(key[0] == session.id for key in self.runner.running()):
                    continue
                if session.type == "catalog" and session.run_id is not None:
                    self.runner.submit((session.id, FINISH))
                else:
                    _expire(db, session)
                ended += 1
            db.commit()
        return ended


def _expire(db: Session, session: ExchangeSession) -> None:
    end_session(session, EXPIRED)
    audit_trail.record_session(db, session, list(session.files))
