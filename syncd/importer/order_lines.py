"""An order's lines as 1C sends them back: quantities, prices, lines added or removed.

1C's document lists the goods of the order as 1C now has them. A document without ``Товары``
(``lines is None``), or whose ``Товары`` hold no goods line, says nothing about lines: the stored
lines stay. The delivery line the site wrote (``ORDER_DELIVERY``) and lines of zero quantity are
not goods. Lines are compared as (offer, quantity, price, discount, total); a difference replaces
the order's lines and its total, in the history entry of the document that changed them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from exchange_formats.records import Order as OrderRecord
from exchange_formats.records import OrderLine as LineRecord
from syncd.store.models import Order, OrderLine

DELIVERY_LINE_ID = "ORDER_DELIVERY"
Line = dict[str, Any]


def stored_lines(order: Order) -> list[Line]:
    return [
        {
            "offer_onec_id": line.offer_onec_id,
            "quantity": _number(line.quantity),
            "price": _number(line.price),
            "discount": _number(line.discount),
            "total": _number(line.total),
        }
        for line in order.lines
    ]


def wanted_lines(document: OrderRecord) -> list[Line] | None:
    """The goods lines 1C sends, or None when the document says nothing about lines."""
    goods = [
        line
        for line in document.lines or ()
        if line.onec_id != DELIVERY_LINE_ID and line.quantity > 0
    ]
    if not goods:
        return None
    return [_wanted(line) for line in goods]


def comparable(lines: list[Line]) -> list[tuple[str, ...]]:
    keys = ("offer_onec_id", "quantity", "price", "discount", "total")
    return sorted(tuple(str(line[key]) for key in keys) for line in lines)


def replace_lines(db: Session, order: Order, document: OrderRecord, wanted: list[Line]) -> Decimal:
    """Put ``wanted`` in place of the order's lines (names, articles and units kept for offers
    the order had); returns the goods' total. Flushes (the old lines go before the new come)."""
    known = {line.offer_onec_id: line for line in order.lines}
    sent = {line.onec_id: line for line in document.lines or ()}
    order.lines.clear()
    db.flush()
    for number, line in enumerate(wanted, start=1):
        offer = line["offer_onec_id"]
        before = known.get(offer)
        record = sent[offer]
        order.lines.append(
            OrderLine(
                line_no=number,
                offer_onec_id=offer,
                product_onec_id=offer.split("#", 1)[0],
                name=record.name or (before.name if before else offer),
                sku=record.sku or (before.sku if before else None),
                unit=(record.unit.text if record.unit else None)
                or (before.unit if before else None),
                quantity=line["quantity"],
                price=line["price"],
                discount=line["discount"],
                total=line["total"],
            )
        )
    return sum((line["total"] for line in wanted), Decimal(0))


def describe(old: list[Line], new: list[Line]) -> str:
    """ "+1 -1 ~2": lines added, removed and changed."""
    before = {line["offer_onec_id"]: line for line in old}
    after = {line["offer_onec_id"]: line for line in new}
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    changed = sum(
        1
        for offer in after.keys() & before.keys()
        if comparable([after[offer]]) != comparable([before[offer]])
    )
    return f"+{added} -{removed} ~{changed}"


def plain(lines: list[Line]) -> list[dict[str, str]]:
    """The lines as JSON for the history entry."""
    return [{key: str(value) for key, value in line.items()} for line in lines]


def _wanted(line: LineRecord) -> Line:
    quantity = _number(line.quantity)
    discount = _number(sum((d.amount or Decimal(0) for d in line.discounts), Decimal(0)))
    price = line.price
    if price is None:
        price = (line.total or Decimal(0)) / line.quantity
    total = line.total if line.total is not None else price * line.quantity - discount
    return {
        "offer_onec_id": line.onec_id,
        "quantity": quantity,
        "price": _number(price),
        "discount": discount,
        "total": _number(total),
    }


def _number(value: Decimal) -> Decimal:
    """Four decimals (the columns' scale), so a stored and a sent value compare equal."""
    return Decimal(value).quantize(Decimal("0.0001"))
