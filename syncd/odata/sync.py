"""``run_odata_sync``: one pull run over the configured streams, with its run row and audit.

The CLI (``onec-sync sync odata``) and the daemon's scheduled job call the same function. A run
holds the ``odata-pull`` lock (a second concurrent run gets ``LockBusy``) and the catalog lock
(``LockBusy`` while a package import writes the catalog: the job tries again later), records a
``sync_runs`` row and one audit entry per stream with its counts.

A stream that fails stops with 1C's message and leaves its cursor where it was; the next
streams still run unless 1C is unavailable (retries exhausted), which ends the run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from config.settings import ODATA_STREAMS
from exchange_formats.errors import FormatError
from exchange_formats.odata import catalog
from exchange_formats.odata.metadata import Metadata
from syncd.importer.writer import Counts, WriteOptions
from syncd.odata.client import ODataClient
from syncd.odata.errors import BadAnswer, ODataError, RequestRejected, Unavailable
from syncd.odata.published import forget, published
from syncd.odata.pull import PullContext, StreamResult, pull_catalog, pull_snapshot
from syncd.odata.retry import Stopped
from syncd.odata.streams import CatalogStream, ChangesStream, Stream, make_streams, missing
from syncd.odata.tracking import pull_changes
from syncd.store import audit, models
from syncd.store.engine import make_session_factory
from syncd.store.events import CatalogNotifier
from syncd.store.locks import CATALOG_LOCK, named_lock
from syncd.store.unit_of_work import UnitOfWork

log = logging.getLogger("syncd.odata")
LOCK_NAME = "odata-pull"
RUN_STREAM = "odata"


@dataclass
class RunResult:
    """A pull run. ``outcome``: succeeded | unchanged | failed | interrupted (as the import
    pipeline's ``RunResult``); ``streams`` says what each stream did."""

    run_uuid: str
    outcome: str = "succeeded"
    streams: list[StreamResult] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("succeeded", "unchanged")

    @property
    def counts(self) -> Counts:
        total = Counts()
        for stream in self.streams:
            total.merge(stream.counts)
        return total


def run_odata_sync(
    settings: Settings,
    engine: Engine,
    stream: str | None = None,
    full: bool = False,
    should_stop: Callable[[], bool] | None = None,
    *,
    actor: str = "cli",
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunResult:
    """Pull ``stream`` (else every stream of ``odata.streams``) from 1C into the database.

    ``full`` re-reads catalog streams from the start instead of diffing DataVersions.
    ``clock`` is the moment prices are read at (the slice in force then).
    ``should_stop`` is polled between committed batches; a stop keeps what was committed.
    Raises ``ValueError`` for an unknown stream, ``LockBusy`` when a pull already runs.
    """
    names = _chosen(settings, stream)
    stop = should_stop or (lambda: False)
    notifier = CatalogNotifier(settings.redis.url, engine=engine)
    with named_lock(engine, LOCK_NAME, wait=False), named_lock(engine, CATALOG_LOCK, wait=False):
        sessions = make_session_factory(
            engine, change_log=settings.changes.enabled, changes_redis_url=settings.redis.url
        )
        result = RunResult(run_uuid=str(uuid.uuid4()))
        run_id = _begin(
            sessions, result.run_uuid, names, full=full, actor=actor, source=settings.odata.url
        )
        try:
            with ODataClient(settings.odata, transport=transport, should_stop=stop) as client:
                ctx = PullContext(
                    client=client,
                    sessions=sessions,
                    options=WriteOptions(
                        site_owned=frozenset(settings.import_.site_owned_fields),
                        notifier=notifier,
                        change_log=settings.changes.enabled,
                        run_id=run_id,
                    ),
                    batch_size=settings.import_.batch_size,
                    quarantine_dir=settings.paths.quarantine_dir,
                    should_stop=stop,
                    clock=clock,
                )
                _run_streams(ctx, settings, names, full, result, actor)
        except BaseException as exc:  # record the crash on the run row, then let it propagate
            _finish(sessions, run_id, result, error=f"{type(exc).__name__}: {exc}", status="failed")
            raise
        if result.outcome == "succeeded" and all(s.outcome == "unchanged" for s in result.streams):
            result.outcome = "unchanged"
        _finish(sessions, run_id, result)
        notifier.flush()
        return result


def _run_streams(
    ctx: PullContext,
    settings: Settings,
    names: list[str],
    full: bool,
    result: RunResult,
    actor: str,
) -> None:
    try:
        metadata = _metadata(ctx, settings)
    except (ODataError, Stopped) as exc:  # 1C down or refusing our user: nothing can run
        result.outcome = "interrupted" if isinstance(exc, Stopped) else "failed"
        result.error = f"$metadata: {exc}"
        _skip_rest(names, result, reason=result.error)
        return
    currencies = _currencies(ctx.client, settings, metadata) if _priced(names) else {}
    streams = make_streams(settings.odata, metadata, currencies)
    for index, name in enumerate(names):
        outcome = _run_one(ctx, streams[name], metadata, full, result.run_uuid, actor)
        result.streams.append(outcome)
        if outcome.outcome == "failed":
            result.outcome = "failed"
            result.error = result.error or f"{name}: {outcome.error}"
            if outcome.error_kind and issubclass(outcome.error_kind, Unavailable):
                _skip_rest(names[index + 1 :], result)
                return
        if outcome.outcome == "interrupted" or ctx.should_stop():
            result.outcome = "interrupted" if result.outcome == "succeeded" else result.outcome
            return


def _run_one(
    ctx: PullContext,
    stream: Stream,
    metadata: Metadata | None,
    full: bool,
    run_uuid: str,
    actor: str,
) -> StreamResult:
    started = time.monotonic()
    outcome = StreamResult(stream.name)
    try:
        if metadata is not None and (absent := missing(stream, metadata)):
            raise RequestRejected(
                f"not published by this 1C base: {'; '.join(absent)} "
                "(check odata.*_entity and odata.*_fields, or publish them in 1C)"
            )
        if isinstance(stream, CatalogStream):
            pull_catalog(ctx, stream, outcome, full=full)
        elif isinstance(stream, ChangesStream):
            pull_changes(ctx, stream, outcome)
        else:
            pull_snapshot(ctx, stream, outcome)
    except (ODataError, FormatError) as exc:
        outcome.outcome, outcome.error, outcome.error_kind = "failed", str(exc), type(exc)
        log.error("%s: %s", stream.name, exc)
        if isinstance(exc, RequestRejected) and metadata is not None:
            forget(ctx.client, ctx.sessions)  # 1C may have changed: read $metadata next run
    except Stopped:
        outcome.outcome = "interrupted"
    _audit(ctx, stream, outcome, run_uuid, actor, int((time.monotonic() - started) * 1000))
    return outcome


def _metadata(ctx: PullContext, settings: Settings) -> Metadata | None:
    """The base's ``$metadata`` (kept between runs: ``published``); None when checks are off
    or 1C cannot produce it.

    Some bases answer ``$metadata`` with 500 while entity reads work: pulls then go ahead
    unchecked. 1C being unavailable or refusing our user still ends the run.
    """
    if not settings.odata.check_metadata:
        return None
    try:
        return published(ctx.client, ctx.sessions)
    except (RequestRejected, BadAnswer, FormatError) as exc:
        log.warning("cannot read $metadata, pulling without checking names: %s", exc)
        return None


def _priced(names: list[str]) -> bool:
    return "price_types" in names or "prices" in names


def _currencies(
    client: ODataClient, settings: Settings, metadata: Metadata | None
) -> dict[str, str]:
    """``Ref_Key -> ISO code`` of 1C's currencies; empty (currencies unknown) when the base does
    not publish the currencies catalog or cannot serve it now."""
    entity = settings.odata.currencies_entity
    if not entity or (metadata is not None and not metadata.has_entity_set(entity)):
        return {}
    try:
        rows = client.rows(entity, [("$select", "Ref_Key,Code,Description")])
        return catalog.read_currencies(rows, source=entity)
    except (RequestRejected, BadAnswer, FormatError) as exc:
        log.warning("cannot read %s, prices go without currency: %s", entity, exc)
        return {}


def _chosen(settings: Settings, stream: str | None) -> list[str]:
    if stream is not None and stream not in ODATA_STREAMS:
        raise ValueError(f"unknown stream {stream!r}; choose from {', '.join(ODATA_STREAMS)}")
    names = list(settings.odata.streams) if stream is None else [stream]
    if "changes" in names and not settings.odata.exchange_plan:
        raise ValueError(
            "the changes stream reads an exchange plan: set odata.exchange_plan and "
            "odata.exchange_node (the 1C side creates the plan and our node in it)"
        )
    return names


def _skip_rest(names: list[str], result: RunResult, reason: str = "1C is unavailable") -> None:
    for name in names:
        result.streams.append(StreamResult(name, outcome="skipped", error=reason))


# --- the run row and the audit log ---------------------------------------------------------


def _begin(
    sessions: sessionmaker[Session],
    run_uuid: str,
    names: list[str],
    *,
    full: bool,
    actor: str,
    source: str,
) -> int:
    """Close runs a crash left 'running' (we hold the lock: none can be live), open ours."""
    with UnitOfWork(sessions) as uow:
        runs = models.table(models.SyncRun)
        uow.session.execute(
            update(runs)
            .where(runs.c.stream == RUN_STREAM, runs.c.status == "running")
            .values(
                status="abandoned", finished_at=datetime.now(UTC), error="the process ended mid-run"
            )
        )
        run = models.SyncRun(
            run_uuid=run_uuid,
            stream=RUN_STREAM,
            source=source,
            actor=actor,
            status="running",
            only_changes=not full,
            counts={"streams": names},
        )
        uow.session.add(run)
        uow.commit()
        return run.id


def _finish(
    sessions: sessionmaker[Session],
    run_id: int,
    result: RunResult,
    *,
    error: str | None = None,
    status: str | None = None,
) -> None:
    with UnitOfWork(sessions) as uow:
        run = uow.session.get(models.SyncRun, run_id)
        if run is None:  # pragma: no cover - the row was committed in _begin
            return
        run.status = status or result.outcome
        run.error = error or result.error
        run.counts = {
            s.stream: {"outcome": s.outcome, **s.counts.as_dict(), **s.details()}
            for s in result.streams
        }
        run.finished_at = datetime.now(UTC)
        uow.commit()


def _audit(
    ctx: PullContext,
    stream: Stream,
    outcome: StreamResult,
    run_uuid: str,
    actor: str,
    duration_ms: int,
) -> None:
    with UnitOfWork(ctx.sessions) as uow:
        audit.append(
            uow.session,
            action="odata.pull",
            outcome=outcome.outcome,
            actor=actor,
            source=stream.entity,
            subject=stream.name,
            run_uuid=run_uuid,
            counts=outcome.counts.as_dict(),
            duration_ms=duration_ms,
            error=outcome.error,
            details=outcome.details(),
        )
        uow.commit()
