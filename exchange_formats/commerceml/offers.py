"""Предложение of ПакетПредложений / ИзмененияПакетаПредложений: offers, prices and stock.

One element can carry any mix of the three, so it gives up to three records: an ``Offer`` when it
describes the offer (name, article, characteristics, properties, deletion mark, ...), an
``OfferPrices`` when it has ``Цены``, an ``OfferStock`` when it states stock in any of the
shapes 1C uses:

* ``<Количество>`` - the total;
* ``<Склад ИдСклада=".." КоличествоНаСкладе=".."/>`` (2.06+; repeated per warehouse);
* ``<Склады ИдСклада=".." КоличествоНаСкладе=".."/>`` (ИзмененияПакетаПредложений);
* ``<Остатки><Остаток><Склад><Ид/><Количество/></Склад></Остаток>...`` (Bitrix 2.09/3.1);
* ``<Остатки><Остаток><Количество/></Остаток>`` - no warehouse: adds to the total.

A shape that is absent says nothing: it never becomes zero.

A price with an empty ``ЦенаЗаЕдиницу`` and a ``Представление`` ("Уточните у менеджера") is 1C's
price on request: a ``Price`` with ``value=None`` and the presentation (the writer counts it as a
warning). An empty ``ЦенаЗаЕдиницу`` without a presentation is the same: 1C has no price to state.
"""

from __future__ import annotations

from decimal import Decimal

from exchange_formats._xml import LOCAL
from exchange_formats.commerceml._elements import (
    Element,
    bool_of,
    characteristics,
    fail,
    is_deleted_status,
    optional_decimal,
    property_values,
    text,
    unit_ref,
)
from exchange_formats.commerceml._values import BadValue, to_currency, to_decimal
from exchange_formats.records import (
    Characteristic,
    Offer,
    OfferPrices,
    OfferStock,
    Price,
    PropertyValue,
    StockLevel,
    UnitRef,
)

OfferRecord = Offer | OfferPrices | OfferStock

_DESCRIPTIVE = frozenset(
    {
        "Наименование",
        "Артикул",
        "Штрихкод",
        "ШтрихКод",  # misspelt in 2.03 exports
        "БазоваяЕдиница",
        "ХарактеристикиТовара",
        "ЗначенияСвойств",
        "ПометкаУдаления",
    }
)


class _Stock:
    """Stock as stated so far by one Предложение."""

    __slots__ = ("levels", "stated", "total")

    def __init__(self) -> None:
        self.total: Decimal | None = None
        self.levels: list[StockLevel] = []
        self.stated = False

    def add_total(self, quantity: Decimal | None) -> None:
        if quantity is not None:
            self.total = quantity if self.total is None else self.total + quantity
            self.stated = True

    def add_level(self, warehouse_onec_id: str, quantity: Decimal) -> None:
        self.levels.append(StockLevel(warehouse_onec_id=warehouse_onec_id, quantity=quantity))
        self.stated = True


def offer_records(element: Element) -> tuple[OfferRecord, ...]:
    """The records one Предложение gives, in the order Offer, OfferPrices, OfferStock."""
    onec_id = variant_id = name = sku = barcode = version = None
    unit: UnitRef | None = None
    variant: tuple[Characteristic, ...] = ()
    properties: tuple[PropertyValue, ...] = ()
    deleted = is_deleted_status(element)
    descriptive = deleted
    prices: tuple[Price, ...] | None = None
    stock = _Stock()
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            onec_id = text(child)
        elif tag == "Цены":
            prices = tuple(_price(entry) for entry in child if LOCAL[entry.tag] == "Цена")
        elif tag == "Количество":
            stock.add_total(optional_decimal(child))
        elif tag == "Остатки":
            _rests(child, stock)
        elif tag == "Склад" or tag == "Склады":
            _warehouse_stock(child, stock)
        elif tag in _DESCRIPTIVE:
            descriptive = True
            if tag == "Наименование":
                name = text(child)
            elif tag == "Артикул":
                sku = text(child)
            elif tag == "Штрихкод" or tag == "ШтрихКод":
                barcode = text(child)
            elif tag == "БазоваяЕдиница":
                unit = unit_ref(child)
            elif tag == "ХарактеристикиТовара":
                variant = characteristics(child)
            elif tag == "ЗначенияСвойств":
                properties = property_values(child)
            else:
                deleted = bool_of(child) or deleted
        elif tag == "НомерВерсии":
            version = text(child)
        elif tag == "ИдХарактеристики":
            variant_id = text(child)
    if onec_id is None:
        raise fail(element, "an offer has no Ид")
    if variant_id and "#" not in onec_id:
        onec_id = f"{onec_id}#{variant_id}"
    product_onec_id = onec_id.split("#", 1)[0]
    found: list[OfferRecord] = []
    if descriptive:
        found.append(
            Offer(
                onec_id=onec_id,
                product_onec_id=product_onec_id,
                name=name,
                sku=sku,
                barcode=barcode,
                unit=unit,
                characteristics=variant,
                property_values=properties,
                deleted=deleted,
                version=version,
            )
        )
    if prices is not None:
        found.append(
            OfferPrices(offer_onec_id=onec_id, product_onec_id=product_onec_id, prices=prices)
        )
    if stock.stated:
        found.append(
            OfferStock(
                offer_onec_id=onec_id,
                product_onec_id=product_onec_id,
                total=stock.total,
                levels=tuple(stock.levels),
            )
        )
    return tuple(found)


def _price(element: Element) -> Price:
    type_id = value = currency = unit = coefficient = presentation = min_quantity = None
    for child in element:
        tag = LOCAL[child.tag]
        raw = child.text
        if tag == "ЦенаЗаЕдиницу":
            value = optional_decimal(child)
        elif tag == "ИдТипаЦены":
            type_id = raw.strip() if raw else None
        elif tag == "Валюта":
            currency = _currency(raw)
        elif tag == "Единица":
            unit = raw.strip() if raw else None
        elif tag == "Коэффициент":
            coefficient = optional_decimal(child)
        elif tag == "Представление":
            presentation = raw.strip() if raw else None
        elif tag == "МинКоличество":
            min_quantity = optional_decimal(child)
    if not type_id:
        raise fail(element, "a price has no ИдТипаЦены")
    return Price(
        price_type_onec_id=type_id,
        value=value,
        currency=currency,
        unit=unit or None,
        coefficient=coefficient,
        presentation=presentation or None,
        min_quantity=min_quantity,
    )


_CURRENCIES: dict[str | None, str | None] = {}


def _currency(raw: str | None) -> str | None:
    """``to_currency``, memoised: a file names a handful of currencies a million times."""
    try:
        return _CURRENCIES[raw]
    except KeyError:
        if len(_CURRENCIES) > 1000:
            _CURRENCIES.clear()
        found = _CURRENCIES[raw] = to_currency(raw or "")
        return found


def _warehouse_stock(element: Element, stock: _Stock, beside: Element | None = None) -> None:
    """A warehouse's stock: ``ИдСклада``/``КоличествоНаСкладе`` attributes, ``Ид``/``Количество``
    children, or (``Остаток``) a ``Количество`` beside the ``Склад`` element."""
    warehouse_id = element.get("ИдСклада") or element.get("Ид")
    quantity_text = element.get("КоличествоНаСкладе") or element.get("Количество")
    quantity_element = element
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Ид" and warehouse_id is None:
            warehouse_id = child.text
        elif tag in ("Количество", "КоличествоНаСкладе") and quantity_text is None:
            quantity_text, quantity_element = child.text, child
    if quantity_text is None and beside is not None:
        quantity_text, quantity_element = beside.text, beside
    warehouse_id = (warehouse_id or "").strip()
    if not warehouse_id:
        raise fail(element, "stock on a warehouse without the warehouse's Ид")
    if quantity_text is not None and quantity_text.strip():
        try:
            quantity = to_decimal(quantity_text)
        except BadValue as exc:
            raise fail(quantity_element, str(exc)) from None
        stock.add_level(warehouse_id, quantity)


def _rests(container: Element, stock: _Stock) -> None:
    """Остатки/Остаток*: each with a Склад (a warehouse row) or only a Количество (the total)."""
    for rest in container:
        if LOCAL[rest.tag] != "Остаток":
            continue
        warehouse = quantity = None
        for child in rest:
            tag = LOCAL[child.tag]
            if tag == "Склад":
                warehouse = child
            elif tag == "Количество":
                quantity = child
        if warehouse is not None:
            _warehouse_stock(warehouse, stock, quantity)
        elif quantity is not None:
            stock.add_total(optional_decimal(quantity))
