"""Orders -> the JSON body of a 1C document (``Document_ЗаказКлиента``), and 1C's answer back.

Field maps: ``fields`` maps the header roles (``number``, ``date``, ``document_date``,
``comment``, ``customer``, ``total``, ``lines``; read back: ``status``, ``paid``, ``shipped``,
``cancelled``) and ``line_fields`` the row roles (``product``,
``characteristic``, ``quantity``, ``packages``, ``price``, ``total``) to 1C properties; an empty
name leaves the role out. ``constants`` and ``line_constants`` are written as given (the
organisation, agreement, warehouse, VAT rate... that the site does not know); the texts ``"true"``
and ``"false"`` become JSON booleans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from exchange_formats.errors import FormatError
from exchange_formats.odata import values
from exchange_formats.records import Order, OrderLine, Requisite

FieldMap = Mapping[str, str]
DELIVERY_LINE = "ORDER_DELIVERY"  # CommerceML's pseudo-product for delivery; not a 1C item


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedDocument:
    """What 1C says about a document it holds."""

    onec_id: str  # Ref_Key
    number: str | None  # 1C's own number ("УТ-00001004")
    date: datetime | None
    posted: bool
    deletion_mark: bool


def order_document(
    order: Order,
    *,
    fields: FieldMap,
    line_fields: FieldMap,
    constants: Mapping[str, str],
    line_constants: Mapping[str, str],
    zone: tzinfo,
    source: str | None = None,
) -> dict[str, Any]:
    """The body to POST for ``order``. Raises ``FormatError`` for a line 1C cannot take."""
    document: dict[str, Any] = {name: _constant(value) for name, value in constants.items()}
    when = values.naive_local(order.date, zone) if order.date else None
    _put(document, fields.get("number", ""), order.number or order.onec_id)
    _put(document, fields.get("date", ""), when)
    _put(document, fields.get("document_date", ""), when)
    _put(document, fields.get("comment", ""), order.comment)
    _put(document, fields.get("total", ""), order.total)
    _put(document, fields.get("customer", ""), _customer_ref(order))
    lines = [line for line in order.lines or () if line.onec_id != DELIVERY_LINE]
    if not lines:
        raise FormatError("the order has no product lines", source=source, element=order.number)
    rows = [
        _line(number, line, line_fields, line_constants, source=source, order=order.number)
        for number, line in enumerate(lines, start=1)
    ]
    _put(document, fields.get("lines", ""), rows)
    return document


def created_document(body: Mapping[str, Any], zone: tzinfo) -> CreatedDocument:
    """A document as 1C returns it (the 201 answer to a create, or a row of a lookup)."""
    key = values.ref(body.get("Ref_Key"))
    if key is None:
        raise FormatError("1C's answer names no Ref_Key for the document")
    return CreatedDocument(
        onec_id=key,
        number=values.text(body.get("Number")),
        date=values.local_datetime(body.get("Date"), zone),
        posted=bool(values.boolean(body.get("Posted"))),
        deletion_mark=bool(values.boolean(body.get("DeletionMark"))),
    )


STATE_FLAGS = {"paid": "Оплачен", "shipped": "Отгружен", "cancelled": "Отменен"}


def state_fields(fields: FieldMap) -> list[str]:
    """The properties to ``$select`` for ``document_state``."""
    roles = ("number", "status", *STATE_FLAGS)
    named = [fields.get(role, "") for role in roles]
    return ["Ref_Key", "Number", "Date", "Posted", "DeletionMark", *(n for n in named if n)]


def document_state(body: Mapping[str, Any], *, fields: FieldMap, zone: tzinfo) -> Order:
    """1C's state of an order document as the update record the sale exchange's documents
    become: ``onec_id`` is the ``Ref_Key``, ``number`` the site's number, ``number_1c``/
    ``date_1c`` 1C's own, ``deleted`` the deletion mark; posting, the status (``Статус заказа``,
    mapped like the sale exchange's) and the paid/shipped/cancelled flags are requisites named
    as CommerceML names them. No lines: the order's lines are left as they are.
    Raises ``FormatError`` naming the document and the property."""
    row = dict(body)
    source = "order document"
    onec_id = values.field(row, "Ref_Key", values.ref, source=source)
    if onec_id is None:
        raise FormatError("1C's order document names no Ref_Key", source=source)
    requisites = []
    posted = values.field(row, "Posted", values.boolean, source=source)
    if posted is not None:
        requisites.append(Requisite(name="Проведен", value=str(posted).lower()))
    status = values.field(row, fields.get("status", ""), values.text, source=source)
    if status:
        requisites.append(Requisite(name="Статус заказа", value=status))
    for role, name in STATE_FLAGS.items():
        flag = values.field(row, fields.get(role, ""), values.boolean, source=source)
        if flag is not None:
            requisites.append(Requisite(name=name, value=str(flag).lower()))
    return Order(
        onec_id=onec_id,
        number=values.field(row, fields.get("number", ""), values.text, source=source),
        number_1c=values.field(row, "Number", values.text, source=source),
        date_1c=values.field(row, "Date", lambda v: values.local_datetime(v, zone), source=source),
        deleted=values.field(row, "DeletionMark", values.boolean, source=source),
        requisites=tuple(requisites),
    )


def _line(
    number: int,
    line: OrderLine,
    fields: FieldMap,
    constants: Mapping[str, str],
    *,
    source: str | None,
    order: str | None,
) -> dict[str, Any]:
    product, _, characteristic = line.onec_id.partition("#")
    for part in (product, characteristic):
        if part and not values.is_guid(part):
            raise FormatError(
                f"line {number} ({line.name}): {line.onec_id!r} is not a 1C reference; "
                "the product did not come from this 1C",
                source=source,
                element=order,
            )
    row: dict[str, Any] = {"LineNumber": str(number)}
    row.update({name: _constant(value) for name, value in constants.items()})
    _put(row, fields.get("product", ""), product.lower())
    _put(row, fields.get("characteristic", ""), characteristic.lower() or values.ZERO_GUID)
    _put(row, fields.get("quantity", ""), line.quantity)
    _put(row, fields.get("packages", ""), line.quantity)
    _put(row, fields.get("price", ""), line.price)
    _put(row, fields.get("total", ""), line.total)
    return row


def _customer_ref(order: Order) -> str | None:
    for contractor in order.contractors:
        if values.is_guid(contractor.onec_id):
            return contractor.onec_id.lower()
    return None


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    if name and value is not None:
        target[name] = value


def _constant(value: str) -> Any:
    return {"true": True, "false": False}.get(value, value)
