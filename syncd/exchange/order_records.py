"""Shop orders (``syncd.store.models.Order``) as the records the CommerceML orders writer takes.

The document's ``Ид`` and ``Номер`` are the shop's order number: 1C sends it back as ``Ид`` in its
order updates, which is how ``order_updates`` finds the order again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_formats.records import (
    Address,
    Contact,
    Contractor,
    Discount,
    OrderLine,
    Requisite,
    UnitRef,
)
from exchange_formats.records import Order as OrderRecord
from syncd.importer.order_lines import DELIVERY_LINE_ID
from syncd.store import models
from syncd.store.order_notes import comment_with_override_note

# A line whose price, discount or currency the shop set (orders:price-override), not the catalog.
OVERRIDE_REQUISITE = "ЦенаУстановленаСайтом"


def order_record(order: models.Order) -> OrderRecord:
    lines = [_line(line) for line in order.lines]
    delivery = _delivery_line(order.delivery or {})
    if delivery is not None:
        lines.append(delivery)
    return OrderRecord(
        onec_id=order.number,
        number=order.number,
        date=order.created_at,
        operation="Заказ товара",
        role="Продавец",
        currency=order.currency,
        rate=Decimal(1),
        total=order.total,
        comment=comment_with_override_note(order),
        contractors=(_contractor(order),),
        lines=tuple(lines),
        requisites=_requisites(order),
    )


def _line(line: models.OrderLine) -> OrderLine:
    discounts = (Discount(amount=line.discount, included=True),) if line.discount else ()
    return OrderLine(
        onec_id=line.offer_onec_id,
        name=line.name,
        quantity=line.quantity,
        price=line.price,
        total=line.total,
        sku=line.sku,
        unit=UnitRef(text=line.unit) if line.unit else None,
        discounts=discounts,
        requisites=(
            Requisite(name="ВидНоменклатуры", value="Товар"),
            Requisite(name="ТипНоменклатуры", value="Товар"),
            *_override_requisites(line),
        ),
    )


def _override_requisites(line: models.OrderLine) -> tuple[Requisite, ...]:
    if not line.price_overridden:
        return ()
    catalog = "" if line.catalog_price is None else f"{line.catalog_price:f}"
    return (
        Requisite(name=OVERRIDE_REQUISITE, value="true"),
        Requisite(name="ЦенаПоПрайсу", value=catalog),
    )


def _delivery_line(delivery: dict[str, Any]) -> OrderLine | None:
    price = delivery.get("price")
    if price in (None, "", 0, "0"):
        return None
    amount = Decimal(str(price))
    return OrderLine(
        onec_id=DELIVERY_LINE_ID,
        name=str(delivery.get("method") or "Доставка заказа"),
        quantity=Decimal(1),
        price=amount,
        total=amount,
        requisites=(
            Requisite(name="ВидНоменклатуры", value="Услуга"),
            Requisite(name="ТипНоменклатуры", value="Услуга"),
        ),
    )


def _contractor(order: models.Order) -> Contractor:
    customer = order.customer or {}
    name = _text(customer, "name", "full_name") or " ".join(
        part for part in (_text(customer, "last_name"), _text(customer, "first_name")) if part
    )
    contacts = []
    if email := _text(customer, "email"):
        contacts.append(Contact(type="Почта", value=email))
    if phone := _text(customer, "phone"):
        contacts.append(Contact(type="Телефон рабочий", value=phone))
    address = _text(order.delivery or {}, "address") or _text(customer, "address")
    return Contractor(
        onec_id=order.customer_ref or _text(customer, "email") or f"site-order-{order.number}",
        name=name or "Покупатель сайта",
        full_name=_text(customer, "full_name") or name or None,
        role="Покупатель",
        inn=_text(customer, "inn"),
        kpp=_text(customer, "kpp"),
        first_name=_text(customer, "first_name"),
        last_name=_text(customer, "last_name"),
        address=Address(presentation=address) if address else None,
        contacts=tuple(contacts),
    )


def _requisites(order: models.Order) -> tuple[Requisite, ...]:
    delivery = order.delivery or {}
    found = [
        Requisite(name="Статус заказа", value=order.status),
        Requisite(name="Заказ оплачен", value="true" if order.paid else "false"),
        Requisite(name="Отменен", value="true" if order.status == "cancelled" else "false"),
    ]
    if method := _text(delivery, "method"):
        found.append(Requisite(name="Способ доставки", value=method))
    if payment := _text(order.customer or {}, "payment_method"):
        found.append(Requisite(name="Метод оплаты", value=payment))
    return tuple(found)


def _text(mapping: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, ""):
            return str(value).strip() or None
    return None
