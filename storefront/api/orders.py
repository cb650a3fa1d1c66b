"""Order intake and order status for the shop."""

from __future__ import annotations

from flask import Blueprint, Response, request

from storefront import database
from storefront.auth.guard import authenticate, require
from storefront.auth.roles import ORDERS_READ, ORDERS_WRITE
from storefront.context import settings
from storefront.errors import NotFound
from storefront.feed_waker import feed_waker
from storefront.order_intake import submit_order
from storefront.queries import orders
from storefront.responses import json_response
from storefront.schemas import CustomerOrdersQuery, OrderIn
from storefront.validation import body, path_id, query

blueprint = Blueprint("orders", __name__)
IDEMPOTENCY_HEADER = "Idempotency-Key"


@blueprint.post("/orders")
@require(ORDERS_WRITE)
def create_order() -> Response:
    order_in = body(OrderIn)
    result = submit_order(
        database.writer(),
        order_in,
        principal=authenticate(),
        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
        settings=settings().storefront,
    )
    location = f"{request.root_path}/api/v1/orders/{result.order['number']}"
    if result.created:
        feed_waker().announce()  # the order's change event committed
        return json_response(result.order, 201, {"Location": location})
    return json_response(result.order, 200, {"Location": location, "Idempotent-Replayed": "true"})


@blueprint.get("/orders/<number>")
@require(ORDERS_READ)
def get_order(number: str) -> Response:
    found = orders.order_by_number(database.session(), number, _owner())
    if found is None:
        raise NotFound(f"there is no order {number!r}")
    return json_response(found, headers={"Cache-Control": "no-store"})


@blueprint.get("/orders/<number>/history")
@require(ORDERS_READ)
def order_history(number: str) -> Response:
    session = database.session()
    order_id = orders.order_id_by_number(session, number, _owner())
    if order_id is None:
        raise NotFound(f"there is no order {number!r}")
    payload = {"number": number, "items": orders.status_history(session, order_id)}
    return json_response(payload, headers={"Cache-Control": "no-store"})


@blueprint.get("/customers/<customer_ref>/orders")
@require(ORDERS_READ)
def customer_orders(customer_ref: str) -> Response:
    params = query(CustomerOrdersQuery)
    page = orders.customer_orders(
        database.session(),
        path_id(customer_ref, "customer_ref"),
        owner=_owner(),
        status=params.status,
        limit=params.limit,
        cursor=params.cursor,
    )
    return json_response(page, headers={"Cache-Control": "no-store"})


def _owner() -> str | None:
    """Whose orders the caller may read: its own, or (operator, admin) everyone's."""
    principal = authenticate()
    return None if principal.reads_all_orders else principal.identity
