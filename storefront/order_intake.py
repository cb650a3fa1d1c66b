"""Order intake: validate a shop's order against the catalog and store it for 1C, exactly once.

One transaction writes the order, its lines, the first status-history entry and the outbox row
the OData push works from; the sale exchange (``mode=query``) picks it up by ``export_state``.
Idempotency: the ``Idempotency-Key`` (scoped to the caller) is stored with a hash of the request.
The same key with the same request returns the stored order; with a different request it is a
422. Two concurrent requests with one key store one order: the loser replays the winner's.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storefront.auth.roles import Principal
from storefront.errors import BadRequest, Conflict, Unprocessable
from storefront.formatting import money
from storefront.queries.orders import order_by_number
from storefront.schemas import OrderIn, OrderLineIn
from syncd.store.models import Offer, Order, OrderLine, OrderOutbox, OrderStatusChange, Product

FOUR_PLACES = Decimal("0.0001")
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Submitted:
    order: dict[str, Any]
    created: bool  # False: an earlier request with this Idempotency-Key made it


def submit_order(
    session: Session, order_in: OrderIn, *, principal: Principal, idempotency_key: str | None
) -> Submitted:
    """Store ``order_in`` (or replay the order made by the same key); commits."""
    scoped_key = _scoped_key(principal, idempotency_key)
    request_hash = _hash(order_in)
    earlier = _replay(session, scoped_key, request_hash)
    if earlier is not None:
        return earlier
    lines = _resolve_lines(session, order_in.lines)
    total = _check_total(order_in, lines)
    order = _build(order_in, lines, total, scoped_key, request_hash, principal)
    session.add(order)
    try:
        session.flush()
        if order_in.number is None:
            order.number = f"W{order.id:08d}"
        session.add(OrderOutbox(order_id=order.id))
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
    stored = order_by_number(session, order.number)
    assert stored is not None
    return Submitted(stored, created=True)


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


@dataclass(frozen=True, slots=True)
class ResolvedLine:
    line: OrderLineIn
    offer_id: str
    name: str
    sku: str | None
    unit: str | None
    total: Decimal


def _resolve_lines(session: Session, lines: list[OrderLineIn]) -> list[ResolvedLine]:
    """Each line's offer, looked up in two statements; every bad line is reported at once."""
    product_ids = sorted({line.product_id for line in lines})
    products = {
        p.onec_id: p
        for p in session.execute(
            select(
                Product.onec_id, Product.name, Product.sku, Product.unit, Product.is_deleted
            ).where(Product.onec_id.in_(product_ids))
        )
    }
    offers_by_product: dict[str, dict[str, Any]] = defaultdict(dict)
    for offer in session.execute(
        select(
            Offer.onec_id,
            Offer.product_onec_id,
            Offer.name,
            Offer.sku,
            Offer.unit,
            Offer.is_deleted,
        ).where(Offer.product_onec_id.in_(product_ids))
    ):
        offers_by_product[offer.product_onec_id][offer.onec_id] = offer
    resolved, problems = [], []
    for index, line in enumerate(lines):
        try:
            resolved.append(_resolve(line, products.get(line.product_id), offers_by_product))
        except ValueError as exc:
            problems.append({"field": f"lines[{index}]", "message": str(exc)})
    if problems:
        raise Unprocessable("some order lines name nothing the shop sells", details=problems)
    return resolved


def _resolve(line: OrderLineIn, product: Any, offers: dict[str, dict[str, Any]]) -> ResolvedLine:
    if product is None or product.is_deleted:
        raise ValueError(f"no product {line.product_id!r} is on sale")
    own = offers.get(line.product_id, {})
    offer_id = f"{line.product_id}#{line.variant_id}" if line.variant_id else line.product_id
    offer = own.get(offer_id)
    if line.variant_id and (offer is None or offer.is_deleted):
        raise ValueError(f"product {line.product_id!r} has no variant {line.variant_id!r} on sale")
    if not line.variant_id and offer is None and any("#" in o for o in own):
        raise ValueError(f"product {line.product_id!r} has variants: name one in variant_id")
    if offer is not None and offer.is_deleted:
        raise ValueError(f"product {line.product_id!r} is no longer on sale")
    amount = (line.quantity * line.price).quantize(FOUR_PLACES)
    total = amount - line.discount
    if total < 0:
        raise ValueError("the discount is larger than the line's amount")
    return ResolvedLine(
        line=line,
        offer_id=offer_id,
        name=(offer.name if offer is not None and offer.name else product.name),
        sku=(offer.sku if offer is not None and offer.sku else product.sku),
        unit=(offer.unit if offer is not None and offer.unit else product.unit),
        total=total,
    )


def _check_total(order_in: OrderIn, lines: list[ResolvedLine]) -> Decimal:
    delivery = order_in.delivery.price if order_in.delivery else Decimal(0)
    total = sum((line.total for line in lines), Decimal(0)) + delivery
    if order_in.total is not None and order_in.total != total:
        raise Unprocessable(
            f"total {money(order_in.total)} does not match the lines and delivery ({money(total)})",
            details=[{"field": "total", "message": f"expected {money(total)}"}],
        )
    return total


def _build(
    order_in: OrderIn,
    lines: list[ResolvedLine],
    total: Decimal,
    scoped_key: str,
    request_hash: str,
    principal: Principal,
) -> Order:
    customer = order_in.customer.model_dump(mode="json")
    if order_in.payment_method:  # the sale exchange reads it from the customer (Метод оплаты)
        customer["payment_method"] = order_in.payment_method
    delivery = order_in.delivery.model_dump(mode="json") if order_in.delivery else {}
    order = Order(
        number=order_in.number or f"pending-{uuid.uuid4().hex}",
        idempotency_key=scoped_key,
        request_hash=request_hash,
        customer_ref=order_in.customer.ref,
        customer=customer,
        delivery=delivery,
        status="new",
        currency=order_in.currency,
        total=total,
        comment=order_in.comment,
        export_state="new",
    )
    order.lines = [
        OrderLine(
            line_no=number,
            offer_onec_id=r.offer_id,
            product_onec_id=r.line.product_id,
            name=r.name,
            sku=r.sku,
            unit=r.unit,
            quantity=r.line.quantity,
            price=r.line.price,
            discount=r.line.discount,
            total=r.total,
        )
        for number, r in enumerate(lines, start=1)
    ]
    order.history = [
        OrderStatusChange(status="new", source="shop", note=f"submitted by {principal.identity}")
    ]
    return order
