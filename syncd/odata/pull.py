"""Pulling one stream from 1C into the catalog tables, resumably.

Catalog streams (``CatalogStream``):

* **full** (first pull, ``--full``, or resuming an interrupted full pull): page through the
  entity set (``$orderby=Ref_Key``, ``$top``/``$skip``); each page commits with its records, its
  DataVersions and the cursor ``{"mode": "full", "skip": N}``, so a crash between a page's fetch
  and its commit resumes at the last committed page.
* **incremental**: scan ``Ref_Key,DataVersion`` (cheap), diff against the stored versions, fetch
  only the new and changed objects by ``Ref_Key``; each batch commits with its versions. Objects
  missing from the scan are looked up once more; those 1C no longer has are soft-deleted. When so
  much changed that fetching by ``Ref_Key`` takes more requests than reading every page, the
  pull reads it whole instead.

Snapshot streams (``SnapshotStream``: prices, stock) read the virtual table whole and write it in
batches; the writer skips unchanged prices and stock, and stock that vanished from the snapshot
(1C's ``Balance`` omits zero rows) is written as zero. Prices are the slice at the moment of
the pull (``SliceLast(Period=…)`` in 1C's time): a price 1C holds for a later date is not served
until a pull after that date reads it (schedule ``odata_prices`` as often as such a price must
show up on time). Prices without a currency of their own take their price type's. An offer the
snapshot names that the catalog lacks is made first: a product's own offer from the stored
product, a variant from its characteristic (read by ``Ref_Key``).

A rejected row (a ``FormatError``) is counted, kept in the quarantine folder and retried on the
next pull (its version is not stored). Nothing here catches ``ODataError``: the caller decides.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from exchange_formats.errors import FormatError
from exchange_formats.odata import catalog, registers, values
from exchange_formats.records import OfferPrices, OfferStock, Record
from syncd.importer.checkpoints import read_checkpoint, save_checkpoint, write_stream_batch
from syncd.importer.writer import Counts, WriteOptions
from syncd.odata import query, state
from syncd.odata.client import ODataClient, Row
from syncd.odata.errors import RequestRejected
from syncd.odata.streams import CatalogStream, SnapshotStream
from syncd.store import changes
from syncd.store.unit_of_work import UnitOfWork

log = logging.getLogger("syncd.odata")
ShouldStop = Callable[[], bool]
_ORDER = "Ref_Key"


@dataclass
class StreamResult:
    """What one stream's pull did.

    ``outcome``: succeeded | unchanged | failed | interrupted | skipped (an earlier failure
    showed that 1C cannot serve it now).
    """

    stream: str
    mode: str = ""  # full | incremental | snapshot
    counts: Counts = field(default_factory=Counts)
    scanned: int = 0  # objects listed by a DataVersion scan
    fetched: int = 0  # full rows read from 1C
    outcome: str = "succeeded"
    error: str | None = None
    error_kind: type[Exception] | None = None  # the class of ``error``

    def details(self) -> dict[str, Any]:
        return {"mode": self.mode, "scanned": self.scanned, "fetched": self.fetched}


@dataclass(frozen=True, slots=True, kw_only=True)
class PullContext:
    client: ODataClient
    sessions: sessionmaker[Session]
    options: WriteOptions
    batch_size: int  # records per transaction (snapshots)
    quarantine_dir: Path
    should_stop: ShouldStop = lambda: False
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # the moment prices are read at


def pull_catalog(
    ctx: PullContext, stream: CatalogStream, result: StreamResult, *, full: bool
) -> StreamResult:
    """Pull ``stream``: a full pull when asked, first or interrupted; else incremental.

    ``result`` is filled as batches commit, so it stays true when an error ends the pull.
    """
    with UnitOfWork(ctx.sessions) as uow:
        cursor = read_checkpoint(uow.session, stream.name) or {}
        known = state.has_versions(uow.session, stream.name)
    if full or cursor.get("mode") == "full" or not (cursor or known):
        resume = 0 if full else int(cursor.get("skip", 0)) if cursor.get("mode") == "full" else 0
        started = cursor.get("started_at") if resume else None
        return _full(ctx, stream, result, start=resume, started=started)
    return _incremental(ctx, stream, result)


def pull_snapshot(ctx: PullContext, stream: SnapshotStream, result: StreamResult) -> StreamResult:
    """Read every call of the virtual table, then write the snapshot in batches."""
    result.mode = "snapshot"
    rows: list[Row] = []
    select = [("$select", ",".join(stream.select))]
    timeout = ctx.client.settings.snapshot_timeout_seconds
    period = query.datetime_literal(ctx.clock(), ZoneInfo(ctx.client.settings.timezone))
    for resource in stream.resources(period):
        rows.extend(ctx.client.rows(resource, select, timeout=timeout))
    result.fetched = len(rows)
    records: list[Record] = list(stream.read(rows))
    with UnitOfWork(ctx.sessions) as uow:
        if stream.kind == "stock":
            records = list(_with_vanished_stock(uow.session, records, stream))
        else:
            currencies = state.price_type_currencies(uow.session)
            records = list(registers.with_type_currencies(records, currencies))  # type: ignore[arg-type]
        lacking = state.lacking_offers(uow.session, _named_offers(records))
        made: list[Record] = list(
            state.own_offers(uow.session, [o for o in lacking if "#" not in o])
        )
    made += _variant_offers(ctx, stream, lacking)
    records = made + records
    taken_at = _now()
    for start in range(0, max(len(records), 1), ctx.batch_size):
        chunk = records[start : start + ctx.batch_size]
        cursor = {
            "mode": "snapshot",
            "taken_at": taken_at,
            "written": start + len(chunk),
            "of": len(records),
        }
        with UnitOfWork(ctx.sessions) as uow:
            result.counts.merge(
                write_stream_batch(uow.session, stream.name, chunk, cursor, ctx.options)
            )
            uow.commit()
        if ctx.should_stop() and start + ctx.batch_size < len(records):
            result.outcome = "interrupted"
            break
    return _settle(result)


# --- catalog streams ----------------------------------------------------------------------


def _full(
    ctx: PullContext,
    stream: CatalogStream,
    result: StreamResult,
    *,
    start: int,
    started: str | None,
) -> StreamResult:
    result.mode = "full"
    started = started or _now()
    if start:
        log.info("%s: resuming an interrupted full pull at $skip=%d", stream.name, start)
    pages = ctx.client.pages(
        stream.entity, select=stream.select, orderby=_ORDER, filter=stream.filter, start=start
    )
    for page in pages:
        result.fetched += len(page.rows)
        cursor: dict[str, Any] = (
            {"mode": "incremental", "full_pull_at": started}
            if page.last
            else {"mode": "full", "skip": page.skip + len(page.rows), "started_at": started}
        )
        _write(ctx, stream, page.rows, cursor, result.counts)
        if not page.last and ctx.should_stop():
            result.outcome = "interrupted"
            break
    return _settle(result)


def _incremental(ctx: PullContext, stream: CatalogStream, result: StreamResult) -> StreamResult:
    result.mode = "incremental"
    scanned_at = _now()
    seen = _scan(ctx, stream)
    if seen is None:
        result.outcome = "interrupted"
        return result
    result.scanned = len(seen)
    with UnitOfWork(ctx.sessions) as uow:
        stored = state.stored_versions(uow.session, stream.name)
    changed = [ref for ref, version in seen.items() if ref not in stored or stored[ref] != version]
    vanished = [ref for ref in stored if ref not in seen]
    if _cheaper_in_pages(ctx, len(changed), len(seen)):
        log.info(
            "%s: %d of %d objects changed, reading it whole", stream.name, len(changed), len(seen)
        )
        result.scanned = 0
        return _full(ctx, stream, result, start=0, started=None)
    cursor = {"mode": "incremental", "scanned_at": scanned_at}
    returned: set[str] = set()
    batch: list[Row] = []
    for rows in ctx.client.by_refs(
        stream.entity, changed + vanished, select=stream.select, filter=stream.filter
    ):
        batch.extend(rows)
        returned.update(_ref(row) for row in rows)
        if len(batch) >= ctx.client.settings.page_size:
            result.fetched += len(batch)
            _write(ctx, stream, batch, cursor, result.counts)
            batch = []
            if ctx.should_stop():
                result.outcome = "interrupted"
                return _settle(result)
    if batch:
        result.fetched += len(batch)
        _write(ctx, stream, batch, cursor, result.counts)
    gone = [ref for ref in vanished if ref not in returned]
    if gone:
        with UnitOfWork(ctx.sessions) as uow:
            hidden = state.forget_and_mark_deleted(uow.session, stream.name, gone, stream.table)
            log_deleted(ctx, uow.session, stream, hidden)
            save_checkpoint(uow.session, stream.name, cursor)
            uow.commit()
        result.counts.add(stream.table.name, "deleted", len(hidden))
        if hidden and ctx.options.notifier is not None:
            ctx.options.notifier.committed([stream.table.name])
        log.info("%s: %d object(s) no longer in 1C, %d hidden", stream.name, len(gone), len(hidden))
    return _settle(result)


def log_deleted(
    ctx: PullContext, session: Session, stream: CatalogStream, onec_ids: list[str]
) -> None:
    """``deleted`` events for the rows of a catalog stream that 1C no longer has."""
    kind = _EVENT_KINDS.get(stream.table.name)
    if kind is None or not ctx.options.change_log or not onec_ids:
        return
    found = changes.ChangeSet(ctx.options.run_id)
    found.add_all(kind, onec_ids, "deleted")
    changes.append(session, found)


# Catalog tables whose rows the change feed names, by table.
_EVENT_KINDS = {"products": "product", "offers": "offer", "groups": "group"}


def _cheaper_in_pages(ctx: PullContext, changed: int, total: int) -> bool:
    """Whether reading the whole set page by page takes fewer requests than by Ref_Key.

    (Objects gone from 1C are then found by the next incremental pull.)
    """
    settings = ctx.client.settings
    by_ref = -(-changed // settings.fetch_batch_size)
    pages = -(-total // settings.page_size) + 1
    return by_ref > pages


def _scan(ctx: PullContext, stream: CatalogStream) -> dict[str, str | None] | None:
    """``Ref_Key -> DataVersion`` of every object in the entity set (None: asked to stop)."""
    seen: dict[str, str | None] = {}
    pages = ctx.client.pages(
        stream.entity, select=stream.scan_select, orderby=_ORDER, filter=stream.filter
    )
    for page in pages:
        seen.update((_ref(row), catalog.version(row)) for row in page.rows)
        if not page.last and ctx.should_stop():
            return None
    return seen


def _write(
    ctx: PullContext,
    stream: CatalogStream,
    rows: Sequence[Row],
    cursor: dict[str, Any],
    counts: Counts,
) -> None:
    """Map ``rows`` and commit them with their versions and ``cursor``, in one transaction."""
    records, versions = read_rows(ctx, stream, rows, counts)
    with UnitOfWork(ctx.sessions) as uow:
        counts.merge(write_stream_batch(uow.session, stream.name, records, cursor, ctx.options))
        state.save_versions(uow.session, stream.name, versions)
        uow.commit()


def read_rows(
    ctx: PullContext, stream: CatalogStream, rows: Iterable[Row], counts: Counts
) -> tuple[list[Record], dict[str, tuple[str | None, str | None]]]:
    """Records and ``Ref_Key -> (DataVersion, onec_id)``; rejected rows are set aside.

    The stream's ``expand`` (offers of kind-owned characteristics) adds records for the rows
    accepted, after theirs.
    """
    records: list[Record] = []
    versions: dict[str, tuple[str | None, str | None]] = {}
    accepted: list[Row] = []
    for row in rows:
        try:
            made = list(stream.read([row]))
        except FormatError as exc:
            counts.add(stream.table.name, "rejected")
            if len(counts.problems) < 20:
                counts.problems.append(str(exc))
            _quarantine(ctx.quarantine_dir, stream, row, str(exc))
            continue
        records.extend(made)
        accepted.append(row)
        versions[_ref(row)] = (catalog.version(row), made[0].onec_id if made else None)  # type: ignore[union-attr]
    if stream.expand is not None and accepted:
        records.extend(stream.expand(ctx.client, accepted))
    return records, versions


# --- offers a snapshot names ----------------------------------------------------------------


def _named_offers(records: Iterable[Record]) -> dict[str, str]:
    """``offer -> product`` of every price or stock record."""
    return {
        item.offer_onec_id: item.product_onec_id
        for item in records
        if isinstance(item, (OfferPrices, OfferStock))
    }


def _variant_offers(
    ctx: PullContext, stream: SnapshotStream, lacking: dict[str, str]
) -> list[Record]:
    """Offers ``<product>#<characteristic>`` the catalog lacks, from 1C's characteristics."""
    products_of: dict[str, set[str]] = {}
    for offer, product in lacking.items():
        _, mark, characteristic = offer.partition("#")
        if mark and values.is_guid(characteristic):
            products_of.setdefault(characteristic, set()).add(product)
    source = stream.variants
    if not products_of or source is None or source.variants is None:
        return []
    made: list[Record] = []
    try:
        for rows in ctx.client.by_refs(source.entity, sorted(products_of), select=source.select):
            made.extend(source.variants(rows, products_of))
    except RequestRejected as exc:  # characteristics not published: the prices still land
        log.warning("%s: cannot read characteristics for new offers: %s", stream.name, exc)
    return made


# --- stock that left the snapshot -----------------------------------------------------------


def _with_vanished_stock(
    session: Session, records: Iterable[Record], stream: SnapshotStream
) -> Iterable[Record]:
    """The snapshot plus zero levels for stored non-zero stock it no longer lists."""
    snapshot: dict[str, tuple[str, dict[str, Decimal]]] = {}
    for item in records:
        if isinstance(item, OfferStock):
            levels = {level.warehouse_onec_id: level.quantity for level in item.levels}
            snapshot[item.offer_onec_id] = (item.product_onec_id, levels)
    for (offer, warehouse), (product, _) in state.stocked_levels(
        session, stream.warehouses
    ).items():
        _, levels = snapshot.setdefault(offer, (product, {}))
        if warehouse and stream.per_warehouse:
            levels.setdefault(warehouse, Decimal(0))
    return [
        registers.stock_record(offer, product, levels)
        for offer, (product, levels) in snapshot.items()
    ]


# --- helpers -----------------------------------------------------------------------------


def _settle(result: StreamResult) -> StreamResult:
    if result.outcome == "succeeded" and result.counts.written == 0 and not result.counts.rejected:
        result.outcome = "unchanged"
    return result


def _ref(row: Row) -> str:
    return str(values.ref(row.get("Ref_Key")) or "")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _quarantine(directory: Path, stream: CatalogStream, row: Row, reason: str) -> None:
    """Keep a rejected row as 1C sent it, with the reason beside it."""
    folder = directory / "odata"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    name = f"{stamp}_{stream.name}_{_ref(row) or 'row'}.json"
    body = {"entity": stream.entity, "reason": reason, "row": row}
    (folder / name).write_text(
        json.dumps(body, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
