"""Orders as the shop sees them: status, lines, 1C's flags, status history.

``owner``: the principal identity whose orders the caller may read (``orders.submitted_by``), or
None for every order. An order of another owner reads as absent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from storefront.formatting import iso, money, quantity
from storefront.queries.cursor import decode_cursor, encode_cursor, invalid_cursor
from syncd.store.models import Order, OrderLine, OrderStatusChange

ORD = Order.__table__
OL = OrderLine.__table__
OSH = OrderStatusChange.__table__

CUSTOMER_FIELDS = (
    "ref",
    "onec_id",
    "name",
    "full_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "inn",
    "kpp",
    "address",
)
DELIVERY_FIELDS = ("method", "address", "price")


def order_by_number(
    session: Session, number: str, owner: str | None = None
) -> dict[str, Any] | None:
    row = session.execute(_owned(select(ORD).where(ORD.c.number == number), owner)).first()
    if row is None:
        return None
    return _with_lines(session, [row])[0]


def order_id_by_number(session: Session, number: str, owner: str | None = None) -> int | None:
    query = _owned(select(ORD.c.id).where(ORD.c.number == number), owner)
    found = session.execute(query).first()
    return None if found is None else int(found.id)


def _owned(query: Select[Any], owner: str | None) -> Select[Any]:
    return query if owner is None else query.where(ORD.c.submitted_by == owner)


def status_history(session: Session, order_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(OSH.c.status, OSH.c.source, OSH.c.note, OSH.c.created_at)
        .where(OSH.c.order_id == order_id)
        .order_by(OSH.c.created_at, OSH.c.id)
    )
    return [
        {"status": r.status, "source": r.source, "note": r.note, "at": iso(r.created_at)}
        for r in rows
    ]


def customer_orders(
    session: Session,
    customer_ref: str,
    *,
    owner: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A customer's orders (those ``owner`` may read), newest first: ``{"items", "next_cursor"}``."""
    query = _owned(select(ORD).where(ORD.c.customer_ref == customer_ref), owner)
    if status:
        query = query.where(ORD.c.status == status)
    if cursor:
        created, order_id = decode_cursor(cursor, "orders", 2)
        moment = _cursor_moment(created, session.get_bind().dialect.name)
        if not isinstance(order_id, int):
            raise invalid_cursor()
        query = query.where(tuple_(ORD.c.created_at, ORD.c.id) < tuple_(moment, order_id))
    rows = session.execute(
        query.order_by(ORD.c.created_at.desc(), ORD.c.id.desc()).limit(limit + 1)
    ).all()
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor("orders", [iso(last.created_at), last.id])
    return {"items": _with_lines(session, list(rows)), "next_cursor": next_cursor}


def _cursor_moment(value: Any, dialect: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).replace(tzinfo=None) if dialect == "sqlite" else moment
    except (ValueError, OverflowError) as exc:  # not a time; a time past year 1 or 9999 in UTC
        raise invalid_cursor() from exc


def order_of_rows(row: Any, line_rows: list[Any]) -> dict[str, Any]:
    """The order as the shop sees it, from its ``orders`` row and its ``order_lines`` rows
    (e.g. as an ``INSERT ... RETURNING`` gave them)."""
    return _order(row, [_line(line) for line in sorted(line_rows, key=lambda line: line.line_no)])


def _with_lines(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        for line in session.execute(
            select(OL).where(OL.c.order_id.in_([r.id for r in rows])).order_by(OL.c.line_no)
        ):
            lines[line.order_id].append(_line(line))
    return [_order(row, lines[row.id]) for row in rows]


def _order(row: Any, lines: list[dict[str, Any]]) -> dict[str, Any]:
    customer = row.customer or {}
    delivery = row.delivery or {}
    return {
        "number": row.number,
        "status": row.status,
        "currency": row.currency,
        "total": money(row.total),
        "customer": {key: _text(customer.get(key)) for key in CUSTOMER_FIELDS},
        "delivery": {key: _text(delivery.get(key)) for key in DELIVERY_FIELDS},
        "payment_method": _text(customer.get("payment_method")),
        "comment": row.comment,
        "lines": lines,
        "onec_number": row.onec_number,
        "onec_date": iso(row.onec_date),
        "posted": bool(row.posted),
        "paid": bool(row.paid),
        "shipped": bool(row.shipped),
        "cancelled": bool(row.is_deleted),
        "export_state": row.export_state,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def _line(row: Any) -> dict[str, Any]:
    _product, _, variant = row.offer_onec_id.partition("#")
    return {
        "line_no": row.line_no,
        "product_id": row.product_onec_id,
        "variant_id": variant or None,
        "name": row.name,
        "sku": row.sku,
        "unit": row.unit,
        "quantity": quantity(row.quantity),
        "price": money(row.price),
        "discount": money(row.discount),
        "total": money(row.total),
        "catalog_price": money(row.catalog_price),
        "price_overridden": bool(row.price_overridden),
        "stock_note": row.stock_note,
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
