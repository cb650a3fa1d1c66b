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
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from config import ODataSettings, Settings
from exchange_formats.errors import FormatError
from exchange_formats.odata import orders as format_orders
from exchange_formats.odata.orders import CreatedDocument
from exchange_formats.records import Contractor, Order, OrderLine
from syncd import audit, models
from syncd.db import make_session_factory
from syncd.locks import named_lock
from syncd.odata import query
from syncd.odata.client import ODataClient
from syncd.odata.errors import BusinessError, ODataError, Unavailable
from syncd.odata.retry import Stopped
from syncd.unit_of_work import UnitOfWork

log = logging.getLogger("syncd.odata")
LOCK_NAME = "odata-orders"
RUN_STREAM = "odata-orders"
SOURCE = "1c-odata"
WAITING = ("pending", "creating", "created")
_DEFER_MAX = timedelta(hours=1)


@dataclass
class PushResult:
    """A push run. ``status``: succeeded | failed (some orders need a person) | deferred (1C
    unavailable, the rest waits) | stopped."""

    run_uuid: str
    status: str = "succeeded"
    created: int = 0  # documents created in 1C
    found: int = 0  # documents already in 1C (an earlier create whose answer was lost)
    posted: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("created", "found", "posted", "failed", "deferred")}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    client: ODataClient
    sessions: sessionmaker[Session]
    settings: ODataSettings
    zone: ZoneInfo


def enqueue_order(session: Session, order_id: int) -> None:
    """Queue one order for ``push_orders`` in the caller's transaction (idempotent)."""
    if session.execute(
        select(models.OrderOutbox.id).where(models.OrderOutbox.order_id == order_id)
    ).first():
        return
    session.add(models.OrderOutbox(order_id=order_id, state="pending"))
    session.flush()


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
        sessions = make_session_factory(engine)
        result = PushResult(run_uuid=str(uuid.uuid4()))
        started = time.monotonic()
        with UnitOfWork(sessions) as uow:
            queued = _enqueue_new(uow.session, retry_failed=retry_failed)
            uow.commit()
        with ODataClient(settings.odata, transport=transport, should_stop=stop) as client:
            ctx = _Context(
                client=client,
                sessions=sessions,
                settings=settings.odata,
                zone=ZoneInfo(settings.odata.timezone),
            )
            _push_due(ctx, result, stop)
        _record_run(
            sessions, result, actor, queued, int((time.monotonic() - started) * 1000), settings
        )
        return result


def _push_due(ctx: _Context, result: PushResult, stop: Callable[[], bool]) -> None:
    for outbox_id in _due(ctx.sessions):
        if stop():
            result.status = "stopped"
            return
        try:
            _push_one(ctx, outbox_id, result)
        except (Unavailable, Stopped) as exc:
            result.deferred += 1
            _defer(ctx, outbox_id, str(exc))
            result.status = "stopped" if isinstance(exc, Stopped) else "deferred"
            result.errors.append(f"1C unavailable, the rest waits for the next run: {exc}")
            return


def _push_one(ctx: _Context, outbox_id: int, result: PushResult) -> None:
    with UnitOfWork(ctx.sessions) as uow:
        outbox, order = _load(uow.session, outbox_id, lines=True)
        state, ref, number = outbox.state, outbox.onec_ref_key, order.number
        try:
            body = _document(ctx, order)
        except FormatError as exc:
            _fail(uow.session, outbox, order, str(exc))
            uow.commit()
            result.failed += 1
            result.errors.append(f"order {number}: {exc}")
            return
    try:
        if state in ("pending", "creating") or ref is None:
            document, found = ctx.client.retrying(
                lambda: _ensure_created(ctx, outbox_id, number, body)
            )
            _record_created(ctx, outbox_id, document, found)
            result.found += found
            result.created += not found
            ref, known_posted = document.onec_id, document.posted
        else:
            known_posted = None
        if ctx.settings.post_orders:
            first = [known_posted]
            ctx.client.retrying(lambda: _ensure_posted(ctx, ref, first))
            _record_posted(ctx, outbox_id)
            result.posted += 1
    except Unavailable:
        raise
    except ODataError as exc:
        with UnitOfWork(ctx.sessions) as uow:
            outbox, order = _load(uow.session, outbox_id)
            _fail(uow.session, outbox, order, exc.message)
            uow.commit()
        result.failed += 1
        result.errors.append(f"order {number}: {exc}")
        log.error("order %s not accepted by 1C: %s", number, exc)


# --- the two idempotent units --------------------------------------------------------------


def _ensure_created(
    ctx: _Context, outbox_id: int, number: str, body: dict[str, Any]
) -> tuple[CreatedDocument, bool]:
    """The order's document in 1C: found by the site's number, else created. ``(doc, found)``."""
    existing = _lookup(ctx, number)
    if existing is not None:
        return existing, True
    with UnitOfWork(ctx.sessions) as uow:  # on record before the POST that may or may not land
        uow.session.execute(
            update(models.OrderOutbox)
            .where(models.OrderOutbox.id == outbox_id)
            .values(state="creating", updated_at=datetime.now(UTC))
        )
        uow.commit()
    created = ctx.client.create(ctx.settings.order_entity, body)
    entity = dict(created.entity)
    if not entity.get("Ref_Key") and created.location:
        match = re.search(r"guid'([0-9a-fA-F-]{36})'", created.location)
        entity["Ref_Key"] = match.group(1) if match else None
    return format_orders.created_document(entity, ctx.zone), False


def _lookup(ctx: _Context, number: str) -> CreatedDocument | None:
    field_name = ctx.settings.fields("order").get("number") or "Number"
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


def _enqueue_new(session: Session, *, retry_failed: bool) -> int:
    """Outbox rows for orders never sent anywhere; failed rows back in line if asked."""
    has_row = select(models.OrderOutbox.order_id)
    new = (
        session.execute(
            select(models.Order.id).where(
                models.Order.export_state == "new",
                models.Order.onec_id.is_(None),
                models.Order.is_deleted.is_(False),
                models.Order.id.not_in(has_row),
            )
        )
        .scalars()
        .all()
    )
    session.add_all(models.OrderOutbox(order_id=order_id, state="pending") for order_id in new)
    if retry_failed:
        now = datetime.now(UTC)
        for outbox in session.execute(
            select(models.OrderOutbox).where(models.OrderOutbox.state == "failed")
        ).scalars():
            outbox.state = "created" if outbox.onec_ref_key else "pending"
            outbox.next_attempt_at, outbox.updated_at = now, now
    session.flush()
    return len(new)


def _due(sessions: sessionmaker[Session]) -> list[int]:
    with UnitOfWork(sessions) as uow:
        stmt = (
            select(models.OrderOutbox.id)
            .where(
                models.OrderOutbox.state.in_(WAITING),
                models.OrderOutbox.next_attempt_at <= datetime.now(UTC),
            )
            .order_by(models.OrderOutbox.id)
        )
        return list(uow.session.execute(stmt).scalars())


def _load(
    session: Session, outbox_id: int, *, lines: bool = False
) -> tuple[models.OrderOutbox, models.Order]:
    outbox = session.get(models.OrderOutbox, outbox_id)
    assert outbox is not None
    stmt = select(models.Order).where(models.Order.id == outbox.order_id)
    if lines:
        stmt = stmt.options(selectinload(models.Order.lines))
    return outbox, session.execute(stmt).scalar_one()


def _document(ctx: _Context, order: models.Order) -> dict[str, Any]:
    settings = ctx.settings
    return format_orders.order_document(
        _record(order),
        fields=settings.fields("order"),
        line_fields=settings.fields("order_lines"),
        constants=settings.order_constants,
        line_constants=settings.order_line_constants,
        zone=ctx.zone,
        source=f"order {order.number}",
    )


def _record(order: models.Order) -> Order:
    """The stored order as the shared record the OData writer takes."""
    customer = order.customer or {}
    contractors: tuple[Contractor, ...] = ()
    if customer.get("onec_id"):
        contractors = (
            Contractor(onec_id=str(customer["onec_id"]), name=str(customer.get("name") or "")),
        )
    created = order.created_at if order.created_at.tzinfo else order.created_at.replace(tzinfo=UTC)
    return Order(
        onec_id=str(order.id),
        number=order.number,
        date=created,
        currency=order.currency,
        total=order.total,
        comment=order.comment or f"Заказ с сайта №{order.number}",
        contractors=contractors,
        lines=tuple(
            OrderLine(
                onec_id=line.offer_onec_id,
                name=line.name,
                quantity=line.quantity,
                price=line.price,
                total=line.total,
                sku=line.sku,
            )
            for line in order.lines
        ),
    )


def _record_created(ctx: _Context, outbox_id: int, document: CreatedDocument, found: bool) -> None:
    now = datetime.now(UTC)
    with UnitOfWork(ctx.sessions) as uow:
        outbox, order = _load(uow.session, outbox_id)
        outbox.state, outbox.onec_ref_key, outbox.last_error = "created", document.onec_id, None
        outbox.attempts += 1
        outbox.updated_at = now
        order.onec_id, order.onec_number, order.onec_date = (
            document.onec_id,
            document.number,
            document.date,
        )
        order.export_state, order.exported_at, order.updated_at = "exported", now, now
        event = "found" if found else "created"
        note = f"{'Найден' if found else 'Создан'} в 1С: {document.number or document.onec_id}"
        _history(
            uow.session, order, event, note, onec_id=document.onec_id, onec_number=document.number
        )
        uow.commit()


def _record_posted(ctx: _Context, outbox_id: int) -> None:
    now = datetime.now(UTC)
    with UnitOfWork(ctx.sessions) as uow:
        outbox, order = _load(uow.session, outbox_id)
        outbox.state, outbox.updated_at = "posted", now
        order.posted, order.updated_at = True, now
        _history(uow.session, order, "posted", "Проведён в 1С", onec_id=order.onec_id)
        uow.commit()


def _fail(session: Session, outbox: models.OrderOutbox, order: models.Order, message: str) -> None:
    now = datetime.now(UTC)
    outbox.state, outbox.last_error, outbox.updated_at = "failed", message, now
    outbox.attempts += 1
    _history(session, order, "failed", f"1С не принял заказ: {message}")
    audit.append(
        session,
        action="odata.order",
        outcome="failed",
        source=SOURCE,
        subject=order.number,
        error=message,
        details={"onec_id": order.onec_id},
    )


def _defer(ctx: _Context, outbox_id: int, message: str) -> None:
    with UnitOfWork(ctx.sessions) as uow:
        outbox = uow.session.get(models.OrderOutbox, outbox_id)
        assert outbox is not None
        outbox.attempts += 1
        wait = timedelta(seconds=ctx.settings.backoff_max_seconds * outbox.attempts)
        now = datetime.now(UTC)
        outbox.last_error, outbox.updated_at = message, now
        outbox.next_attempt_at = now + min(wait, _DEFER_MAX)
        uow.commit()


def _history(session: Session, order: models.Order, event: str, note: str, **details: Any) -> None:
    session.add(
        models.OrderStatusChange(
            order_id=order.id,
            status=order.status,
            source=SOURCE,
            note=note,
            details={"event": event, **{k: v for k, v in details.items() if v is not None}},
        )
    )


def _record_run(
    sessions: sessionmaker[Session],
    result: PushResult,
    actor: str,
    queued: int,
    duration_ms: int,
    settings: Settings,
) -> None:
    if result.status == "succeeded" and result.failed:
        result.status = "failed"
    counts = {**result.counts(), "queued": queued}
    now = datetime.now(UTC)
    with UnitOfWork(sessions) as uow:
        uow.session.add(
            models.SyncRun(
                run_uuid=result.run_uuid,
                stream=RUN_STREAM,
                source=settings.odata.url,
                actor=actor,
                status=result.status,
                counts=counts,
                error="; ".join(result.errors[:5]) or None,
                started_at=now - timedelta(milliseconds=duration_ms),
                finished_at=now,
            )
        )
        audit.append(
            uow.session,
            action="odata.push",
            outcome=result.status,
            actor=actor,
            source=settings.odata.order_entity,
            subject="orders",
            run_uuid=result.run_uuid,
            counts=counts,
            duration_ms=duration_ms,
            error="; ".join(result.errors[:5]) or None,
        )
        uow.commit()
