"""Документ with ХозОперация «Заказ товара»: orders, in either direction.

Reads full documents (the site's own ``mode=query`` output, 1C's order documents with
``Номер1С``/``Дата1С``) and 1C's status-only updates (no ``Товары``: ``Order.lines is None``,
stored lines must be kept). 1C states some facts either as elements (2.09+) or as requisites
(2.03): ``number_1c`` comes from ``Номер1С`` or the requisite «Номер по 1С», ``date_1c`` from
``Дата1С`` or «Дата по 1С», ``deleted`` from ``ПометкаУдаления`` either way. ``requisites`` always
holds every ЗначениеРеквизита exactly as sent, those included.

Documents of other operations (payments, shipments: Bitrix's sub-documents in a ``Контейнер``)
are skipped, not turned into orders.
"""

from __future__ import annotations

from datetime import datetime, time, tzinfo
from decimal import Decimal

from exchange_formats._xml import LOCAL
from exchange_formats.commerceml._elements import (
    Element,
    bool_from,
    bool_of,
    characteristics,
    child_texts,
    datetime_of,
    fail,
    line_unit,
    optional_decimal,
    requisites,
    text,
    unit_ref,
)
from exchange_formats.commerceml._values import BadValue, to_currency, to_time
from exchange_formats.commerceml.contractors import contractor
from exchange_formats.records import (
    Characteristic,
    Contractor,
    Discount,
    Order,
    OrderLine,
    Requisite,
    Tax,
    UnitRef,
)

ORDER_OPERATION = "Заказ товара"
REQUISITE_NUMBER_1C = "Номер по 1С"
REQUISITE_DATE_1C = "Дата по 1С"
REQUISITE_DELETED = "ПометкаУдаления"


def order(element: Element, tz: tzinfo) -> Order | None:
    """The Order a Документ describes; ``None`` for a document of another operation."""
    fields: dict[str, str | None] = {}
    contractors: tuple[Contractor, ...] = ()
    lines: tuple[OrderLine, ...] | None = None
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[Tax, ...] = ()
    requisite_list: tuple[Requisite, ...] = ()
    amounts: dict[str, Decimal | None] = {}
    deleted: bool | None = None
    for child in element:
        tag = LOCAL[child.tag]
        if tag in _SCALARS:
            fields.setdefault(tag, text(child))
        elif tag in ("Курс", "Сумма"):
            amounts[tag] = optional_decimal(child)
        elif tag == "Контрагенты":
            contractors = tuple(contractor(item) for item in child if LOCAL[item.tag])
        elif tag == "Товары":
            lines = tuple(line(item) for item in child if LOCAL[item.tag])
        elif tag == "ЗначенияРеквизитов":
            requisite_list = requisites(child)
        elif tag == "Скидки":
            discounts = tuple(_discount(item) for item in child if LOCAL[item.tag])
        elif tag == "Налоги":
            taxes = tuple(_tax(item) for item in child if LOCAL[item.tag])
        elif tag == "ПометкаУдаления":
            deleted = bool_of(child)
        elif tag == "Комментарий":
            fields["Комментарий"] = child.text if child.text and child.text.strip() else None
    operation = fields.get("ХозОперация")
    if operation is not None and operation != ORDER_OPERATION:
        return None
    onec_id = fields.get("Ид")
    if onec_id is None:
        raise fail(element, "an order document has no Ид")
    by_name = {requisite.name: requisite.value for requisite in reversed(requisite_list)}
    if deleted is None:
        deleted = bool_from(element, _requisite(by_name, REQUISITE_DELETED))
    return Order(
        onec_id=onec_id,
        number=fields.get("Номер"),
        date=_date_time(element, fields.get("Дата"), fields.get("Время"), tz),
        number_1c=fields.get("Номер1С") or _requisite(by_name, REQUISITE_NUMBER_1C),
        date_1c=datetime_of(
            element, fields.get("Дата1С") or _requisite(by_name, REQUISITE_DATE_1C), tz
        ),
        operation=operation,
        role=fields.get("Роль"),
        currency=to_currency(fields.get("Валюта") or ""),
        rate=amounts.get("Курс"),
        total=amounts.get("Сумма"),
        comment=fields.get("Комментарий"),
        contractors=contractors,
        lines=lines,
        discounts=discounts,
        taxes=taxes,
        requisites=requisite_list,
        deleted=deleted,
        version=fields.get("НомерВерсии"),
    )


def _requisite(by_name: dict[str, str], name: str) -> str | None:
    value = by_name.get(name)
    return (value.strip() or None) if value is not None else None


_SCALARS = frozenset(
    {"Ид", "Номер", "Номер1С", "Дата", "Дата1С", "Время", "ХозОперация", "Роль", "Валюта"}
    | {"НомерВерсии"}
)


def _date_time(element: Element, day: str | None, clock: str | None, tz: tzinfo) -> datetime | None:
    """Дата (+ Время) in ``tz``; a Дата that carries its own time keeps it."""
    value = datetime_of(element, day, tz)
    if value is None or clock is None:
        return value
    try:
        moment = to_time(clock)
    except BadValue as exc:
        raise fail(element, str(exc)) from None
    if value.time() != time(0):
        return value
    return datetime.combine(value.date(), moment, tzinfo=value.tzinfo)


def line(element: Element) -> OrderLine:
    """A Товар of an order: goods, a service, or the ``ORDER_DELIVERY`` line."""
    onec_id = name = sku = None
    price = quantity = total = coefficient = None
    unit: UnitRef | None = None
    has_base_unit = False
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[Tax, ...] = ()
    variant: tuple[Characteristic, ...] = ()
    requisite_list: tuple[Requisite, ...] = ()
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            onec_id = text(child)
        elif tag == "Наименование":
            name = text(child)
        elif tag == "Артикул":
            sku = text(child)
        elif tag == "ЦенаЗаЕдиницу" or tag == "Цена":  # Цена: 1C's own 2.09 documents
            price = optional_decimal(child)
        elif tag == "Количество":
            quantity = optional_decimal(child)
        elif tag == "Сумма":
            total = optional_decimal(child)
        elif tag == "Коэффициент":
            coefficient = optional_decimal(child)
        elif tag == "БазоваяЕдиница":
            unit, has_base_unit = unit_ref(child), True
        elif tag == "Единица" and not has_base_unit:
            unit = line_unit(child)
        elif tag == "Скидки":
            discounts = tuple(_discount(item) for item in child if LOCAL[item.tag])
        elif tag == "Налоги":
            taxes = tuple(_tax(item) for item in child if LOCAL[item.tag])
        elif tag == "ХарактеристикиТовара":
            variant = characteristics(child)
        elif tag == "ЗначенияРеквизитов":
            requisite_list = requisites(child)
    if onec_id is None:
        raise fail(element, "an order line has no Ид")
    if quantity is None:
        raise fail(element, f"order line {onec_id!r} has no Количество")
    return OrderLine(
        onec_id=onec_id,
        name=name or "",
        quantity=quantity,
        price=price,
        total=total,
        sku=sku,
        unit=unit,
        coefficient=coefficient,
        discounts=discounts,
        taxes=taxes,
        characteristics=variant,
        requisites=requisite_list,
    )


def _discount(element: Element) -> Discount:
    parts = child_texts(element, "Наименование", "Сумма", "Процент", "УчтеноВСумме")
    return Discount(
        name=parts["Наименование"],
        amount=_amount(element, "Сумма"),
        percent=_amount(element, "Процент"),
        included=bool_from(element, parts["УчтеноВСумме"]),
    )


def _tax(element: Element) -> Tax:
    parts = child_texts(element, "Наименование", "Ставка", "УчтеноВСумме")
    return Tax(
        name=parts["Наименование"] or "",
        amount=_amount(element, "Сумма"),
        rate=parts["Ставка"],
        included=bool_from(element, parts["УчтеноВСумме"]),
    )


def _amount(element: Element, name: str) -> Decimal | None:
    for child in element:
        if LOCAL[child.tag] == name:
            return optional_decimal(child)
    return None
