"""Order updates from 1C (``type=sale&mode=file``): numbers, posting, status, payment, shipment.

1C sends back the orders it changed as CommerceML ``Документ``s whose ``Ид`` is the shop's order
number (or, for an order pushed over OData, the document's 1C id); see ``_find``. Some carry only requisites (no ``Товары``): those never touch order lines. Every change
of an order's state is a row of ``order_status_history`` (source ``1c-exchange``); a document
that changes nothing adds nothing, so re-sending the same file is a no-op. The whole file is one
transaction: a malformed document leaves every order as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange_formats.records import Order as OrderRecord
from syncd.store.models import Order, OrderStatusChange

SOURCE = "1c-exchange"
_TRUE = {"true", "да", "1", "yes", "истина"}
_FALSE = {"false", "нет", "0", "no", "ложь", ""}


@dataclass(slots=True)
class UpdateCounts:
    updated: int = 0
    unchanged: int = 0
    unknown: list[str] = field(default_factory=list)  # Ид of documents matching no shop order

    def as_dict(self) -> dict[str, int]:
        return {"updated": self.updated, "unchanged": self.unchanged, "unknown": len(self.unknown)}


def apply_updates(
    db: Session, documents: Iterable[OrderRecord], status_map: Mapping[str, str]
) -> UpdateCounts:
    """Apply every document to its shop order. Flushes, the caller commits (or rolls back)."""
    counts = UpdateCounts()
    for document in documents:
        order = _find(db, document)
        if order is None:
            counts.unknown.append(document.onec_id)
            continue
        changes = _changes(order, document, status_map)
        if not changes:
            counts.unchanged += 1
            continue
        _apply(db, order, changes, document)
        counts.updated += 1
    db.flush()
    return counts


def _find(db: Session, document: OrderRecord) -> Order | None:
    """The order a document is about, by one rule at a time, each on a unique column: the
    document's Ид as the 1C id recorded for an order, then as the site's number (the Ид this
    side sent); the document's Номер only when it has no Ид (1C's Номер is its own numbering and
    may equal a number a shop chose for another order)."""
    if document.onec_id:
        for column in (Order.onec_id, Order.number):
            found = db.scalars(select(Order).where(column == document.onec_id)).first()
            if found is not None:
                return found
        return None
    if document.number:
        return db.scalars(select(Order).where(Order.number == document.number)).first()
    return None


def _changes(
    order: Order, document: OrderRecord, status_map: Mapping[str, str]
) -> dict[str, tuple[Any, Any]]:
    """field -> (old, new) for what the document changes."""
    req = {r.name.strip().lower(): r.value.strip() for r in document.requisites}
    wanted: dict[str, Any] = {}
    number_1c = document.number_1c or req.get("номер по 1с")
    if number_1c:
        wanted["onec_number"] = number_1c
    if document.date_1c is not None:
        wanted["onec_date"] = document.date_1c
    _flag(wanted, "posted", req.get("проведен"))
    _flag(wanted, "paid", req.get("оплачен"), req.get("заказ оплачен"))
    if req.get("номер оплаты по 1с"):
        wanted["paid"] = True
    _flag(wanted, "shipped", req.get("отгружен"))
    if req.get("номер отгрузки по 1с"):
        wanted["shipped"] = True
    deleted = (
        document.deleted if document.deleted is not None else _bool(req.get("пометкаудаления"))
    )
    if deleted is not None:
        wanted["is_deleted"] = deleted
    status = _status(req, status_map)
    if status is not None:
        wanted["status"] = status
    return {
        name: (getattr(order, name), value)
        for name, value in wanted.items()
        if not _same(getattr(order, name), value)
    }


def _status(req: Mapping[str, str], status_map: Mapping[str, str]) -> str | None:
    if _bool(req.get("отменен")):
        return status_map.get("Отменен", "cancelled")
    for key in ("статус заказа", "статуса заказа ид"):
        value = req.get(key)
        if value:
            return status_map.get(value, value)[:64]
    return None


def _apply(
    db: Session, order: Order, changes: dict[str, tuple[Any, Any]], document: OrderRecord
) -> None:
    for name, (_old, new) in changes.items():
        setattr(order, name, new)
    order.updated_at = datetime.now(UTC)
    db.add(
        OrderStatusChange(
            order_id=order.id,
            status=order.status,
            source=SOURCE,
            note="1C: " + ", ".join(_describe(name, new) for name, (_, new) in changes.items()),
            details={
                "changes": {
                    name: [_plain(old), _plain(new)] for name, (old, new) in changes.items()
                },
                "document": {"onec_id": document.onec_id, "number_1c": document.number_1c},
            },
        )
    )


def _flag(wanted: dict[str, Any], name: str, *values: str | None) -> None:
    for value in values:
        parsed = _bool(value)
        if parsed is not None:
            wanted[name] = parsed
            return


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        old = old if old.tzinfo else old.replace(tzinfo=UTC)
    same: bool = old == new
    return same


def _describe(name: str, value: Any) -> str:
    labels = {
        "onec_number": "number",
        "onec_date": "date",
        "is_deleted": "deleted",
    }
    return f"{labels.get(name, name)}={_plain(value)}"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
