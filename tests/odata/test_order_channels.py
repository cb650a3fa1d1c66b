"""An order submitted through the storefront API reaches 1C over both channels with the catalog's
prices and the server's totals, and its overridden line marked: the sale exchange's CommerceML
(``mode=query``) and the OData document the push creates."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config import DatabaseSettings, ExchangeSettings, PathSettings, Settings
from exchange_formats.commerceml import read_orders
from storefront import close_app, create_app
from storefront.auth.apikeys import create_api_key
from storefront.auth.roles import ROLE_PERMISSIONS
from syncd.exchange.app import create_exchange_app, exchange_service
from syncd.odata.orders import push_orders
from syncd.odata.sync import run_odata_sync
from syncd.store.engine import make_engine
from tests.exchange.conftest import LOGIN, PASSWORD_HASH, OneC
from tests.odata import data
from tests.odata.fake1c import Fake1C
from tests.odata.test_orders import CONSTANTS, creates
from tests.storefront.conftest import Api
from tests.storefront.conftest import make_settings as storefront_settings

pytestmark = pytest.mark.postgres

RETAIL = data.ref("price_type", 0)
SHOWN, OWN = data.ref("product", 2), data.ref("product", 3)  # retail 1002.50 and 1003.50
LINES: list[dict[str, Any]] = [
    {"product_id": SHOWN, "quantity": "2", "price": "1002.50"},  # the price the shop showed
    {"product_id": OWN, "quantity": "1", "price": "99"},  # the shop's own price
]
ORDER: dict[str, Any] = {
    "customer": {"ref": "c-1", "name": "Иван Петров", "email": "ivan@example.ru"},
    "lines": LINES,
}


@pytest.fixture
def shop(fake: Fake1C, fresh_pg_url: str, make_settings: Callable[..., Settings]) -> Iterator[Api]:
    """The storefront over a catalog pulled from the fake 1C; keys with and without overrides."""
    data.fill(fake, products=4)
    engine = make_engine(DatabaseSettings(url=fresh_pg_url))
    assert run_odata_sync(make_settings(fresh_pg_url), engine).ok
    with Session(engine) as session:
        keys = {
            "shop": create_api_key(session, name="shop", role="shop")[1],
            "pricer": create_api_key(
                session, name="pricer", role="shop", scopes=[*ROLE_PERMISSIONS["shop"]]
            )[1],
        }
        session.commit()
    engine.dispose()
    app = create_app(
        storefront_settings(fresh_pg_url, default_price_type=RETAIL), {"TESTING": True}
    )
    yield Api(app, keys, fresh_pg_url)
    close_app(app)


@pytest.fixture
def sale_exchange(
    fresh_pg_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> Iterator[OneC]:
    settings = Settings(
        database=DatabaseSettings(url=fresh_pg_url),
        paths=PathSettings(data_dir=tmp_path / "exchange"),
        exchange=ExchangeSettings(username=LOGIN, password_hash=PASSWORD_HASH),
    )
    app: Flask = create_exchange_app(settings, make_db_engine(fresh_pg_url))
    yield OneC(app.test_client(use_cookies=False), exchange_service(app).settings.path, "sale")
    exchange_service(app).close()


def submit(api: Api, role: str, key: str, lines: list[dict[str, Any]] = LINES) -> Any:
    body = {**ORDER, "lines": lines}
    headers = {"Idempotency-Key": key}
    return api.post("/api/v1/orders", role=role, json=body, headers=headers)


def test_both_channels_carry_the_catalogs_prices_the_servers_totals_and_the_overridden_line(
    fake: Fake1C,
    shop: Api,
    sale_exchange: OneC,
    fresh_pg_url: str,
    make_settings: Callable[..., Settings],
) -> None:
    cheap = [{**LINES[0], "price": "1"}]
    refused = submit(shop, "shop", "k-0", cheap)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["details"] == [
        {"field": "lines[0].price", "message": "current price 1002.50"}
    ]
    no_scope = submit(shop, "shop", "k-1")  # an own price needs orders:price-override
    assert no_scope.status_code == 409
    assert no_scope.get_json()["error"]["details"] == [
        {"field": "lines[1].price", "message": "current price 1003.50"}
    ]

    pushed = submit(shop, "pricer", "k-2")
    assert pushed.status_code == 201, pushed.get_json()
    assert pushed.get_json()["total"] == "2104.00"  # 2 x 1002.50 + 99

    # (b) over OData: the push creates 1C's document from what the server stored
    settings = make_settings(fresh_pg_url, order_constants=CONSTANTS)
    engine = make_engine(DatabaseSettings(url=fresh_pg_url))
    try:
        assert push_orders(settings, engine).created == 1
    finally:
        engine.dispose()
    [create] = creates(fake)
    document = json.loads(create.content, parse_float=Decimal)
    assert document["НомерПоДаннымКлиента"] == pushed.get_json()["number"]
    assert document["СуммаДокумента"] == Decimal("2104")
    assert [(row["Номенклатура_Key"], row["Цена"], row["Сумма"]) for row in document["Товары"]] == [
        (SHOWN, Decimal("1002.5"), Decimal("2005")),
        (OWN, 99, 99),
    ]
    assert document["Комментарий"].endswith("Цена установлена сайтом в строках: 2")

    # (a) over the sale exchange: the next order is in the CommerceML 1C fetches
    fetched = submit(shop, "pricer", "k-3")
    assert fetched.status_code == 201
    sale_exchange.start()
    reply = sale_exchange.call("query")
    assert reply.status_code == 200
    [order] = read_orders(io.BytesIO(reply.data), name="query.xml", tz=ZoneInfo("Europe/Moscow"))
    assert (order.number, order.total) == (fetched.get_json()["number"], Decimal("2104.00"))
    assert order.lines is not None
    assert [(line.onec_id, line.price, line.quantity, line.total) for line in order.lines] == [
        (SHOWN, Decimal("1002.50"), Decimal(2), Decimal("2005.00")),
        (OWN, Decimal("99.00"), Decimal(1), Decimal("99.00")),
    ]
    marks = [{r.name: r.value for r in line.requisites} for line in order.lines]
    assert "ЦенаУстановленаСайтом" not in marks[0]
    assert (marks[1]["ЦенаУстановленаСайтом"], marks[1]["ЦенаПоПрайсу"]) == ("true", "1003.5000")
    assert order.comment == "Цена установлена сайтом в строках: 2"


def test_the_price_1c_receives_follows_the_catalog_not_an_earlier_caller(
    fake: Fake1C, shop: Api, fresh_pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    fake.virtual[f"{data.PRICES}/SliceLast"] = [
        {**row, "Цена": Decimal("1200.00")} if row["Номенклатура_Key"] == SHOWN else row
        for row in fake.virtual[f"{data.PRICES}/SliceLast"]
    ]
    engine = make_engine(DatabaseSettings(url=fresh_pg_url))
    try:
        assert run_odata_sync(make_settings(fresh_pg_url), engine).ok  # 1C changed the price
        stale = submit(shop, "shop", "k-1", [LINES[0]])
        assert stale.status_code == 409  # the shop showed the old one
        assert stale.get_json()["error"]["details"][0]["message"] == "current price 1200.00"
        assert (
            submit(shop, "shop", "k-2", [{"product_id": SHOWN, "quantity": "2"}]).status_code == 201
        )
        settings = make_settings(fresh_pg_url, order_constants=CONSTANTS)
        assert push_orders(settings, engine).created == 1
    finally:
        engine.dispose()
    [create] = creates(fake)
    [row] = json.loads(create.content, parse_float=Decimal)["Товары"]
    assert (row["Цена"], row["Сумма"]) == (Decimal("1200"), Decimal("2400"))
