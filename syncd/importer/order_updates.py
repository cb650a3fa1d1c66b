"""Order updates from 1C: numbers, posting, status, payment, shipment.

The same documents arrive through every door - the sale exchange (``type=sale&mode=file``), the
folder inbox and ``onec-sync import`` - and are applied here, the same way.

1C sends back the orders it changed as CommerceML ``Документ``s whose ``Ид`` is the shop's order
number (or, for an order pushed over OData, the document's 1C id; see ``_find``). Some carry only
requisites (no ``Товары``): those never touch order lines; those with goods lines replace the
order's lines and total when they differ (``order_lines``). Every change
of an order's state is a row of ``order_status_history`` (source ``1c-exchange``); a document
that changes nothing adds nothing, so re-sending the same file is a no-op. The whole file is one
transaction: a malformed document leaves every order as it was. Each changed order is also one
``order`` event of the change feed (action ``status``: the fields that changed, with the order's
status), appended in that transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange_formats.records import Order as OrderRecord
from syncd.importer import order_lines
from syncd.store import changes as change_log
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
    db: Session,
    documents: Iterable[OrderRecord],
    status_map: Mapping[str, str],
    *,
    source: str = SOURCE,
) -> UpdateCounts:
    """Apply every document to its shop order; ``source`` names the door in the history rows
    (the sale exchange, a folder or ``onec-sync import``). Flushes, the caller commits (or rolls
    back)."""
    counts = UpdateCounts()
    matched = []
    for document in documents:
        order = _find(db, document)
        if order is None:
            counts.unknown.append(document.onec_id)
        else:
            matched.append((order, document))
    apply_matched(db, matched, status_map, source=source, counts=counts)
    return counts


def apply_matched(
    db: Session,
    matched: Iterable[tuple[Order, OrderRecord]],
    status_map: Mapping[str, str],
    *,
    source: str,
    bind: bool = False,
    counts: UpdateCounts | None = None,
) -> UpdateCounts:
    """Apply each document to the order the caller matched it with, as ``apply_updates`` does
    (history rows, ``order`` events). ``bind`` records the document's Ид as the order's 1C id
    (a change like the others) for orders that have none. Flushes; the caller commits."""
    counts = counts if counts is not None else UpdateCounts()
    events = change_log.ChangeSet()
    for order, document in matched:
        changes = _changes(order, document, status_map)
        if bind and order.onec_id is None:
            changes["onec_id"] = (None, document.onec_id)
        if not changes:
            counts.unchanged += 1
            continue
        _apply(db, order, changes, document, source)
        events.add("order", order.number, "status", _event_data(order, changes))
        counts.updated += 1
    db.flush()
    change_log.append(db, events)
    return counts


def _event_data(order: Order, changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    return {"status": order.status, "changes": {n: _plain(new) for n, (_, new) in changes.items()}}


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
        # In UTC: SQLite keeps a timestamp's wall time without its offset, and ``_same`` reads
        # a stored naive time as UTC, so a repeated document compares equal.
        wanted["onec_date"] = document.date_1c.astimezone(UTC)
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
    changes = {
        name: (getattr(order, name), value)
        for name, value in wanted.items()
        if not _same(getattr(order, name), value)
    }
    lines = order_lines.wanted_lines(document)
    if lines is not None:
        before = order_lines.stored_lines(order)
        if order_lines.comparable(before) != order_lines.comparable(lines):
            changes["lines"] = (before, lines)
    return changes


def _status(req: Mapping[str, str], status_map: Mapping[str, str]) -> str | None:
    if _bool(req.get("отменен")):
        return status_map.get("Отменен", "cancelled")
    for key in ("статус заказа", "статуса заказа ид"):
        value = req.get(key)
        if value:
            return status_map.get(value, value)[:64]
    return None


def _apply(
    db: Session,
    order: Order,
    changes: dict[str, tuple[Any, Any]],
    document: OrderRecord,
    source: str,
) -> None:
    for name, (_old, new) in changes.items():
        if name != "lines":
            setattr(order, name, new)
    if "lines" in changes:
        old_total = order.total
        goods = order_lines.replace_lines(db, order, document, changes["lines"][1])
        order.total = document.total if document.total is not None else goods + _delivery(order)
        if order.total != old_total:
            changes["total"] = (old_total, order.total)
    order.updated_at = datetime.now(UTC)
    db.add(
        OrderStatusChange(
            order_id=order.id,
            status=order.status,
            source=source,
            note="1C: "
            + ", ".join(_describe(name, old, new) for name, (old, new) in changes.items()),
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


def _delivery(order: Order) -> Decimal:
    price = (order.delivery or {}).get("price")
    try:
        return Decimal(str(price)) if price not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _describe(name: str, old: Any, value: Any) -> str:
    if name == "lines":
        return "lines " + order_lines.describe(old, value)
    labels = {
        "onec_id": "1C id",
        "onec_number": "number",
        "onec_date": "date",
        "is_deleted": "deleted",
    }
    return f"{labels.get(name, name)}={_plain(value)}"


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return order_lines.plain(value)
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if isinstance(value, datetime) else value
