"""``push_orders``: the shop's orders become 1C documents, exactly once in effect.

Each order to send has an ``order_outbox`` row that walks::

    pending -> creating -> created -> posted          (failed: a person must act)

* Before creating, the document is looked up in 1C by the site's number (``НомерПоДаннымКлиента``
  in УТ 11, ``odata.order_fields.number``). ``creating`` is committed before the POST, and every
  retry of a create starts with that lookup again: a create whose answer was lost (timeout, 5xx)
  is found instead of made twice. 1C offers no idempotency key; this is the substitute.
* Posting is a separate step, retried only after re-reading ``Posted``.
* 1C's ``Ref_Key`` and number are recorded on ``orders`` (``onec_id``, ``onec_number``) with a
  status-history row, and the order is marked exported so the exchange protocol does not send it
  again.
* 1C refusing the data (its checks, posting) fails the row with 1C's message; 1C unavailable
  (after the retry policy) defers it to a later run and ends this one.
* After the push, the run reads 1C's state of the orders sent (posted, status, paid, shipped,
  deleted) and applies it as the sale exchange does: ``syncd.odata.order_states``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import ODataSettings, Settings
from exchange_formats.errors import FormatError
from exchange_formats.odata import orders as format_orders
from exchange_formats.odata.orders import CreatedDocument
from syncd.odata import order_states, outbox, query
from syncd.odata.client import ODataClient
from syncd.odata.errors import BusinessError, ODataError, Unavailable
from syncd.odata.retry import Stopped
from syncd.store import models
from syncd.store.engine import make_session_factory
from syncd.store.locks import named_lock
from syncd.store.unit_of_work import UnitOfWork

log = logging.getLogger("syncd.odata")
LOCK_NAME = "odata-orders"


@dataclass
class PushResult:
    """A push run. ``outcome``: succeeded | failed (some orders need a person) | deferred (1C
    unavailable, the rest waits) | interrupted."""

    run_uuid: str
    outcome: str = "succeeded"
    created: int = 0  # documents created in 1C
    found: int = 0  # documents already in 1C (an earlier create whose answer was lost)
    posted: int = 0
    failed: int = 0
    deferred: int = 0
    updated: int = 0  # orders whose state 1C's documents changed
    refused: int = 0  # documents not applied: they name an order ambiguously
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == "succeeded"

    def counts(self) -> dict[str, int]:
        names = ("created", "found", "posted", "failed", "deferred", "updated", "refused")
        return {k: getattr(self, k) for k in names}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    client: ODataClient
    sessions: sessionmaker[Session]
    settings: ODataSettings
    zone: ZoneInfo


def push_orders(
    settings: Settings,
    engine: Engine,
    should_stop: Callable[[], bool] | None = None,
    *,
    retry_failed: bool = False,
    actor: str = "cli",
    transport: httpx.BaseTransport | None = None,
) -> PushResult:
    """Send every due order to 1C (see the module docstring). ``retry_failed`` gives failed
    rows another go (after a person fixed the cause). Raises ``LockBusy`` when a push runs."""
    stop = should_stop or (lambda: False)
    with named_lock(engine, LOCK_NAME, wait=False):
        sessions = make_session_factory(
            engine, change_log=settings.changes.enabled, changes_redis_url=settings.redis.url
        )
        result = PushResult(run_uuid=str(uuid.uuid4()))
        started = time.monotonic()
        with UnitOfWork(sessions) as uow:
            queued = outbox.enqueue_new(uow.session, retry_failed=retry_failed)
            uow.commit()
        with ODataClient(settings.odata, transport=transport, should_stop=stop) as client:
            ctx = _Context(
                client=client,
                sessions=sessions,
                settings=settings.odata,
                zone=ZoneInfo(settings.odata.timezone),
            )
            _push_due(ctx, result, stop)
            if result.outcome == "succeeded":
                _read_states(ctx, settings, result, actor)
        if result.outcome == "succeeded" and result.failed:
            result.outcome = "failed"
        outbox.record_run(
            sessions,
            run_uuid=result.run_uuid,
            status=result.outcome,
            counts={**result.counts(), "queued": queued},
            errors=result.errors,
            actor=actor,
            duration_ms=int((time.monotonic() - started) * 1000),
            settings=settings.odata,
        )
        return result


def _push_due(ctx: _Context, result: PushResult, stop: Callable[[], bool]) -> None:
    for outbox_id in outbox.due(ctx.sessions):
        if stop():
            result.outcome = "interrupted"
            return
        try:
            _push_one(ctx, outbox_id, result)
        except (Unavailable, Stopped) as exc:
            result.deferred += 1
            outbox.defer(
                ctx.sessions, outbox_id, str(exc), step_seconds=ctx.settings.backoff_max_seconds
            )
            result.outcome = "interrupted" if isinstance(exc, Stopped) else "deferred"
            result.errors.append(f"1C unavailable, the rest waits for the next run: {exc}")
            return


def _push_one(ctx: _Context, outbox_id: int, result: PushResult) -> None:
    with UnitOfWork(ctx.sessions) as uow:
        row, order = outbox.load(uow.session, outbox_id, lines=True)
        state, ref, number = row.state, row.onec_ref_key, order.number
        try:
            body = _document(ctx, order)
        except FormatError as exc:
            outbox.fail(uow.session, row, order, str(exc))
            uow.commit()
            result.failed += 1
            result.errors.append(f"order {number}: {exc}")
            return
    try:
        if state in ("pending", "creating") or ref is None:
            document, found = ctx.client.retrying(
                lambda: _ensure_created(ctx, outbox_id, number, body)
            )
            outbox.record_created(ctx.sessions, outbox_id, document, found=found)
            result.found += found
            result.created += not found
            ref, known_posted = document.onec_id, document.posted
        else:
            known_posted = None
        if ctx.settings.post_orders:
            first = [known_posted]
            ctx.client.retrying(lambda: _ensure_posted(ctx, ref, first))
            outbox.record_posted(ctx.sessions, outbox_id)
            result.posted += 1
    except Unavailable:
        raise
    except ODataError as exc:
        with UnitOfWork(ctx.sessions) as uow:
            row, order = outbox.load(uow.session, outbox_id)
            outbox.fail(uow.session, row, order, exc.message)
            uow.commit()
        result.failed += 1
        result.errors.append(f"order {number}: {exc}")
        log.error("order %s not accepted by 1C: %s", number, exc)


def _read_states(ctx: _Context, settings: Settings, result: PushResult, actor: str) -> None:
    try:
        states = order_states.read_states(ctx.client, ctx.sessions, settings, actor=actor)
    except (Unavailable, Stopped) as exc:
        result.outcome = "interrupted" if isinstance(exc, Stopped) else "deferred"
        result.errors.append(f"1C's order documents not read, 1C unavailable: {exc}")
        return
    except ODataError as exc:
        result.outcome = "failed"
        result.errors.append(f"1C's order documents not read: {exc}")
        return
    result.updated, result.refused = states.updated, len(states.refused)


# --- the two idempotent units --------------------------------------------------------------


def _ensure_created(
    ctx: _Context, outbox_id: int, number: str, body: dict[str, Any]
) -> tuple[CreatedDocument, bool]:
    """The order's document in 1C: found by the site's number, else created. ``(doc, found)``."""
    existing = _lookup(ctx, number)
    if existing is not None:
        return existing, True
    outbox.mark_creating(ctx.sessions, outbox_id)
    created = ctx.client.create(ctx.settings.order_entity, body)
    entity = dict(created.entity)
    if not entity.get("Ref_Key") and created.location:
        match = re.search(r"guid'([0-9a-fA-F-]{36})'", created.location)
        entity["Ref_Key"] = match.group(1) if match else None
    try:
        return format_orders.created_document(entity, ctx.zone), False
    except FormatError as exc:  # created, but unnamed: the retried unit's lookup will find it
        raise Unavailable(f"1C's answer to the create names no document ({exc})") from exc


def _lookup(ctx: _Context, number: str) -> CreatedDocument | None:
    field_name = ctx.settings.fields("order")["number"]  # never empty: see ODataSettings
    rows = ctx.client.rows(
        ctx.settings.order_entity,
        [
            ("$select", "Ref_Key,Number,Date,Posted,DeletionMark"),
            ("$filter", f"{field_name} eq {query.string(number)} and DeletionMark eq false"),
            ("$top", "2"),
        ],
        retry=False,  # the whole lookup-then-create unit is what retries
    )
    if len(rows) > 1:
        raise BusinessError(
            f"1C holds more than one {ctx.settings.order_entity} with {field_name} = {number!r}; "
            "leave one (mark the others for deletion) and push again"
        )
    return format_orders.created_document(rows[0], ctx.zone) if rows else None


def _ensure_posted(ctx: _Context, ref: str, known: list[bool | None]) -> None:
    """Post the document unless it is posted. A retry re-reads ``Posted`` before posting again."""
    resource = f"{ctx.settings.order_entity}({query.guid(ref)})"
    posted = known[0]
    known[0] = None  # only the first attempt may trust what the create said
    if posted is None:
        document = ctx.client.get(resource, [("$select", "Ref_Key,Posted")], retry=False)
        posted = bool(document.get("Posted"))
    if posted:
        return
    mode = "true" if ctx.settings.post_operational else "false"
    ctx.client.action(f"{resource}/Post", [("PostingModeOperational", mode)])


# --- database side ---------------------------------------------------------------------------


def _document(ctx: _Context, order: models.Order) -> dict[str, Any]:
    settings = ctx.settings
    return format_orders.order_document(
        outbox.order_record(order),
        fields=settings.fields("order"),
        line_fields=settings.fields("order_lines"),
        constants=settings.order_constants,
        line_constants=settings.order_line_constants,
        zone=ctx.zone,
        source=f"order {order.number}",
    )
