"""The import pipeline: records -> batches -> upserts + checkpoint, for every source.

A *run* (table ``sync_runs``) imports a *package*: the files 1C sent together. Each file (table
``run_files``) is read as a stream of records, cut into batches of ``import.batch_size``; each
batch is written by ``CatalogWriter`` and commits together with the file's ``records_done``
checkpoint, so a crash replays at most the batch that was in flight, and upserts make that replay
harmless. Re-running an interrupted package resumes it; re-running a finished one is a new run
that writes nothing (every row's content hash matches) and is audited as ``unchanged``.

Full packages (``СодержитТолькоИзменения="false"``) keep an undo journal (``syncd.importer.undo``): a bad
file stops the run and the run puts back every row it changed, so the database is exactly as it
was; once every file imported cleanly, what the package did not mention is hidden
(``import.full_package_policy``). Changes-only packages never hide anything; a bad file stops the
run, keeping earlier files.

Rejected files are copied to quarantine with their reason and an audit entry.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from exchange_formats import records as r
from exchange_formats.commerceml import open_document, read_orders
from exchange_formats.errors import FormatError
from exchange_formats.records import DocumentKind, Record
from syncd.importer import lanes, undo
from syncd.importer.batches import BackgroundWriter, batched
from syncd.importer.checkpoints import read_checkpoint, write_stream_batch
from syncd.importer.gctuning import fewer_collections
from syncd.importer.hiding import HELD_ACTION, Measured, held_message
from syncd.importer.ledger import RunLedger
from syncd.importer.order_updates import apply_updates
from syncd.importer.package import InputFile, describe_file, describe_files, package_fingerprint
from syncd.importer.quarantine import quarantine
from syncd.importer.repository import CatalogRepository
from syncd.importer.results import FileResult, Progress, RunResult, file_result
from syncd.importer.undo import RunMarks
from syncd.importer.writer import CatalogWriter, Counts, WriteOptions
from syncd.store import audit, changes, models
from syncd.store.engine import make_session_factory
from syncd.store.events import CatalogNotifier
from syncd.store.locks import CATALOG_LOCK, named_lock
from syncd.store.unit_of_work import UnitOfWork

__all__ = [
    "CatalogWriter",
    "Counts",
    "FileResult",
    "InputFile",
    "Interrupted",
    "PackageImport",
    "Progress",
    "ProgressCallback",
    "RunResult",
    "WriteOptions",
    "describe_file",
    "describe_files",
    "import_files",
    "read_checkpoint",
    "write_stream_batch",
]

STREAM = "commerceml"
ORDER_SOURCE = "1c-import"  # order history rows written by a folder or CLI import
# Which kind of rows a full document of each kind is authoritative for.
_HIDES = {
    DocumentKind.CATALOG: ("product", models.Product),
    DocumentKind.OFFERS: ("offer", models.Offer),
}

# What the catalog lane leaves to the offers lane when both files list them (syncd.importer.lanes)
LANE_REFERENCES = (r.PriceType, r.Warehouse)
LANE_REFERENCES_SET: frozenset[type] = frozenset(LANE_REFERENCES)
_CLASSIFIER_RECORDS = (r.Group, r.Property, r.Unit, r.PriceType, r.Warehouse)

# Documents the catalog import does not write, and why (they are audited as skipped).
_SKIPPED = {
    DocumentKind.UNKNOWN: "an empty CommerceML document: nothing to import",
}
_FINAL_STATUSES = ("done", "identical", "skipped", "failed")
INTERRUPTED_HINT = (
    "stopped after its last committed batch; importing the same files again resumes it"
)

ProgressCallback = Callable[["Progress"], None]
StopCheck = Callable[[], bool]


class PipelineError(Exception):
    """Base of the pipeline's errors."""


class Interrupted(PipelineError):
    """``should_stop`` asked the run to stop; it committed its last batch and can be resumed."""


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    settings: Settings,
    *,
    actor: str | None = None,
    source: str | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    allow_mass_hide: bool = False,
) -> RunResult:
    """Import one package (already expanded into XML files); resumes an interrupted run of the
    same files. Only one import runs at a time per database (a named lock).

    ``allow_mass_hide``: a full package may hide any share of the catalog (else the guard of
    ``syncd.importer.hiding`` holds a hiding above ``import.hide_guard_share``)."""
    files = describe_files(paths)
    fingerprint = package_fingerprint(files)
    with named_lock(engine, CATALOG_LOCK), fewer_collections():
        package = PackageImport.resume_or_begin(
            engine, settings, fingerprint=fingerprint, actor=actor, source=source
        )
        package.allow_mass_hide = allow_mass_hide
        return package.run(files, on_progress=on_progress, should_stop=should_stop)


class PackageImport:
    """One run: files are imported as they come (``import_file``), then ``finish()``."""

    def __init__(
        self, engine: Engine, settings: Settings, run: models.SyncRun, *, resumed: bool = False
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sessions: sessionmaker[Session] = make_session_factory(
            engine, change_log=settings.changes.enabled, changes_redis_url=settings.redis.url
        )
        self.run_id = run.id
        self.run_uuid = run.run_uuid
        self.actor = run.actor
        self.source = run.source
        self.resumed = resumed
        self.started = time.monotonic()
        self.tz = ZoneInfo(settings.import_.timezone)
        self.results: list[FileResult] = []
        self.notifier = CatalogNotifier(settings.redis.url, engine=engine)
        self.ledger = RunLedger(self.sessions, self.run_id, self.run_uuid, self.actor, self.source)
        self.marks = RunMarks.from_dict(run.marks)
        # Tables this run may fill without key lookups (WriteOptions.fresh_tables): set by
        # ``run``, which holds the catalog lock for the whole package.
        self.fresh_tables: set[str] = set()
        self.allow_mass_hide = False  # True: the hiding guard does not hold (hiding.py)
        # Two lanes with references_first: what the references written first did, and the
        # catalog files (by hash) whose lane skips them.
        self.reference_counts = Counts()
        self.skip_references: set[str] = set()

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
            run.marks = RunMarks.take(uow.session).as_dict()
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
            package.results = [file_result(f) for f in run.files if f.status in _FINAL_STATUSES]
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
        """Import ``files`` in order and finish; a full package keeps an undo journal.

        On PostgreSQL, a big package whose catalog and offers files write disjoint tables is
        imported in two lanes at once (``syncd.importer.lanes``); the end state is the same.
        """
        try:
            unidentified = next((f for f in files if f.error is not None), None)
            if unidentified is not None and self._maybe_full(files):
                self._import_item(unidentified)  # rejected before anything is written
                return self.finish()
            self._journal_if_full(files)
            if self.marks is not None and self.engine.dialect.name == "postgresql":
                self.fresh_tables = {t for t, mark in self.marks.ids.items() if mark == 0}
            if (two := self._lanes(files)) is not None:
                self._run_lanes(
                    files, two.catalog, two.offers, on_progress=on_progress, should_stop=should_stop
                )
            else:
                self._run_lane(files, on_progress=on_progress, should_stop=should_stop)
        except Interrupted:
            return self._interrupted()
        return self.finish()

    def _run_lane(
        self,
        files: Sequence[InputFile],
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> bool:
        """Import ``files`` one after another; False once one of them failed."""
        for item in files:
            result = self._import_item(item, on_progress=on_progress, should_stop=should_stop)
            if result.outcome == "failed":
                return False
        return True

    def _lanes(self, files: Sequence[InputFile]) -> lanes.Split | None:
        options = self.settings.import_
        if not options.parallel_files or self.engine.dialect.name != "postgresql":
            return None
        if sum(f.size for f in files) < options.parallel_min_bytes:
            return None
        if all(self._identical_earlier(f) is not None for f in files):
            return None  # a replay: every file is skipped unread
        found = lanes.split(files)
        if found is not None and found.references_first and not self._write_references(found):
            return None
        return found

    def _write_references(self, split: lanes.Split) -> bool:
        """The catalog files' price types and warehouses, written before the lanes start; the
        catalog lane then skips them (the offers lane owns those tables: ``lanes.Split``).
        False when a catalog file cannot be read that far: the files then go one after another,
        and the bad one is rejected as usual."""
        found: list[Record] = []
        if self._offers_begun(split.offers):
            # A resumed run: these were written before its offers lane began, which then wrote
            # its own over them; writing them again would put import.xml's back on top.
            self.skip_references = {item.sha256 for item in split.catalog}
            return True
        try:
            for item in split.catalog:
                if self._identical_earlier(item) is not None:
                    continue  # skipped unread by its lane: it writes nothing
                for record in open_document(item.path, name=item.name, tz=self.tz).records():
                    if isinstance(record, LANE_REFERENCES):
                        found.append(record)
                    elif not isinstance(record, _CLASSIFIER_RECORDS):
                        break  # the catalog has begun: the references came before it
        except FormatError:
            return False
        options = WriteOptions(
            notifier=self.notifier,
            journal=(self.run_id, marks) if (marks := self._journal_marks()) else None,
        )
        with UnitOfWork(self.sessions) as uow:
            self.reference_counts.merge(CatalogWriter(uow.session, options).write(found))
            uow.commit()
        self.fresh_tables -= lanes.SHARED_REFERENCES  # the offers lane finds these rows there
        self.skip_references = {item.sha256 for item in split.catalog}
        return True

    def _run_lanes(
        self,
        files: Sequence[InputFile],
        catalog: list[InputFile],
        offers: list[InputFile],
        *,
        on_progress: ProgressCallback | None,
        should_stop: StopCheck | None,
    ) -> None:
        """The catalog lane here, the offers lane in a child process; a lane that fails or is
        stopped stops the other at its next batch. Raises ``Interrupted`` when stopped."""
        # fork, not forkserver/spawn: those re-import the caller's __main__ in the child, which
        # breaks any script that calls the pipeline without a __main__ guard; signal handlers
        # act only in the process that installed them (syncd.daemon.stopsignals).
        context = multiprocessing.get_context("fork")
        stop, failed = context.Event(), context.Event()
        progress: multiprocessing.SimpleQueue[Progress] = context.SimpleQueue()
        parent = os.getpid()
        child = context.Process(
            target=self._child_lane,
            args=(parent, offers, stop, failed, progress),
            name="onec-sync offers lane",
            daemon=True,
        )

        def relay(update: Progress | None = None) -> None:
            while not progress.empty():
                item = progress.get()
                if on_progress:
                    on_progress(item)
            if update is not None and on_progress:
                on_progress(update)

        def halt() -> bool:
            if should_stop and should_stop():
                stop.set()
            return stop.is_set() or failed.is_set()

        child.start()
        try:
            try:
                if not self._run_lane(catalog, on_progress=relay, should_stop=halt):
                    failed.set()
            except Interrupted:
                pass  # the other lane failed, or a stop was asked for: told apart below
            while child.is_alive():
                child.join(0.1)
                relay()
                halt()
            relay()
        finally:
            if child.is_alive():  # this process is failing: take the lane down with it
                stop.set()
                child.join(30)
                child.kill()
        if child.exitcode != 0:
            raise PipelineError(f"the offers lane process ended with exit code {child.exitcode}")
        self._reload_results(files)
        if stop.is_set() and not failed.is_set():
            raise Interrupted(self.run_uuid)

    def _offers_begun(self, offers: Sequence[InputFile]) -> bool:
        """Whether this run already wrote part of one of these files (it is being resumed)."""
        with UnitOfWork(self.sessions) as uow:
            begun = uow.session.execute(
                select(models.RunFile.id)
                .where(
                    models.RunFile.run_id == self.run_id,
                    models.RunFile.sha256.in_([f.sha256 for f in offers]),
                    (models.RunFile.records_done > 0) | models.RunFile.status.in_(_FINAL_STATUSES),
                )
                .limit(1)
            ).first()
        return begun is not None

    def _child_lane(
        self,
        parent: int,
        files: list[InputFile],
        stop: EventType,
        failed: EventType,
        progress: multiprocessing.SimpleQueue[Progress],
    ) -> None:
        """The offers lane, in its own process (forked: it shares nothing it writes through).

        It yields the CPU to the catalog lane, the longer of the two (a 100,000-product package:
        about 50 s against 43 s when they run side by side), so that both end together.
        """
        lanes.die_with_parent(parent)
        os.nice(lanes.SECOND_LANE_NICENESS)
        self.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        self.notifier = CatalogNotifier(self.settings.redis.url, engine=self.engine)
        try:
            ok = self._run_lane(
                files,
                on_progress=progress.put,
                should_stop=lambda: stop.is_set() or failed.is_set(),
            )
            if not ok:
                failed.set()
        except Interrupted:
            pass
        finally:
            self.notifier.flush()

    def _reload_results(self, files: Sequence[InputFile]) -> None:
        """The results of both lanes, in ``files`` order (each lane wrote its own rows)."""
        with UnitOfWork(self.sessions) as uow:
            rows = uow.session.execute(
                select(models.RunFile).where(models.RunFile.run_id == self.run_id)
            ).scalars()
            by_hash = {
                row.sha256: file_result(row) for row in rows if row.status in _FINAL_STATUSES
            }
        self.results = [by_hash[f.sha256] for f in files if f.sha256 in by_hash]

    def import_file(
        self,
        path: Path,
        *,
        name: str | None = None,
        on_progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
        move_rejected: bool = False,
    ) -> FileResult:
        """Import one file of the run as it arrives (the HTTP exchange); a file this run already
        finished is not read again.

        From the first file that may be full on, the run keeps the undo journal, as ``run`` does
        for a package given whole: a bad file later makes ``finish`` put back every row the run
        changed. Files of the run imported before that one are changes only and kept.
        """
        item = describe_file(path, name)
        self._journal_if_full([item])
        return self._import_item(
            item, on_progress=on_progress, should_stop=should_stop, move_rejected=move_rejected
        )

    def _import_item(
        self,
        item: InputFile,
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
        move_rejected: bool = False,
    ) -> FileResult:
        started = time.monotonic()
        run_file = self.ledger.claim(item)
        if run_file.status in ("done", "identical", "skipped"):
            return file_result(run_file)
        if item.error is not None:
            return self._reject(item, run_file.id, item.error, started, move=move_rejected)
        if (previous := self._identical_earlier(item)) is not None:
            duration = time.monotonic() - started
            return self._add(self.ledger.record_identical(item, run_file.id, previous, duration))
        if item.header.kind in _SKIPPED:
            reason = _SKIPPED[item.header.kind]
            return self._add(self.ledger.record_skipped(item, run_file.id, reason))
        try:
            if item.header.kind == DocumentKind.ORDERS:
                counts, only_changes = self._apply_orders(item), None
            else:
                counts, only_changes = self._write_file(item, run_file, on_progress, should_stop)
        except FormatError as exc:
            return self._reject(item, run_file.id, exc, started, move=move_rejected)
        duration = time.monotonic() - started
        return self._add(self.ledger.record_done(item, run_file.id, counts, only_changes, duration))

    def _identical_earlier(self, item: InputFile) -> models.RunFile | None:
        if not self.settings.import_.skip_identical_files:
            return None
        if any(r.counts.written for r in self.results):
            return None  # this run changed the catalog: the earlier state is gone
        return self.ledger.identical_earlier(item)

    def _reject(
        self, item: InputFile, run_file_id: int, exc: FormatError, started: float, *, move: bool
    ) -> FileResult:
        """The file is bad: keep it in quarantine, record why; the batch in flight rolled back."""
        reason = str(exc)
        kept = quarantine(item.path, reason, self.settings.paths.quarantine_dir, move=move)
        duration = time.monotonic() - started
        return self._add(self.ledger.record_rejected(item, run_file_id, reason, kept, duration))

    def _add(self, result: FileResult) -> FileResult:
        self.results.append(result)
        return result

    def finish(self, *, failed_outside: str | None = None) -> RunResult:
        """Close the run: hide what a clean full package did not mention, or undo a failed
        journaled one; audit the run.

        ``failed_outside``: part of the package was refused before it reached the pipeline (an
        upload, an archive); the run ends failed with that reason and hides nothing.
        """
        counts = Counts()
        counts.merge(self.reference_counts)
        for result in self.results:
            counts.merge(result.counts)
        failed = bool(failed_outside) or any(r.outcome == "failed" for r in self.results)
        undone = None
        hide = not failed and self.settings.import_.full_package_policy == "hide"
        full_kinds = self._full_kinds() if hide else set()  # read before the write below begins
        held: dict[str, object] | None = None
        with UnitOfWork(self.sessions) as uow:
            repo = CatalogRepository(uow.session)
            if failed and (marks := self._journal_marks()) is not None:
                undone = undo.restore(uow.session, self.run_id, marks)
                changes.drop_staged(uow.session, self.run_id)
            else:
                undo.forget(uow.session, self.run_id)
                changes.publish_staged(uow.session, self.run_id)
            if hide:
                held = self._hide_unmentioned(repo, counts, full_kinds)
            if held is None:
                repo.forget_mentions(self.run_id)  # a held hiding still needs them
            outcome = "failed" if failed else ("unchanged" if counts.written == 0 else "succeeded")
            error = failed_outside or next((r.error for r in self.results if r.error), None)
            run = uow.session.get_one(models.SyncRun, self.run_id)
            run.status = outcome
            run.counts = counts.as_dict()
            run.error = error
            run.finished_at = datetime.now(UTC)
            run.only_changes = self._run_only_changes()
            run.held_hide = held
            if held is not None:
                self._audit_held(uow.session, held)
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
                details=self._run_details(undone),
            )
            uow.commit()
        if counts.hidden or undone:
            self.notifier.committed(["products", "offers", "prices", "stock"])
        self.notifier.flush()
        return RunResult(
            run_uuid=self.run_uuid,
            outcome=outcome,
            counts=counts,
            files=tuple(self.results),
            error=error,
            duration_s=time.monotonic() - self.started,
            resumed=self.resumed,
            held_hide=held_message(self.run_uuid, held, self.settings.import_.hide_guard_share)
            if held
            else None,
        )

    # --- internals -----------------------------------------------------------------------------

    def _audit_held(self, session: Session, held: dict[str, object]) -> None:
        audit.append(
            session,
            action=HELD_ACTION,
            outcome="held",
            actor=self.actor,
            source=self.source,
            run_uuid=self.run_uuid,
            details={"held": held, "share": self.settings.import_.hide_guard_share},
        )

    def _run_details(self, undone: int | None) -> dict[str, object]:
        details: dict[str, object] = {
            "files": [r.name for r in self.results],
            "resumed": self.resumed,
        }
        if undone is not None:
            details["undone_rows"] = undone  # a failed full package put back what it changed
        return details

    def _journal_marks(self) -> RunMarks | None:
        """The marks of a journaled run (a full package), else None."""
        return self.marks if self.marks is not None and self.marks.journal else None

    def _keep_journal(self) -> None:
        """From now on, rows that existed before the run are journaled before they change."""
        if self.marks is None or self.marks.journal:
            return
        self.marks = RunMarks(self.marks.ids, journal=True)
        with UnitOfWork(self.sessions) as uow:
            uow.session.get_one(models.SyncRun, self.run_id).marks = self.marks.as_dict()
            uow.commit()

    def _journal_if_full(self, files: Sequence[InputFile]) -> None:
        """The one rule for every door: a package that may be full keeps the undo journal."""
        if self._maybe_full(files):
            self._keep_journal()

    def _maybe_full(self, files: Sequence[InputFile]) -> bool:
        """Whether the package may be full. Files that cannot be identified do not count: a
        package's files share the setting, so the readable ones speak for it."""
        readable = [f for f in files if f.error is None]
        if not readable:
            return True
        return any(f.header.only_changes is not True and f.header.kind in _HIDES for f in readable)

    def _apply_orders(self, item: InputFile) -> Counts:
        """Order documents 1C wrote back (status, payment, shipment, lines), applied as the sale
        exchange applies them: the whole file is read first, then written in one transaction."""
        documents = list(read_orders(item.path, name=item.name, tz=self.tz))
        with UnitOfWork(self.sessions) as uow:
            found = apply_updates(
                uow.session, documents, self.settings.exchange.status_map, source=ORDER_SOURCE
            )
            uow.commit()
        counts = Counts()
        counts.add("orders", "updated", found.updated)
        counts.add("orders", "unchanged", found.unchanged)
        for onec_id in found.unknown:
            counts.warn(f"order document {onec_id!r} matches no shop order")
        return counts

    def _records(self, item: InputFile) -> Iterator[Record]:
        return open_document(item.path, name=item.name, tz=self.tz).records()

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
            notifier=self.notifier,
            skip_records=LANE_REFERENCES_SET
            if item.sha256 in self.skip_references
            else frozenset(),
            change_log=self.settings.changes.enabled,
            run_id=self.run_id,
            site_owned=frozenset(self.settings.import_.site_owned_fields),
            mention_run_id=None if item.header.only_changes else self.run_id,
            create_missing_products=item.header.kind == DocumentKind.CATALOG,
            journal=(self.run_id, marks) if (marks := self._journal_marks()) else None,
            stage_changes=self._journal_marks() is not None,
            fresh_tables=self.fresh_tables,
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

    def _hide_unmentioned(
        self, repo: CatalogRepository, counts: Counts, flags: set[DocumentKind]
    ) -> dict[str, object] | None:
        """Hide what the package did not mention; or, when that is more than the guard allows
        (``syncd.importer.hiding``), hide nothing and return what is held."""
        if self.marks is None:
            # A run begun before the marks existed (resumed after an upgrade): rows it inserted
            # since were not recorded as mentioned, so hiding could hide them. The next full
            # package hides what this one would have.
            return None
        planned: list[Measured] = []
        for kind in flags:
            mention_kind, model = _HIDES[kind]
            table = models.table(model)
            # An empty "full" catalog is far more likely a broken export than a shop with
            # nothing to sell: hide nothing rather than everything.
            seen = counts.by_table.get(table.name, {})
            if not sum(seen.get(k, 0) for k in ("inserted", "updated", "unchanged", "deleted")):
                continue
            # Rows the run inserted are mentioned by being there: only older ones can be hidden.
            before = self.marks.mark(table)
            would, active = repo.count_hidable(table, self.run_id, mention_kind, up_to_id=before)
            planned.append(Measured(table.name, mention_kind, before, would, active))
        guard = self.settings.import_
        if not self.allow_mass_hide and any(m.too_many(guard) for m in planned):
            return {m.table: m.as_dict() for m in planned if m.would_hide}
        now = datetime.now(UTC)
        for m in planned:
            table = models.Base.metadata.tables[m.table]
            hidden = repo.hide_unmentioned(table, self.run_id, m.kind, now, up_to_id=m.up_to_id)
            counts.add(m.table, "hidden", len(hidden))
            if self.settings.changes.enabled:
                found = changes.ChangeSet(self.run_id)
                found.add_all(m.kind, hidden, "hidden")
                changes.append(repo.session, found, now=now)
        return None

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
        """Record the stop: the run keeps its committed batches and resumes when the same
        files are imported again."""
        counts = Counts()
        for result in self.results:
            counts.merge(result.counts)
        error = INTERRUPTED_HINT
        with UnitOfWork(self.sessions) as uow:
            run = uow.session.get_one(models.SyncRun, self.run_id)
            run.status = "interrupted"
            run.error = error
            run.finished_at = datetime.now(UTC)
            audit.append(
                uow.session,
                action="import.run",
                outcome="interrupted",
                actor=self.actor,
                source=self.source,
                run_uuid=self.run_uuid,
                counts=counts.as_dict(),
                duration_ms=int((time.monotonic() - self.started) * 1000),
                error=error,
                details=self._run_details(None),
            )
            uow.commit()
        return RunResult(
            run_uuid=self.run_uuid,
            outcome="interrupted",
            counts=counts,
            files=tuple(self.results),
            error=error,
            duration_s=time.monotonic() - self.started,
            resumed=self.resumed,
        )
