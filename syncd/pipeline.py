"""The import pipeline: records -> batches -> upserts + checkpoint, for every source.

A *run* (table ``sync_runs``) imports a *package*: the files 1C sent together. Each file (table
``run_files``) is read as a stream of records, cut into batches of ``import.batch_size``; each
batch is written by ``CatalogWriter`` and commits together with the file's ``records_done``
checkpoint, so a crash replays at most the batch that was in flight, and upserts make that replay
harmless. Re-running an interrupted package resumes it; re-running a finished one is a new run
that writes nothing (every row's content hash matches) and is audited as ``unchanged``.

Full packages (``СодержитТолькоИзменения="false"``): every file is read once before anything is
written, so a bad file leaves the database exactly as it was; once every file imported cleanly,
what the package did not mention is hidden (``import.full_package_policy``). Changes-only packages
are written file by file and never hide anything; a bad file stops the run, keeping earlier files.

Rejected files are copied to quarantine with their reason and an audit entry.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from exchange_formats.commerceml import detect, open_document
from exchange_formats.errors import FormatError
from exchange_formats.records import DocumentHeader, DocumentKind, Record
from syncd import audit, models
from syncd.batches import BackgroundWriter, batched
from syncd.checkpoints import read_checkpoint, write_stream_batch
from syncd.db import make_session_factory
from syncd.hashing import file_sha256
from syncd.locks import named_lock
from syncd.quarantine import quarantine
from syncd.repository import CatalogRepository
from syncd.unit_of_work import UnitOfWork
from syncd.validation import ValidationStopped, first_error
from syncd.writer import CatalogWriter, Counts, WriteOptions

__all__ = [
    "CatalogWriter",
    "Counts",
    "FileResult",
    "PackageImport",
    "RunResult",
    "WriteOptions",
    "import_files",
    "read_checkpoint",
    "write_stream_batch",
]

STREAM = "commerceml"
IMPORT_LOCK = "import:catalog"
# Classifier and catalog first, then offers and their split files; orders last.
_KIND_ORDER = {
    DocumentKind.CATALOG: 0,
    DocumentKind.CONTRACTORS: 1,
    DocumentKind.OFFERS: 2,
    DocumentKind.OFFER_CHANGES: 3,
    DocumentKind.ORDERS: 4,
    DocumentKind.UNKNOWN: 5,
}
# Which kind of rows a full document of each kind is authoritative for.
_HIDES = {
    DocumentKind.CATALOG: ("product", models.Product),
    DocumentKind.OFFERS: ("offer", models.Offer),
}

ProgressCallback = Callable[["Progress"], None]
StopCheck = Callable[[], bool]


class PipelineError(Exception):
    """Base of the pipeline's errors."""


class Interrupted(PipelineError):
    """``should_stop`` asked the run to stop; it committed its last batch and can be resumed."""


@dataclass(frozen=True, slots=True)
class Progress:
    file: str
    records_done: int
    bytes_read: int
    bytes_total: int


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path
    name: str
    sha256: str
    size: int
    header: DocumentHeader
    error: FormatError | None = None  # the file could not even be identified


@dataclass(frozen=True, slots=True)
class FileResult:
    name: str
    sha256: str
    kind: str
    outcome: str  # succeeded | unchanged | failed | skipped
    counts: Counts
    only_changes: bool | None = None
    error: str | None = None
    quarantined: Path | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


@dataclass(frozen=True, slots=True)
class RunResult:
    run_uuid: str
    outcome: str  # succeeded | unchanged | failed | interrupted
    counts: Counts
    files: tuple[FileResult, ...] = ()
    error: str | None = None
    duration_s: float = 0.0
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in ("succeeded", "unchanged")


def describe_files(paths: Iterable[Path]) -> list[InputFile]:
    """Hash and identify each file by content; sorted the way 1C means them to be loaded."""
    return sorted(map(describe_file, paths), key=lambda f: (_KIND_ORDER[f.header.kind], f.name))


def describe_file(path: Path, name: str | None = None) -> InputFile:
    """``path`` hashed and identified; a file that cannot be identified carries its error."""
    name = name or path.name
    error: FormatError | None = None
    try:
        header = detect(path, name=name)
    except FormatError as exc:
        header, error = (
            DocumentHeader(
                source=name,
                kind=DocumentKind.UNKNOWN,
                schema_version=None,
                generated_at=None,
                namespace=None,
                encoding="",
            ),
            exc,
        )
    if error is None and header.kind == DocumentKind.UNKNOWN:
        error = FormatError("not a CommerceML document this importer reads", source=name, line=1)
    return InputFile(path, name, file_sha256(path), path.stat().st_size, header, error)


def package_fingerprint(files: Sequence[InputFile]) -> str:
    import hashlib

    joined = "\n".join(sorted(f.sha256 for f in files))
    return hashlib.sha256(joined.encode()).hexdigest()


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    settings: Settings,
    *,
    actor: str | None = None,
    source: str | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> RunResult:
    """Import one package (already expanded into XML files); resumes an interrupted run of the
    same files. Only one import runs at a time per database (a named lock)."""
    files = describe_files(paths)
    fingerprint = package_fingerprint(files)
    with named_lock(engine, IMPORT_LOCK):
        package = PackageImport.resume_or_begin(
            engine, settings, fingerprint=fingerprint, actor=actor, source=source
        )
        return package.run(files, on_progress=on_progress, should_stop=should_stop)


class PackageImport:
    """One run: files are imported as they come (``import_file``), then ``finish()``."""

    def __init__(
        self, engine: Engine, settings: Settings, run: models.SyncRun, *, resumed: bool = False
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        self.run_id = run.id
        self.run_uuid = run.run_uuid
        self.actor = run.actor
        self.source = run.source
        self.resumed = resumed
        self.started = time.monotonic()
        self.tz = ZoneInfo(settings.import_.timezone)
        self.results: list[FileResult] = []
        self._failed = False

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def begin(
        cls,
        engine: Engine,
        settings: Settings,
        *,
        actor: str | None = None,
        source: str | None = None,
        stream: str = STREAM,
        fingerprint: str | None = None,
    ) -> PackageImport:
        run = models.SyncRun(
            run_uuid=str(uuid.uuid4()),
            stream=stream,
            source=source,
            actor=actor,
            fingerprint=fingerprint,
            status="running",
        )
        with UnitOfWork(make_session_factory(engine)) as uow:
            uow.session.add(run)
            uow.commit()
        return cls(engine, settings, run)

    @classmethod
    def resume(cls, engine: Engine, settings: Settings, run_uuid: str) -> PackageImport:
        with UnitOfWork(make_session_factory(engine)) as uow:
            run = uow.session.execute(
                select(models.SyncRun).where(models.SyncRun.run_uuid == run_uuid)
            ).scalar_one()
            package = cls(engine, settings, run, resumed=True)
            package.results = [_file_result(f) for f in run.files if f.status in ("done", "failed")]
        return package

    @classmethod
    def resume_or_begin(
        cls,
        engine: Engine,
        settings: Settings,
        *,
        fingerprint: str,
        actor: str | None,
        source: str | None,
    ) -> PackageImport:
        """Resume the unfinished run of the same package (killed, stopped), else begin one."""
        with UnitOfWork(make_session_factory(engine)) as uow:
            unfinished = uow.session.execute(
                select(models.SyncRun.run_uuid)
                .where(
                    models.SyncRun.fingerprint == fingerprint,
                    models.SyncRun.status.in_(("running", "interrupted")),
                )
                .order_by(models.SyncRun.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        if unfinished:
            return cls.resume(engine, settings, unfinished)
        return cls.begin(engine, settings, actor=actor, source=source, fingerprint=fingerprint)

    def run(
        self,
        files: Sequence[InputFile],
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> RunResult:
        """Import ``files`` in order and finish; a full package is read through first."""
        try:
            if self._maybe_full(files) and not self._prevalidate(files, should_stop):
                return self.finish()
            for item in files:
                result = self._import_item(item, on_progress=on_progress, should_stop=should_stop)
                if result.outcome == "failed":
                    break
        except Interrupted:
            return self._interrupted()
        return self.finish()

    def import_file(
        self,
        path: Path,
        *,
        name: str | None = None,
        on_progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
        move_rejected: bool = False,
    ) -> FileResult:
        """Import one file of the run; a file this run already finished is not read again."""
        return self._import_item(
            describe_file(path, name),
            on_progress=on_progress,
            should_stop=should_stop,
            move_rejected=move_rejected,
        )

    def _identical_import(self, item: InputFile) -> models.RunFile | None:
        """The earlier import of these exact bytes, if nothing was written since it.

        Then the catalog holds exactly what this file would write again, and reading it would
        only confirm that: a replayed package is a no-op at the cost of hashing its files.
        """
        if not self.settings.import_.skip_identical_files:
            return None
        if any(r.counts.written for r in self.results):
            return None
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

    def _skip_identical(
        self, item: InputFile, run_file_id: int, previous: models.RunFile, started: float
    ) -> FileResult:
        before = Counts.from_dict(previous.counts or {})
        counts = Counts()
        for table, outcomes in before.by_table.items():
            records = sum(n for outcome, n in outcomes.items() if outcome != "hidden")
            counts.add(table, "unchanged", records)
        duration = time.monotonic() - started
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
        result = FileResult(
            item.name,
            item.sha256,
            item.header.kind.value,
            "unchanged",
            counts,
            previous.only_changes,
            duration_s=duration,
        )
        self.results.append(result)
        return result

    def _import_item(
        self,
        item: InputFile,
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
        move_rejected: bool = False,
    ) -> FileResult:
        started = time.monotonic()
        run_file = self._claim_file(item)
        if run_file.status in ("done", "identical"):
            return _file_result(run_file)
        if item.error is None and (previous := self._identical_import(item)) is not None:
            return self._skip_identical(item, run_file.id, previous, started)
        if item.error is not None:
            return self._reject(item, run_file.id, item.error, started, move=move_rejected)
        if item.header.kind == DocumentKind.ORDERS:
            return self._skip(item, run_file.id, "order documents are read by the sale exchange")
        try:
            counts, only_changes = self._write_file(item, run_file, on_progress, should_stop)
        except FormatError as exc:
            return self._reject(item, run_file.id, exc, started, move=move_rejected)
        return self._complete_file(item, run_file.id, counts, only_changes, started)

    def finish(self) -> RunResult:
        """Close the run: hide what a clean full package did not mention; audit the run."""
        counts = Counts()
        for result in self.results:
            counts.merge(result.counts)
        failed = self._failed or any(r.outcome == "failed" for r in self.results)
        with UnitOfWork(self.sessions) as uow:
            repo = CatalogRepository(uow.session)
            if not failed and self.settings.import_.full_package_policy == "hide":
                self._hide_unmentioned(repo, counts)
            repo.forget_mentions(self.run_id)
            outcome = "failed" if failed else ("unchanged" if counts.written == 0 else "succeeded")
            error = next((r.error for r in self.results if r.error), None)
            run = uow.session.get_one(models.SyncRun, self.run_id)
            run.status = outcome
            run.counts = counts.as_dict()
            run.error = error
            run.finished_at = datetime.now(UTC)
            run.only_changes = self._run_only_changes()
            audit.append(
                uow.session,
                action="import.run",
                outcome=outcome,
                actor=self.actor,
                source=self.source,
                run_uuid=self.run_uuid,
                counts=counts.as_dict(),
                duration_ms=int((time.monotonic() - self.started) * 1000),
                error=error,
                details={"files": [r.name for r in self.results], "resumed": self.resumed},
            )
            uow.commit()
        return RunResult(
            run_uuid=self.run_uuid,
            outcome=outcome,
            counts=counts,
            files=tuple(self.results),
            error=error,
            duration_s=time.monotonic() - self.started,
            resumed=self.resumed,
        )

    # --- internals -----------------------------------------------------------------------------

    def _maybe_full(self, files: Sequence[InputFile]) -> bool:
        """Whether the package may be full. Files that cannot be identified do not count: a
        package's files share the setting, so the readable ones speak for it."""
        readable = [f for f in files if f.error is None]
        if not readable:
            return True
        return any(f.header.only_changes is not True and f.header.kind in _HIDES for f in readable)

    def _prevalidate(self, files: Sequence[InputFile], should_stop: StopCheck | None) -> bool:
        """Read every file once, writing nothing; reject the package at its first bad file.

        A file whose exact bytes imported cleanly before needs no second look.
        """
        with UnitOfWork(self.sessions) as uow:
            known = set(
                uow.session.execute(
                    select(models.RunFile.sha256).where(
                        models.RunFile.sha256.in_([f.sha256 for f in files]),
                        models.RunFile.status.in_(("done", "identical")),
                    )
                ).scalars()
            )
        started = time.monotonic()
        unread = [f for f in files if f.error is not None or f.sha256 not in known]
        unidentified = next((f for f in unread if f.error is not None), None)
        bad: tuple[InputFile, FormatError] | None = None
        if unidentified is not None and unidentified.error is not None:
            bad = (unidentified, unidentified.error)
        else:
            to_read = [f for f in unread if f.header.kind in _HIDES]
            try:
                found = first_error(
                    [(f.path, f.name) for f in to_read], self.settings.import_.timezone, should_stop
                )
            except ValidationStopped:
                raise Interrupted(self.run_uuid) from None
            if found is not None:
                bad = (to_read[found[0]], found[1])
        if bad is None:
            return True
        run_file = self._claim_file(bad[0])
        self._reject(bad[0], run_file.id, bad[1], started, move=False)
        return False

    def _records(self, item: InputFile) -> Iterator[Record]:
        return open_document(item.path, name=item.name, tz=self.tz).records()

    def _claim_file(self, item: InputFile) -> models.RunFile:
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

    def _write_file(
        self,
        item: InputFile,
        run_file: models.RunFile,
        on_progress: ProgressCallback | None,
        should_stop: StopCheck | None,
    ) -> tuple[Counts, bool | None]:
        document = open_document(item.path, name=item.name, tz=self.tz)
        records = document.records()
        done = run_file.records_done
        counts = Counts.from_dict(run_file.counts or {})
        for _ in islice(records, done):  # resume: these were committed before
            pass
        options = WriteOptions(
            site_owned=frozenset(self.settings.import_.site_owned_fields),
            mention_run_id=None if item.header.only_changes else self.run_id,
            create_missing_products=item.header.kind == DocumentKind.CATALOG,
        )
        state = {"done": done, "batches": 0}

        def write(batch: list[Record]) -> None:
            with UnitOfWork(self.sessions) as uow:
                repo = CatalogRepository(uow.session)
                repo.relax_commit_durability()
                counts.merge(CatalogWriter(uow.session, options).write(batch))
                state["done"] += len(batch)
                state["batches"] += 1
                run_file_row = uow.session.get_one(models.RunFile, run_file.id)
                run_file_row.records_done = state["done"]
                run_file_row.counts = counts.as_dict()
                repo.analyze_grown_tables()
                uow.commit()

        writer: BackgroundWriter[Record] = BackgroundWriter(write)
        submitted = done
        try:
            for batch in batched(records, self.settings.import_.batch_size):
                writer.submit(batch)
                submitted += len(batch)
                if on_progress:
                    on_progress(Progress(item.name, submitted, document.bytes_read, item.size))
                if should_stop and should_stop():
                    raise Interrupted(self.run_uuid)
        finally:
            writer.close()
        return counts, document.only_changes

    def _complete_file(
        self,
        item: InputFile,
        run_file_id: int,
        counts: Counts,
        only_changes: bool | None,
        started: float,
    ) -> FileResult:
        outcome = "unchanged" if counts.written == 0 and counts.rejected == 0 else "succeeded"
        duration = time.monotonic() - started
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.get_one(models.RunFile, run_file_id)
            run_file.status = "done"
            run_file.only_changes = only_changes
            run_file.counts = counts.as_dict()
            run_file.finished_at = datetime.now(UTC)
            self._audit_file(uow.session, item, outcome, counts, duration, None)
            uow.commit()
        result = FileResult(
            item.name,
            item.sha256,
            item.header.kind.value,
            outcome,
            counts,
            only_changes,
            duration_s=duration,
        )
        self.results.append(result)
        return result

    def _reject(
        self, item: InputFile, run_file_id: int, exc: FormatError, started: float, *, move: bool
    ) -> FileResult:
        """The file is bad: keep it in quarantine, record why; the batch in flight rolled back."""
        reason = str(exc)
        kept = quarantine(item.path, reason, self.settings.paths.quarantine_dir, move=move)
        duration = time.monotonic() - started
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.get_one(models.RunFile, run_file_id)
            run_file.status = "failed"
            run_file.error = reason
            run_file.finished_at = datetime.now(UTC)
            counts = Counts.from_dict(run_file.counts or {})
            self._audit_file(uow.session, item, "rejected", counts, duration, reason, kept)
            uow.commit()
        self._failed = True
        result = FileResult(
            item.name,
            item.sha256,
            item.header.kind.value,
            "failed",
            counts,
            error=reason,
            quarantined=kept,
            duration_s=duration,
        )
        self.results.append(result)
        return result

    def _skip(self, item: InputFile, run_file_id: int, reason: str) -> FileResult:
        with UnitOfWork(self.sessions) as uow:
            run_file = uow.session.get_one(models.RunFile, run_file_id)
            run_file.status = "done"
            run_file.error = reason
            self._audit_file(uow.session, item, "skipped", Counts(), 0.0, reason)
            uow.commit()
        result = FileResult(
            item.name, item.sha256, item.header.kind.value, "skipped", Counts(), error=None
        )
        self.results.append(result)
        return result

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

    def _hide_unmentioned(self, repo: CatalogRepository, counts: Counts) -> None:
        flags = self._full_kinds()
        now = datetime.now(UTC)
        for kind in flags:
            mention_kind, model = _HIDES[kind]
            # An empty "full" catalog is far more likely a broken export than a shop with
            # nothing to sell: hide nothing rather than everything.
            if repo.mention_count(self.run_id, mention_kind) == 0:
                continue
            table = models.table(model)
            hidden = repo.hide_unmentioned(table, self.run_id, mention_kind, now)
            counts.add(table.name, "hidden", hidden)

    def _full_kinds(self) -> set[DocumentKind]:
        """Kinds for which some file of this run said explicitly: not only changes."""
        with UnitOfWork(self.sessions) as uow:
            rows = uow.session.execute(
                select(models.RunFile.kind, models.RunFile.only_changes).where(
                    models.RunFile.run_id == self.run_id, models.RunFile.status == "done"
                )
            ).all()
        kinds = {DocumentKind(kind) for kind, only in rows if kind and only is False}
        return kinds & set(_HIDES)

    def _run_only_changes(self) -> bool | None:
        flags = [r.only_changes for r in self.results if r.only_changes is not None]
        return all(flags) if flags else None

    def _interrupted(self) -> RunResult:
        with UnitOfWork(self.sessions) as uow:
            uow.session.get_one(models.SyncRun, self.run_id).status = "interrupted"
            uow.commit()
        counts = Counts()
        for result in self.results:
            counts.merge(result.counts)
        return RunResult(
            run_uuid=self.run_uuid,
            outcome="interrupted",
            counts=counts,
            files=tuple(self.results),
            duration_s=time.monotonic() - self.started,
            resumed=self.resumed,
        )


def _file_result(run_file: models.RunFile) -> FileResult:
    counts = Counts.from_dict(run_file.counts or {})
    if run_file.status == "failed":
        outcome = "failed"
    else:
        outcome = "unchanged" if counts.written == 0 and counts.rejected == 0 else "succeeded"
    return FileResult(
        run_file.name,
        run_file.sha256,
        run_file.kind or DocumentKind.UNKNOWN.value,
        outcome,
        counts,
        run_file.only_changes,
        error=run_file.error,
    )
