"""On PostgreSQL a listing's and a search's items are written as JSON by the database
(``summaries_json``): the page a shop receives must be, byte for byte, the one the Python
summaries give, for every kind of value a catalog holds (missing fields, text that JSON escapes,
prices with up to four decimals or on request, several variants, stock per warehouse or as 1C's
total, negative stock, images with and without a caption, change times with and without
microseconds)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from config import DatabaseSettings
from storefront.formatting import RawJSON
from storefront.queries.products import (
    ProductFilters,
    list_products,
    summaries,
    summaries_json,
)
from storefront.queries.search import search_products
from storefront.responses import dumps
from syncd.store.engine import make_engine
from syncd.store.models import Offer, Price, Product, ProductGroup, ProductImage, Stock
from tests.conftest import PgServer
from tests.storefront.catalog_data import seed_catalog

pytestmark = pytest.mark.postgres

_ODD_NAMES = [
    'Кавычки "внутри" и \\обратная\\ черта',
    "Строка\nвторая\tтаб\r\x01\x1f конец",
    "Эмодзи 🔨 и U+2028 \u2028 / слэш",
    "",
]
_PRICES = [  # (offer suffix, price type, value): None is a price on request
    ("a", "pt-retail", "0"),
    ("a", "pt-wholesale", "12.3456"),
    ("b", "pt-retail", "1500.5"),
    ("c", "pt-retail", None),
    ("d", "pt-retail", "99999999999999.99"),
    ("e", "pt-retail", "7.1"),
    ("e", "pt-wholesale", None),
]


def _odd_products(connection: Any) -> None:
    """Products whose every field takes a value the plain catalog does not have."""
    moments = [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 6, 30, 21, 0, 0, 500000, tzinfo=UTC),
    ]
    for n, (name, moment) in enumerate(zip(_ODD_NAMES, moments, strict=True)):
        product = f"odd-{n}"
        connection.execute(
            insert(Product),
            {
                "onec_id": product,
                "name": name,
                "sku": None if n % 2 else f"SKU-{n}",
                "code": 'Код "1"' if n == 0 else None,
                "barcode": "4600000000000" if n == 1 else None,
                "group_onec_id": "g-garden" if n < 3 else None,
                "unit": None,
                "brand": "Бренд\\" if n == 2 else None,
                "manufacturer": "Завод" if n == 3 else None,
                "requisites": [],
                "taxes": [],
                "is_deleted": False,
                "updated_at": moment,
            },
        )
        connection.execute(
            insert(ProductGroup), {"product_onec_id": product, "group_onec_id": "g-garden"}
        )
        for suffix, price_type, value in _PRICES[n:]:
            offer = f"{product}#{suffix}"
            if connection.scalar(select(Offer.onec_id).where(Offer.onec_id == offer)) is None:
                connection.execute(
                    insert(Offer),
                    {
                        "onec_id": offer,
                        "product_onec_id": product,
                        "name": offer,
                        "characteristics": [],
                        "property_values": [],
                        "is_deleted": suffix == "b" and n == 1,  # a deleted variant's price
                    },
                )
            connection.execute(
                insert(Price),
                {
                    "offer_onec_id": offer,
                    "product_onec_id": product,
                    "price_type_onec_id": price_type,
                    "value": None if value is None else Decimal(value),
                    "presentation": "Уточняйте у менеджера" if value is None else None,
                    "currency": "RUB" if n != 2 else None,
                },
            )
        stock = {0: [("", "-2.5")], 1: [("wh-main", "0.0001"), ("wh-shop", "3")], 2: []}
        for warehouse, quantity in stock.get(n, [("", "0"), ("wh-main", "4")]):
            connection.execute(
                insert(Stock),
                {
                    "offer_onec_id": f"{product}#{_PRICES[n][0]}",
                    "product_onec_id": product,
                    "warehouse_onec_id": warehouse,
                    "quantity": Decimal(quantity),
                },
            )
        if n < 2:
            connection.execute(
                insert(ProductImage),
                {
                    "product_onec_id": product,
                    "position": 3,
                    "path": f'import_files/"{n}"/фото.jpg',
                    "caption": None if n else 'Подпись "в кавычках"',
                },
            )


@pytest.fixture(scope="module")
def catalog(pg_server: PgServer) -> Iterator[Engine]:
    url = pg_server.create()
    engine = make_engine(DatabaseSettings(url=url))
    with engine.begin() as connection:
        seed_catalog(connection)
        _odd_products(connection)
    yield engine
    engine.dispose()
    pg_server.drop(url)


def _python_json(items: list[dict[str, Any]]) -> str:
    return dumps(items).decode()


@pytest.mark.parametrize("price_type", ["pt-retail", "pt-wholesale", None, "pt-unknown"])
def test_the_database_writes_the_items_the_python_summaries_give(
    catalog: Engine, price_type: str | None
) -> None:
    with Session(catalog) as session:
        ids = list(session.scalars(select(Product.onec_id).order_by(Product.id.desc())))
        ids.insert(2, "no-such-product")
        expected = _python_json(summaries(session, ids, price_type))
        written = summaries_json(session, ids, price_type)
    assert written.text == expected
    assert len(ids) == 10  # the five plain products, the four odd ones and an unknown id


@pytest.mark.parametrize(
    "filters",
    [
        ProductFilters(price_type="pt-retail", limit=3),
        ProductFilters(group="g-garden", sort="-price", price_type="pt-retail", limit=4),
        ProductFilters(in_stock=True, sort="-updated", price_type="pt-wholesale"),
    ],
    ids=["by name", "a group by price", "in stock, newest"],
)
def test_a_page_is_the_same_bytes_whoever_writes_its_items(
    catalog: Engine, filters: ProductFilters
) -> None:
    with Session(catalog) as session:
        as_dicts = list_products(session, filters)
        as_json = list_products(session, filters, items_as_json=True)
    assert isinstance(as_json["items"], RawJSON)
    assert as_dicts["items"], "an empty page would prove nothing"
    assert dumps(as_json) == dumps(as_dicts)


def test_an_empty_page_is_an_empty_array(catalog: Engine) -> None:
    filters = ProductFilters(group="g-garden", price_type="pt-retail", price_min=Decimal(10**15))
    with Session(catalog) as session:
        page = list_products(session, filters, items_as_json=True)
    assert dumps(page) == b'{"items":[],"next_cursor":null}'


@pytest.mark.parametrize(
    ("q", "price_type"),
    [
        ("бетону", "pt-retail"),  # in one name and in another's description: two ranks
        ("кавычки or строка or эмодзи or молоток", "pt-wholesale"),
        ("кавычки or строка", None),
    ],
)
def test_a_search_page_is_the_same_bytes_whoever_writes_its_items(
    catalog: Engine, q: str, price_type: str | None
) -> None:
    def search(session: Session, *, as_json: bool) -> dict[str, Any]:
        return search_products(
            session,
            q,
            limit=10,
            cursor=None,
            group=None,
            price_type=price_type,
            items_as_json=as_json,
        )

    with Session(catalog) as session:
        as_dicts = search(session, as_json=False)
        as_json = search(session, as_json=True)
    assert isinstance(as_json["items"], RawJSON)
    assert len(as_dicts["items"]) >= 2, "a page of one item would prove little"
    assert dumps(as_json) == dumps(as_dicts)


def test_search_ranks_are_written_as_python_writes_them(catalog: Engine) -> None:
    with Session(catalog) as session:
        written = summaries_json(
            session, ["p-drill", "odd-0", "p-hose"], "pt-retail", ranks=[0.060793, 1e-06, 0.0]
        )
    ranks = [item.rsplit(',"rank":', 1)[1] for item in written.text[2:-2].split("},{")]
    assert ranks == ["0.060793", "1e-06", "0.0"]
