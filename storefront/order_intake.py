"""Order intake: price a shop's order from the catalog and store it for 1C, exactly once.

One transaction writes the order, its lines, the first status-history entry, the outbox row
the OData push works from and the order's ``created`` change event (``GET /changes``); the
sale exchange (``mode=query``) picks it up by ``export_state``.
Prices, totals and stock are the server's (``storefront.order_pricing``). The order records who
submitted it (``submitted_by``), which decides who may read it; no response names it.

Numbers: generated ones are ``W`` and the row id in 8 or more digits; a caller may not choose a
number of that form, so the two never collide. The customer is bound to a 1C contractor by the
server (one live contractor with the customer's INN, and KPP when given); a caller may name the
contractor's Ид only with ``customers:bind``.
Idempotency: the ``Idempotency-Key`` (scoped to the caller) is stored with a hash of the request.
The same key with the same request returns the stored order; with a different request it is a
422. Two concurrent requests with one key store one order: the loser replays the winner's.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, not_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import StorefrontSettings
from storefront.auth.roles import CUSTOMERS_BIND, Principal
from storefront.errors import BadRequest, Conflict, Forbidden, Unprocessable
from storefront.formatting import money
from storefront.order_pricing import PricedOrder, price_order
from storefront.queries.orders import order_by_number, order_of_rows
from storefront.schemas import CustomerIn, OrderIn
from syncd.store import changes
from syncd.store.models import Customer, Order, OrderLine, OrderOutbox, OrderStatusChange, table

ORDERS = table(Order)
LINES = table(OrderLine)
HISTORY = table(OrderStatusChange)
OUTBOX = table(OrderOutbox)

MAX_KEY_LENGTH = 200
GENERATED_NUMBER = re.compile(r"^W\d{8,}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Submitted:
    order: dict[str, Any]
    created: bool  # False: an earlier request with this Idempotency-Key made it


def submit_order(
    session: Session,
    order_in: OrderIn,
    *,
    principal: Principal,
    idempotency_key: str | None,
    settings: StorefrontSettings,
) -> Submitted:
    """Store ``order_in`` (or replay the order made by the same key); commits."""
    scoped_key = _scoped_key(principal, idempotency_key)
    request_hash = _hash(order_in)
    earlier = _replay(session, scoped_key, request_hash)
    if earlier is not None:
        return earlier
    _check_number(order_in.number)
    contractor = _contractor(session, order_in.customer, principal)
    priced = price_order(session, order_in, principal, settings)
    _check_total(order_in, priced)
    try:
        values = _order_values(order_in, priced, contractor, scoped_key, request_hash, principal)
        stored = _store(session, values, priced, generated=order_in.number is None)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        replayed = _replay(session, scoped_key, request_hash)
        if replayed is not None:
            return replayed
        raise Conflict(
            f"order number {order_in.number!r} is already taken",
            details=[{"field": "number", "message": "already used"}],
        ) from exc
    return Submitted(stored, created=True)


def _store(
    session: Session, values: dict[str, Any], priced: PricedOrder, *, generated: bool
) -> dict[str, Any]:
    """Write the order (``values``; ``generated``: give it the number ``W`` + its id), its
    lines, its first history entry, its outbox row and its change event; the order as stored
    (from ``RETURNING``: what commits is what is answered).

    Core statements, not the ORM's unit of work: an order is a handful of rows written once,
    and flushing them through the ORM cost more Python than the statements themselves.
    """
    row = session.execute(insert(ORDERS).values(values).returning(*ORDERS.c)).one()
    if generated:
        row = session.execute(
            update(ORDERS)
            .where(ORDERS.c.id == row.id)
            .values(number=f"W{row.id:08d}")
            .returning(*ORDERS.c)
        ).one()
    lines = session.execute(
        insert(LINES).returning(*LINES.c, sort_by_parameter_order=True),
        [{"order_id": row.id, **line} for line in _line_values(priced)],
    ).all()
    session.execute(
        insert(HISTORY).values(order_id=row.id, status="new", source="shop", note="submitted")
    )
    session.execute(insert(OUTBOX).values(order_id=row.id))
    _log_created(session, row.number, row.status)
    return order_of_rows(row, list(lines))


def _log_created(session: Session, number: str, status: str) -> None:
    """The ``order`` ``created`` change event, in the order's transaction (unless the change
    log is off: the session factory says); last, since the change log's lock it takes is held
    to the commit."""
    found = changes.ChangeSet()
    found.add("order", number, "created", {"status": status})
    changes.append(session, found)


def _scoped_key(principal: Principal, key: str | None) -> str:
    if key is None or not key.strip():
        raise BadRequest(
            "POST /orders needs an Idempotency-Key header (e.g. a UUID you keep with the order)",
            details=[{"field": "Idempotency-Key", "message": "missing"}],
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise BadRequest(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters",
            details=[{"field": "Idempotency-Key", "message": "invalid"}],
        )
    return f"{principal.identity}:{key}"


def _hash(order_in: OrderIn) -> str:
    canonical = json.dumps(order_in.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, scoped_key: str, request_hash: str) -> Submitted | None:
    row = session.execute(
        select(Order.number, Order.request_hash).where(Order.idempotency_key == scoped_key)
    ).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Unprocessable(
            "this Idempotency-Key was already used for a different order",
            details=[{"field": "Idempotency-Key", "message": f"used by order {row.number}"}],
        )
    stored = order_by_number(session, row.number)
    assert stored is not None
    return Submitted(stored, created=False)


def _check_number(number: str | None) -> None:
    if number is not None and GENERATED_NUMBER.match(number):
        raise Unprocessable(
            f"order numbers like {number!r} are generated by the server; choose another form "
            "(or leave number out)",
            details=[{"field": "number", "message": "reserved for generated numbers"}],
        )


def _contractor(session: Session, customer: CustomerIn, principal: Principal) -> str | None:
    """The 1C contractor the order is for: the caller's (with ``customers:bind``), else the
    one live contractor with this INN (and KPP, when given), else None (1C makes one)."""
    if customer.onec_id is not None:
        if not principal.may(CUSTOMERS_BIND):
            raise Forbidden(
                f"naming the 1C contractor needs the {CUSTOMERS_BIND} scope; leave "
                "customer.onec_id out and the server matches the customer by INN",
                details=[{"field": "customer.onec_id", "message": "needs the scope"}],
            )
        return customer.onec_id
    if customer.inn is None:
        return None
    query = select(Customer.onec_id).where(Customer.inn == customer.inn, not_(Customer.is_deleted))
    if customer.kpp is not None:
        query = query.where(Customer.kpp == customer.kpp)
    found = session.scalars(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


def _check_total(order_in: OrderIn, priced: PricedOrder) -> None:
    if order_in.total is not None and order_in.total != priced.total:
        raise Unprocessable(
            f"total {money(order_in.total)} does not match the lines and delivery "
            f"({money(priced.total)})",
            details=[{"field": "total", "message": f"expected {money(priced.total)}"}],
        )


def _order_values(
    order_in: OrderIn,
    priced: PricedOrder,
    contractor: str | None,
    scoped_key: str,
    request_hash: str,
    principal: Principal,
) -> dict[str, Any]:
    customer = {**order_in.customer.model_dump(mode="json"), "onec_id": contractor}
    if order_in.payment_method:  # the sale exchange reads it from the customer (Метод оплаты)
        customer["payment_method"] = order_in.payment_method
    delivery = order_in.delivery.model_dump(mode="json") if order_in.delivery else {}
    return {
        "number": order_in.number or f"pending-{uuid.uuid4().hex}",
        "idempotency_key": scoped_key,
        "request_hash": request_hash,
        "customer_ref": order_in.customer.ref,
        "customer": customer,
        "delivery": delivery,
        "status": "new",
        "currency": priced.currency,
        "total": priced.total,
        "comment": order_in.comment,
        "export_state": "new",
        "submitted_by": principal.identity,
    }


def _line_values(priced: PricedOrder) -> list[dict[str, Any]]:
    return [
        {
            "line_no": number,
            "offer_onec_id": r.offer_id,
            "product_onec_id": r.line.product_id,
            "name": r.name,
            "sku": r.sku,
            "unit": r.unit,
            "quantity": r.line.quantity,
            "price": r.price,
            "discount": r.discount,
            "total": r.total,
            "catalog_price": r.catalog_price,
            "price_overridden": r.overridden,
            "stock_note": r.stock_note,
        }
        for number, r in enumerate(priced.lines, start=1)
    ]
