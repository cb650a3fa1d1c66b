"""Register virtual-table rows -> OfferPrices (``SliceLast``) and OfferStock (``Balance``).

Both are snapshots: the rows of one answer describe every offer the answer covers. An offer is
``<product>`` or, when the row names a characteristic, ``<product>#<characteristic>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from exchange_formats.errors import FormatError
from exchange_formats.odata import values
from exchange_formats.odata.catalog import currency_of
from exchange_formats.odata.values import field
from exchange_formats.records import OfferPrices, OfferStock, Price, StockLevel

Row = dict[str, Any]
FieldMap = Mapping[str, str]


def offer_key(row: Row, fields: FieldMap, *, source: str | None) -> tuple[str, str]:
    """``(offer_onec_id, product_onec_id)`` of a register row."""
    product = field(row, fields.get("product", ""), values.ref, source=source)
    if product is None:
        raise FormatError(
            f"row without a product ({fields.get('product') or 'product field not configured'})",
            source=source,
            element="row",
        )
    characteristic = field(row, fields.get("characteristic", ""), values.ref, source=source)
    offer = f"{product}#{characteristic}" if characteristic else str(product)
    return offer, str(product)


def read_prices(
    rows: Iterable[Row],
    fields: FieldMap,
    *,
    source: str | None,
    currencies: Mapping[str, str] | None = None,
) -> list[OfferPrices]:
    """One OfferPrices per offer, holding a price per price type (the last row of a pair wins).

    A price's currency is the row's own (``currency`` role, a reference resolved through
    ``currencies``); ``with_type_currencies`` fills the rest from their price types.
    """
    found: dict[tuple[str, str], dict[str, Price]] = {}
    for row in rows:
        key = offer_key(row, fields, source=source)
        price_type = field(row, fields.get("price_type", ""), values.ref, source=source)
        amount = field(row, fields.get("price", ""), values.decimal, source=source)
        if price_type is None or amount is None:
            raise FormatError(
                "price row without a price type or a price", source=source, element="row"
            )
        currency = currency_of(row.get(fields.get("currency", "")), currencies or {})
        found.setdefault(key, {})[price_type] = Price(
            price_type_onec_id=price_type, value=amount, currency=currency
        )
    return [
        OfferPrices(offer_onec_id=offer, product_onec_id=product, prices=tuple(prices.values()))
        for (offer, product), prices in found.items()
    ]


def with_type_currencies(
    items: Iterable[OfferPrices], type_currencies: Mapping[str, str | None]
) -> list[OfferPrices]:
    """``items`` with each currency-less price in its price type's currency.

    CommerceML states a currency on every price; 1C's price registers usually leave it to the
    price type (``ВидЦены.ВалютаЦены``), so both sources end with the same currency per price.
    """
    return [
        replace(
            item,
            prices=tuple(
                price
                if price.currency
                else replace(price, currency=type_currencies.get(price.price_type_onec_id))
                for price in item.prices
            ),
        )
        for item in items
    ]


def read_stock(rows: Iterable[Row], fields: FieldMap, *, source: str | None) -> list[OfferStock]:
    """One OfferStock per offer: a level per warehouse and their sum as the total.

    A null resource (1C omits empty numbers) counts as zero. Without a warehouse field only the
    total is set.
    """
    levels: dict[tuple[str, str], dict[str, Decimal]] = {}
    for row in rows:
        key = offer_key(row, fields, source=source)
        quantity = field(row, fields.get("quantity", ""), values.decimal, source=source)
        warehouse = field(row, fields.get("warehouse", ""), values.ref, source=source) or ""
        per_offer = levels.setdefault(key, {})
        per_offer[warehouse] = per_offer.get(warehouse, Decimal(0)) + (quantity or Decimal(0))
    return [
        stock_record(offer, product, by_warehouse)
        for (offer, product), by_warehouse in levels.items()
    ]


def stock_record(offer: str, product: str, by_warehouse: Mapping[str, Decimal]) -> OfferStock:
    """OfferStock from quantities per warehouse (``""``: no warehouse named)."""
    return OfferStock(
        offer_onec_id=offer,
        product_onec_id=product,
        total=sum(by_warehouse.values(), Decimal(0)),
        levels=tuple(
            StockLevel(warehouse_onec_id=wh, quantity=qty)
            for wh, qty in sorted(by_warehouse.items())
            if wh
        ),
    )
