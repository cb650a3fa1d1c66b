"""The order outbox in the database: which orders wait, and what happened to each.

Every function commits its own small transaction (``UnitOfWork``) or works in the caller's
session, as its signature says; ``syncd.odata.orders`` decides when.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from config import ODataSettings
from exchange_formats.odata.orders import CreatedDocument
from exchange_formats.records import Contractor, Order, OrderLine
from syncd.store import audit, changes, models
from syncd.store.order_notes import comment_with_override_note
from syncd.store.unit_of_work import UnitOfWork

RUN_STREAM = "odata-orders"
SOURCE = "1c-odata"
WAITING = ("pending", "creating", "created")
_DEFER_MAX = timedelta(hours=1)


def enqueue_new(session: Session, *, retry_failed: bool) -> int:
    """Outbox rows (in the caller's session) for orders never sent anywhere; failed rows back in line if asked."""
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


def due(sessions: sessionmaker[Session]) -> list[int]:
    """Ids of the outbox rows to work on now, oldest first."""
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


def load(
    session: Session, outbox_id: int, *, lines: bool = False
) -> tuple[models.OrderOutbox, models.Order]:
    """The outbox row and its order (with its lines if asked)."""
    outbox = session.get(models.OrderOutbox, outbox_id)
    assert outbox is not None
    stmt = select(models.Order).where(models.Order.id == outbox.order_id)
    if lines:
        stmt = stmt.options(selectinload(models.Order.lines))
    return outbox, session.execute(stmt).scalar_one()


def order_record(order: models.Order) -> Order:
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
        comment=comment_with_override_note(order) or f"Заказ с сайта №{order.number}",
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


def record_created(
    sessions: sessionmaker[Session], outbox_id: int, document: CreatedDocument, *, found: bool
) -> None:
    """1C holds the order's document: remember its Ref_Key and number on the order."""
    now = datetime.now(UTC)
    with UnitOfWork(sessions) as uow:
        outbox, order = load(uow.session, outbox_id)
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
        history(
            uow.session, order, event, note, onec_id=document.onec_id, onec_number=document.number
        )
        uow.commit()


def record_posted(sessions: sessionmaker[Session], outbox_id: int) -> None:
    now = datetime.now(UTC)
    with UnitOfWork(sessions) as uow:
        outbox, order = load(uow.session, outbox_id)
        outbox.state, outbox.updated_at = "posted", now
        order.posted, order.updated_at = True, now
        history(uow.session, order, "posted", "Проведён в 1С", onec_id=order.onec_id)
        uow.commit()


def fail(session: Session, outbox: models.OrderOutbox, order: models.Order, message: str) -> None:
    """1C refused the order (or it cannot be sent): a person must act. Caller's session."""
    now = datetime.now(UTC)
    outbox.state, outbox.last_error, outbox.updated_at = "failed", message, now
    outbox.attempts += 1
    history(session, order, "failed", f"1С не принял заказ: {message}")
    audit.append(
        session,
        action="odata.order",
        outcome="failed",
        source=SOURCE,
        subject=order.number,
        error=message,
        details={"onec_id": order.onec_id},
    )


def defer(
    sessions: sessionmaker[Session], outbox_id: int, message: str, *, step_seconds: float
) -> None:
    """1C was unavailable: try this row again after ``step_seconds`` x attempts (at most 1 h)."""
    with UnitOfWork(sessions) as uow:
        outbox = uow.session.get(models.OrderOutbox, outbox_id)
        assert outbox is not None
        outbox.attempts += 1
        wait = timedelta(seconds=step_seconds * outbox.attempts)
        now = datetime.now(UTC)
        outbox.last_error, outbox.updated_at = message, now
        outbox.next_attempt_at = now + min(wait, _DEFER_MAX)
        uow.commit()


def history(session: Session, order: models.Order, event: str, note: str, **details: Any) -> None:
    session.add(
        models.OrderStatusChange(
            order_id=order.id,
            status=order.status,
            source=SOURCE,
            note=note,
            details={"event": event, **{k: v for k, v in details.items() if v is not None}},
        )
    )
    found = changes.ChangeSet()
    found.add("order", order.number, "status", {"status": order.status, "event": event})
    changes.append(session, found)


def record_run(
    sessions: sessionmaker[Session],
    *,
    run_uuid: str,
    status: str,
    counts: dict[str, int],
    errors: list[str],
    actor: str,
    duration_ms: int,
    settings: ODataSettings,
) -> None:
    """The push run's ``sync_runs`` row and audit entry."""
    now = datetime.now(UTC)
    with UnitOfWork(sessions) as uow:
        uow.session.add(
            models.SyncRun(
                run_uuid=run_uuid,
                stream=RUN_STREAM,
                source=settings.url,
                actor=actor,
                status=status,
                counts=counts,
                error="; ".join(errors[:5]) or None,
                started_at=now - timedelta(milliseconds=duration_ms),
                finished_at=now,
            )
        )
        audit.append(
            uow.session,
            action="odata.push",
            outcome=status,
            actor=actor,
            source=settings.order_entity,
            subject="orders",
            run_uuid=run_uuid,
            counts=counts,
            duration_ms=duration_ms,
            error="; ".join(errors[:5]) or None,
        )
        uow.commit()


def mark_creating(sessions: sessionmaker[Session], outbox_id: int) -> None:
    """Committed before a create is sent: the create may land even if its answer never does."""
    with UnitOfWork(sessions) as uow:
        outbox = uow.session.get(models.OrderOutbox, outbox_id)
        assert outbox is not None
        outbox.state, outbox.updated_at = "creating", datetime.now(UTC)
        uow.commit()
