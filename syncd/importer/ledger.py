"""The run's ledger: each file's row in ``run_files`` and its audit entry, one transaction each.

``PackageImport`` decides what happens to a file; the ledger writes down that it happened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from syncd.importer.package import InputFile
from syncd.importer.results import FileResult
from syncd.importer.writer import Counts
from syncd.store import audit, models
from syncd.store.unit_of_work import UnitOfWork


class RunLedger:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        run_id: int,
        run_uuid: str,
        actor: str | None,
        source: str | None,
    ) -> None:
        self.sessions = sessions
        self.run_id = run_id
        self.run_uuid = run_uuid
        self.actor = actor
        self.source = source

    def identical_earlier(self, item: InputFile) -> models.RunFile | None:
        """The earlier import of these exact bytes, if nothing was written since it.

        Then the catalog holds exactly what this file would write again, and reading it would
        only confirm that: a replayed package is a no-op at the cost of hashing its files. (The
        caller also makes sure its own run wrote nothing yet.)
        """
        with UnitOfWork(self.sessions) as uow:
            previous = uow.session.execute(
                select(models.RunFile)
                .join(models.SyncRun, models.SyncRun.id == models.RunFile.run_id)
                .where(
                    models.RunFile.sha256 == item.sha256,
                    models.RunFile.status.in_(("done", "identical")),
                    models.SyncRun.status.in_(("succeeded", "unchanged")),
                    models.SyncRun.id != self.run_id,
                )
                .order_by(models.RunFile.run_id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if previous is None:
                return None
            writes_since = uow.session.execute(
                select(models.SyncRun.id)
                .where(
                    models.SyncRun.id > previous.run_id,
                    models.SyncRun.id != self.run_id,
                    models.SyncRun.status != "unchanged",
                )
                .limit(1)
            ).scalar_one_or_none()
        return previous if writes_since is None else None

    def record_identical(
        self, item: InputFile, run_file_id: int, previous: models.RunFile, duration: float
    ) -> FileResult:
        before = Counts.from_dict(previous.counts or {})
        counts = Counts()
        for table, outcomes in before.by_table.items():
            records = sum(n for outcome, n in outcomes.items() if outcome != "hidden")
            counts.add(table, "unchanged", records)
        note = (
            f"identical to a file of an earlier run, nothing written since (run_file {previous.id})"
        )
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.get_one(models.RunFile, run_file_id)
            run_file.status = "identical"
            run_file.only_changes = previous.only_changes
            run_file.counts = counts.as_dict()
            run_file.records_done = previous.records_done
            run_file.finished_at = datetime.now(UTC)
            self._audit_file(uow.session, item, "unchanged", counts, duration, None, note=note)
            uow.commit()
        return FileResult(
            item.name,
            item.sha256,
            item.header.kind.value,
            "unchanged",
            counts,
            previous.only_changes,
            duration_s=duration,
        )

    def claim(self, item: InputFile) -> models.RunFile:
        """This run's record of the file (created on first sight; a resumed run finds it)."""
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.execute(
                select(models.RunFile).where(
                    models.RunFile.run_id == self.run_id, models.RunFile.sha256 == item.sha256
                )
            ).scalar_one_or_none()
            if run_file is None:
                run_file = models.RunFile(
                    run_id=self.run_id,
                    name=item.name,
                    sha256=item.sha256,
                    size=item.size,
                    kind=item.header.kind.value,
                    only_changes=item.header.only_changes,
                    status="importing",
                    started_at=datetime.now(UTC),
                )
                uow.session.add(run_file)
                uow.commit()
            return run_file

    def record_done(
        self,
        item: InputFile,
        run_file_id: int,
        counts: Counts,
        only_changes: bool | None,
        duration: float,
    ) -> FileResult:
        outcome = "unchanged" if counts.written == 0 and counts.rejected == 0 else "succeeded"
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.get_one(models.RunFile, run_file_id)
            run_file.status = "done"
            run_file.only_changes = only_changes
            run_file.counts = counts.as_dict()
            run_file.finished_at = datetime.now(UTC)
            self._audit_file(uow.session, item, outcome, counts, duration, None)
            uow.commit()
        return FileResult(
            item.name,
            item.sha256,
            item.header.kind.value,
            outcome,
            counts,
            only_changes,
            duration_s=duration,
        )

    def record_rejected(
        self, item: InputFile, run_file_id: int, reason: str, kept: Path, duration: float
    ) -> FileResult:
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.get_one(models.RunFile, run_file_id)
            run_file.status = "failed"
            run_file.error = reason
            run_file.finished_at = datetime.now(UTC)
            counts = Counts.from_dict(run_file.counts or {})
            self._audit_file(uow.session, item, "rejected", counts, duration, reason, kept)
            uow.commit()
        return FileResult(
            item.name,
            item.sha256,
            item.header.kind.value,
            "failed",
            counts,
            error=reason,
            quarantined=kept,
            duration_s=duration,
        )

    def record_skipped(self, item: InputFile, run_file_id: int, reason: str) -> FileResult:
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.get_one(models.RunFile, run_file_id)
            run_file.status = "skipped"
            run_file.error = reason
            run_file.finished_at = datetime.now(UTC)
            self._audit_file(uow.session, item, "skipped", Counts(), 0.0, reason)
            uow.commit()
        return FileResult(
            item.name, item.sha256, item.header.kind.value, "skipped", Counts(), error=reason
        )

    def _audit_file(
        self,
        session: Session,
        item: InputFile,
        outcome: str,
        counts: Counts,
        duration: float,
        error: str | None,
        quarantined: Path | None = None,
        note: str | None = None,
    ) -> None:
        details: dict[str, Any] = {"kind": item.header.kind.value, "size": item.size}
        if note:
            details["note"] = note
        if quarantined:
            details["quarantined"] = str(quarantined)
        audit.append(
            session,
            action="import.file",
            outcome=outcome,
            actor=self.actor,
            source=self.source,
            subject=item.name,
            run_uuid=self.run_uuid,
            content_hash=item.sha256,
            counts=counts.as_dict(),
            duration_ms=int(duration * 1000),
            error=error,
            details=details,
        )
