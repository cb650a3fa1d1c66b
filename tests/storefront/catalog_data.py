"""A small catalog written straight into the tables, as the import pipeline leaves them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert

from syncd.store.models import (
    Group,
    MediaFile,
    Offer,
    Price,
    PriceType,
    Product,
    ProductGroup,
    ProductImage,
    ProductPropertyValue,
    Property,
    PropertyOption,
    Stock,
    Warehouse,
)

GROUPS = [
    {"onec_id": "g-tools", "parent_onec_id": None, "name": "Инструменты", "sort": 1},
    {"onec_id": "g-drills", "parent_onec_id": "g-tools", "name": "Дрели", "sort": 1},
    {"onec_id": "g-bits", "parent_onec_id": "g-drills", "name": "Свёрла", "sort": 2},
    {"onec_id": "g-garden", "parent_onec_id": None, "name": "Сад", "sort": 2},
    {"onec_id": "g-old", "parent_onec_id": None, "name": "Старое", "sort": 3, "is_deleted": True},
]
PRICE_TYPES = [
    {"onec_id": "pt-retail", "name": "Розничная", "currency": "RUB"},
    {"onec_id": "pt-wholesale", "name": "Оптовая", "currency": "RUB"},
]
WAREHOUSES = [
    {"onec_id": "wh-main", "name": "Основной склад", "address": "Москва"},
    {"onec_id": "wh-shop", "name": "Магазин", "address": None},
]
PROPERTIES = [
    {"onec_id": "prop-color", "name": "Цвет", "value_type": "Справочник"},
    {"onec_id": "prop-power", "name": "Мощность", "value_type": "Число"},
]
OPTIONS = [
    {"property_onec_id": "prop-color", "onec_id": "opt-red", "value": "Красный"},
    {"property_onec_id": "prop-color", "onec_id": "opt-blue", "value": "Синий"},
]
PRODUCTS = [
    {
        "onec_id": "p-drill",
        "name": "Дрель ударная Bosch",
        "sku": "BOSCH-1",
        "group_onec_id": "g-drills",
        "unit": "шт",
        "description": "Мощная ударная дрель для работы по бетону",
        "requisites": [{"name": "Вес", "value": "2.1"}],
        "taxes": [{"name": "НДС", "rate": "20"}],
    },
    {
        "onec_id": "p-bit",
        "name": "Сверло по бетону",
        "sku": "BIT",
        "group_onec_id": "g-bits",
        "unit": "шт",
        "description": "Победитовое сверло",
    },
    {
        "onec_id": "p-hose",
        "name": "Шланг садовый",
        "sku": "HOSE",
        "group_onec_id": "g-garden",
        "unit": "м",
        "description": None,
    },
    {
        "onec_id": "p-hammer",
        "name": "Молоток",
        "sku": "HAM",
        "group_onec_id": "g-tools",
        "unit": "шт",
        "description": "Молоток слесарный",
    },
    {
        "onec_id": "p-gone",
        "name": "Дрель старая",
        "sku": "OLD",
        "group_onec_id": "g-drills",
        "unit": "шт",
        "description": "Снята с продажи",
        "is_deleted": True,
    },
]
PRODUCT_GROUPS = [
    {"product_onec_id": "p-drill", "group_onec_id": "g-drills"},
    {"product_onec_id": "p-bit", "group_onec_id": "g-bits"},
    {"product_onec_id": "p-hose", "group_onec_id": "g-garden"},
    {"product_onec_id": "p-hammer", "group_onec_id": "g-tools"},
    {"product_onec_id": "p-hammer", "group_onec_id": "g-garden"},  # in two groups
]
PROPERTY_VALUES = [
    {
        "product_onec_id": "p-drill",
        "property_onec_id": "prop-color",
        "position": 0,
        "value": "opt-blue",
    },
    {"product_onec_id": "p-drill", "property_onec_id": "prop-power", "position": 0, "value": "750"},
    {
        "product_onec_id": "p-hose",
        "property_onec_id": "prop-color",
        "position": 0,
        "value": "opt-red",
    },
]
IMAGES = [
    {
        "product_onec_id": "p-drill",
        "position": 0,
        "path": "import_files/ab/drill.jpg",
        "caption": None,
    },
    {
        "product_onec_id": "p-drill",
        "position": 1,
        "path": "import_files/ab/drill2.jpg",
        "caption": "Сбоку",
    },
]
MEDIA = [
    {
        "path": "import_files/ab/drill.jpg",
        "sha256": "a" * 64,
        "size": 1234,
        "content_type": "image/jpeg",
    }
]
OFFERS = [
    {"onec_id": "p-drill", "product_onec_id": "p-drill", "name": "Дрель ударная Bosch"},
    {
        "onec_id": "p-bit#6",
        "product_onec_id": "p-bit",
        "name": "Сверло по бетону 6 мм",
        "characteristics": [{"name": "Диаметр", "value": "6 мм", "onec_id": "c6"}],
        "property_values": [{"property": "prop-color", "values": ["opt-red"]}],
    },
    {
        "onec_id": "p-bit#8",
        "product_onec_id": "p-bit",
        "name": "Сверло по бетону 8 мм",
        "characteristics": [{"name": "Диаметр", "value": "8 мм", "onec_id": "c8"}],
    },
    {"onec_id": "p-hose", "product_onec_id": "p-hose", "name": "Шланг садовый"},
    {"onec_id": "p-hammer", "product_onec_id": "p-hammer", "name": "Молоток"},
    {"onec_id": "p-gone", "product_onec_id": "p-gone", "name": "Дрель старая", "is_deleted": True},
]
PRICES = [
    ("p-drill", "p-drill", "pt-retail", "5990"),
    ("p-drill", "p-drill", "pt-wholesale", "5200"),
    ("p-bit#6", "p-bit", "pt-retail", "150"),
    ("p-bit#8", "p-bit", "pt-retail", "180.5"),
    ("p-hose", "p-hose", "pt-retail", "990"),
    ("p-hammer", "p-hammer", "pt-retail", "450"),
    ("p-gone", "p-gone", "pt-retail", "100"),
]
STOCK = [
    ("p-drill", "p-drill", "", "7"),
    ("p-drill", "p-drill", "wh-main", "5"),
    ("p-drill", "p-drill", "wh-shop", "2"),
    ("p-bit#6", "p-bit", "wh-main", "10"),
    ("p-bit#8", "p-bit", "wh-main", "0"),
    ("p-hammer", "p-hammer", "", "0"),
    ("p-gone", "p-gone", "wh-shop", "3"),
]


def seed_catalog(connection: Connection) -> None:
    """Write the catalog above (the caller commits)."""
    _insert(connection, Group, GROUPS)
    _insert(connection, PriceType, PRICE_TYPES)
    _insert(connection, Warehouse, WAREHOUSES)
    _insert(connection, Property, PROPERTIES)
    _insert(connection, PropertyOption, OPTIONS)
    _insert(connection, Product, PRODUCTS)
    _insert(connection, ProductGroup, PRODUCT_GROUPS)
    _insert(connection, ProductPropertyValue, PROPERTY_VALUES)
    _insert(connection, ProductImage, IMAGES)
    _insert(connection, MediaFile, MEDIA)
    _insert(connection, Offer, OFFERS)
    _insert(
        connection,
        Price,
        [
            {
                "offer_onec_id": o,
                "product_onec_id": p,
                "price_type_onec_id": t,
                "value": Decimal(v),
                "currency": "RUB",
            }
            for o, p, t, v in PRICES
        ],
    )
    _insert(
        connection,
        Stock,
        [
            {
                "offer_onec_id": o,
                "product_onec_id": p,
                "warehouse_onec_id": w,
                "quantity": Decimal(q),
            }
            for o, p, w, q in STOCK
        ],
    )


def _insert(connection: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    defaults: dict[str, Any] = {}
    columns = model.__table__.c
    if "is_deleted" in columns:
        defaults["is_deleted"] = False
    for name in ("requisites", "taxes", "characteristics", "property_values"):
        if name in columns:
            defaults[name] = []
    connection.execute(insert(model), [{**defaults, **row} for row in rows])
