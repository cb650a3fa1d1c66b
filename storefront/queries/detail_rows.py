"""The rows a product page is made of, whichever way they were fetched (one PostgreSQL
statement in ``product_detail_pg``, or the portable queries in ``product_detail``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DetailRows:
    """Everything a product page is made of, each list already in display order."""

    product: Row
    groups: list[Row]  # onec_id, name (the product's first group first)
    properties: list[Row]  # property_onec_id, value, name, option
    images: list[Row]  # path, caption, sha256, size, content_type
    offers: list[Row]  # onec_id, name, sku, barcode, unit, characteristics, property_values
    prices: list[Row]  # offer_onec_id, price_type_onec_id, value, currency, unit, ...
    stock: list[Row]  # offer_onec_id, warehouse_onec_id, quantity, name
    options: dict[tuple[str, str], str] = field(default_factory=dict)
