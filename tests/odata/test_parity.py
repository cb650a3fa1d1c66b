"""One model, every source: a catalog 1C delivers as CommerceML and the same catalog read over
OData end in the same storefront JSON, product by product and field by field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import DatabaseSettings, Settings
from storefront import close_app, create_app
from storefront.auth.apikeys import create_api_key
from syncd.importer.pipeline import import_files
from syncd.odata.sync import run_odata_sync
from syncd.store import models
from syncd.store.engine import make_engine
from tests.odata import data
from tests.odata.fake1c import Fake1C, odata_error
from tests.storefront.conftest import Api
from tests.storefront.conftest import make_settings as storefront_settings

pytestmark = [pytest.mark.postgres]
HEAD = '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.07">'
TAIL = "</КоммерческаяИнформация>"
KIND = data.ref("kind", 0)  # the product kind that owns the shared characteristics
PRICE_TYPES = {data.ref("price_type", 0): "Розничная", data.ref("price_type", 1): "Оптовая"}
WAREHOUSES = {data.ref("warehouse", 0): "Склад 0", data.ref("warehouse", 1): "Склад 1"}
VOLATILE = ("updated_at",)  # when each database wrote the row


@dataclass
class Item:
    """A product as 1C holds it: offers ``""`` (itself) or characteristic Ref_Keys."""

    i: int
    group: int
    use: str  # ИспользованиеХарактеристик
    variants: dict[str, str] = field(default_factory=dict)  # characteristic -> its name
    prices: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (offer, type) -> value
    stock: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (offer, warehouse)

    @property
    def ref(self) -> str:
        return data.ref("product", self.i)

    def offers(self) -> list[str]:
        return list(self.variants) or [""]


def catalog(n: int) -> list[Item]:
    """Products without characteristics, with their own, with their kind's; some never priced."""
    shared = {data.ref("char", 900 + k): f"Размер {40 + k}" for k in range(3)}
    items = []
    for i in range(n):
        if i % 10 == 3:
            item = Item(i, i % 3, "ИндивидуальныеДляНоменклатуры")
            item.variants = {data.ref("char", i * 10 + k): f"Цвет {k}" for k in range(2)}
        elif i % 10 == 7:
            item = Item(i, i % 3, "ОбщиеДляВидаНоменклатуры")
            item.variants = dict(shared)  # every product of the kind has all its kind's
        else:
            item = Item(i, i % 3, "НеИспользовать")
        for n_offer, offer in enumerate(item.offers()):
            if i % 13 == 5:
                continue  # never priced nor stocked in 1C
            for t, price_type in enumerate(PRICE_TYPES):
                item.prices[(offer, price_type)] = Decimal(f"{1000 + i * 7 + n_offer}.{t}5")
            item.stock[(offer, data.ref("warehouse", i % 2))] = Decimal(
                (i + n_offer) % 6 + 1
            )  # 1C omits zero balances
        items.append(item)
    return items


# --- the catalog as 1C's OData serves it ------------------------------------------------------


def serve(fake: Fake1C, items: list[Item]) -> None:
    for g in range(3):
        fake.put(data.PRODUCTS, data.group_row(g))
    fake.put(data.CURRENCIES, data.currency_row())
    for t in range(2):
        fake.put(data.PRICE_TYPES, data.price_type_row(t))
    for w in range(2):
        fake.put(data.WAREHOUSES, data.warehouse_row(w))
    prices, stock = [], []
    for item in items:
        fake.put(
            data.PRODUCTS,
            data.product_row(item.i, group=item.group, ИспользованиеХарактеристик=item.use),
        )
        for char, name in item.variants.items():
            owner = (
                (data.PRODUCTS, item.ref)
                if item.i % 10 == 3
                else ("Catalog_ВидыНоменклатуры", KIND)
            )
            fake.put(
                data.CHARACTERISTICS,
                {
                    "Ref_Key": char,
                    "DeletionMark": False,
                    "Description": name,
                    "Owner": owner[1],
                    "Owner_Type": f"StandardODATA.{owner[0]}",
                },
            )
        for (offer, price_type), value in item.prices.items():
            row = data.price_row(item.i, 0, "0", characteristic=offer or data.ZERO)
            prices.append({**row, "ВидЦены_Key": price_type, "Цена": value})
        for (offer, warehouse), quantity in item.stock.items():
            row = data.stock_row(item.i, 0, "0", characteristic=offer or data.ZERO)
            stock.append({**row, "Склад_Key": warehouse, "ВНаличииBalance": quantity})
    fake.entities[data.CHARACTERISTICS]  # published, even when empty
    fake.put(data.CUSTOMERS, data.customer_row(0))
    fake.virtual[f"{data.PRICES}/SliceLast"] = prices
    fake.virtual[f"{data.STOCK}/Balance"] = stock


# --- the same catalog as CommerceML -----------------------------------------------------------


def import_xml(items: list[Item]) -> str:
    groups = "".join(
        f"<Группа><Ид>{data.ref('group', g)}</Ид><Наименование>Группа {g}</Наименование></Группа>"
        for g in range(3)
    )
    products = "".join(_product(item) for item in items)
    return (
        f"{HEAD}<Классификатор><Ид>CLS</Ид><Наименование>К</Наименование><Группы>{groups}"
        '</Группы></Классификатор><Каталог СодержитТолькоИзменения="false"><Ид>CAT</Ид>'
        f"<ИдКлассификатора>CLS</ИдКлассификатора><Наименование>К</Наименование><Товары>"
        f"{products}</Товары></Каталог>{TAIL}"
    )


def _product(item: Item) -> str:
    row = data.product_row(item.i)
    return (
        f"<Товар><Ид>{item.ref}</Ид><Код>{row['Code']}</Код><Артикул>{row['Артикул']}</Артикул>"
        f"<Наименование>{escape(row['Description'])}</Наименование>"
        f"<Группы><Ид>{data.ref('group', item.group)}</Ид></Группы>"
        f"<Описание>{escape(row['Описание'])}</Описание></Товар>"
    )


def offers_xml(items: list[Item]) -> str:
    types = "".join(
        f"<ТипЦены><Ид>{key}</Ид><Наименование>{name}</Наименование><Валюта>руб</Валюта></ТипЦены>"
        for key, name in PRICE_TYPES.items()
    )
    warehouses = "".join(
        f"<Склад><Ид>{key}</Ид><Наименование>{name}</Наименование></Склад>"
        for key, name in WAREHOUSES.items()
    )
    offers = "".join(_offer(item, offer) for item in items for offer in item.offers())
    return (
        f'{HEAD}<ПакетПредложений СодержитТолькоИзменения="false"><Ид>CAT#</Ид>'
        "<Наименование>П</Наименование><ИдКаталога>CAT</ИдКаталога>"
        f"<ИдКлассификатора>CLS</ИдКлассификатора><ТипыЦен>{types}</ТипыЦен>"
        f"<Склады>{warehouses}</Склады><Предложения>{offers}</Предложения>"
        f"</ПакетПредложений>{TAIL}"
    )


def _offer(item: Item, offer: str) -> str:
    row = data.product_row(item.i)
    if offer:
        name = item.variants[offer]
        head = (
            f"<Ид>{item.ref}#{offer}</Ид><Наименование>{name}</Наименование>"
            "<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Характеристика"
            f"</Наименование><Значение>{name}</Значение></ХарактеристикаТовара>"
            "</ХарактеристикиТовара>"
        )
    else:
        head = (
            f"<Ид>{item.ref}</Ид><Артикул>{row['Артикул']}</Артикул>"
            f"<Наименование>{escape(row['Description'])}</Наименование>"
        )
    prices = "".join(
        f"<Цена><ИдТипаЦены>{price_type}</ИдТипаЦены><ЦенаЗаЕдиницу>{value}</ЦенаЗаЕдиницу>"
        "<Валюта>руб</Валюта></Цена>"
        for (of, price_type), value in item.prices.items()
        if of == offer
    )
    levels = {w: q for (of, w), q in item.stock.items() if of == offer}
    stock = "".join(f'<Склад ИдСклада="{w}" КоличествоНаСкладе="{q}"/>' for w, q in levels.items())
    total = f"<Количество>{sum(levels.values())}</Количество>" if levels else ""
    return f"<Предложение>{head}<Цены>{prices}</Цены>{total}{stock}</Предложение>"


# --- the storefront over each database ----------------------------------------------------------


@pytest.fixture
def storefront() -> Iterator[Callable[[str], Api]]:
    """``storefront(database_url)``: the API over that database, closed after the test."""
    apps: list[Flask] = []

    def make(url: str) -> Api:
        apps.append(create_app(storefront_settings(url), {"TESTING": True}))
        return Api(apps[-1], seed_keys(url), url)

    yield make
    for app in apps:
        close_app(app)


def seed_keys(url: str) -> dict[str, str]:
    """API keys only: ``seed`` also writes its own demo catalog, which would be compared too."""
    engine = make_engine(DatabaseSettings(url=url))
    with Session(engine) as session:
        keys = {"shop": create_api_key(session, name="shop", role="shop")[1]}
        session.commit()
    engine.dispose()
    return keys


def every_product(api: Api) -> dict[str, dict[str, Any]]:
    """``id -> (summary, detail)`` of every product the storefront lists, volatile fields out."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/products", query_string=query)
        assert page.status_code == 200, page.json
        for summary in page.json["items"]:
            detail = api.get(f"/api/v1/products/{summary['id']}").json
            found[summary["id"]] = {"summary": _stable(summary), "detail": _stable(detail)}
        cursor = page.json["next_cursor"]
        if not cursor:
            return found


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ (for the failure message)."""
    if isinstance(left, dict) and isinstance(right, dict):
        keys = sorted(left.keys() | right.keys())
        return [d for k in keys for d in differences(left.get(k), right.get(k), f"{path}.{k}")]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        pairs = enumerate(zip(left, right, strict=True))
        return [d for n, (a, b) in pairs for d in differences(a, b, f"{path}[{n}]")]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def _stable(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: _stable(v) for k, v in document.items() if k not in VOLATILE}
    if isinstance(document, list):
        return [_stable(v) for v in document]
    return document


def test_one_catalog_through_commerceml_and_through_odata_gives_the_same_storefront(
    fake: Fake1C,
    fresh_pg_url: str,
    fresh_sqlite_url: str,
    make_settings: Callable[..., Settings],
    make_db_engine: Callable[..., Engine],
    storefront: Callable[[str], Api],
    tmp_path: Path,
) -> None:
    items = catalog(60)
    package = tmp_path / "package"
    package.mkdir()
    (package / "import.xml").write_text(import_xml(items), encoding="utf-8")
    (package / "offers.xml").write_text(offers_xml(items), encoding="utf-8")
    imported = import_files(
        make_db_engine(fresh_sqlite_url),
        sorted(package.glob("*.xml")),
        make_settings(fresh_sqlite_url),
        actor="test",
    )
    assert imported.ok, imported
    serve(fake, items)
    pulled = run_odata_sync(make_settings(fresh_pg_url), make_db_engine(fresh_pg_url))
    assert pulled.outcome == "succeeded", pulled

    from_cml = every_product(storefront(fresh_sqlite_url))
    from_odata = every_product(storefront(fresh_pg_url))
    assert sorted(from_odata) == sorted(from_cml) == sorted(item.ref for item in items)
    for product, shown in from_cml.items():
        assert from_odata[product] == shown, (product, differences(from_odata[product], shown))
    # and the catalog is what 1C holds: every offer with its prices and stock
    priced = [item for item in items if item.prices]
    for item in priced:
        variants = from_odata[item.ref]["detail"]["variants"]
        assert len(variants) == len(item.offers())
        assert all(v["prices"] and v["prices"][0]["currency"] == "RUB" for v in variants)


def test_a_price_1c_holds_for_a_later_date_is_served_from_that_date_on(
    fake: Fake1C,
    fresh_pg_url: str,
    make_settings: Callable[..., Settings],
    make_db_engine: Callable[..., Engine],
    storefront: Callable[[str], Api],
) -> None:
    data.fill(fake, products=3)
    product = data.ref("product", 2)
    future = {**data.price_row(2, 0, "20252.24"), "Period": "2030-01-01T00:00:00"}
    fake.virtual[f"{data.PRICES}/SliceLast"].append(future)
    settings, engine = make_settings(fresh_pg_url), make_db_engine(fresh_pg_url)
    api = storefront(fresh_pg_url)
    moscow = ZoneInfo("Europe/Moscow")

    def retail_price_at(moment: datetime) -> str:
        pulled = run_odata_sync(settings, engine, clock=lambda: moment)
        assert pulled.outcome in ("succeeded", "unchanged"), pulled
        detail = api.get(f"/api/v1/products/{product}").json
        (variant,) = detail["variants"]
        prices = {p["price_type_id"]: p["value"] for p in variant["prices"]}
        return str(prices[data.ref("price_type", 0)])

    assert retail_price_at(datetime(2029, 12, 31, 23, 59, 59, tzinfo=moscow)) == "1002.50"
    assert retail_price_at(datetime(2030, 1, 1, 0, 0, 0, tzinfo=moscow)) == "20252.24"
    calls = fake.sent("GET", f"{data.PRICES}/SliceLast")
    assert "Period=datetime'2030-01-01T00:00:00'" in calls[-1].url.path


@pytest.mark.slow
def test_an_odata_fed_storefront_of_ten_thousand_products_shows_every_price_and_stock(
    fake: Fake1C,
    fresh_pg_url: str,
    make_settings: Callable[..., Settings],
    make_db_engine: Callable[..., Engine],
    storefront: Callable[[str], Api],
) -> None:
    items = catalog(10_000)
    serve(fake, items)
    pulled = run_odata_sync(make_settings(fresh_pg_url), make_db_engine(fresh_pg_url))
    assert pulled.outcome == "succeeded", pulled
    api = storefront(fresh_pg_url)
    missing = []
    for item in items:
        if not item.prices:
            continue
        detail = api.get(f"/api/v1/products/{item.ref}").json
        shown = {
            (v["variant_id"] or "", p["price_type_id"]): Decimal(p["value"])
            for v in detail["variants"]
            for p in v["prices"]
        }
        stock = {
            (v["variant_id"] or "", w["warehouse_id"]): Decimal(w["quantity"])
            for v in detail["variants"]
            for w in v["stock"]["warehouses"]
        }
        if shown != item.prices or stock != item.stock:
            missing.append(item.ref)
    assert len([item for item in items if item.prices]) > 9_000
    assert missing == []


def test_prices_land_when_the_characteristics_they_name_cannot_be_read(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=3)
    fake.fail(
        odata_error(404, "8", '"Catalog_ХарактеристикиНоменклатуры" entity is not found'),
        when=lambda request: data.CHARACTERISTICS in request.url.path,
    )
    pulled = run_odata_sync(make_settings(url), engine, stream="prices")
    assert pulled.outcome == "succeeded", pulled
    assert fake.faults == []  # 1C was asked for the characteristic and refused
    with Session(engine) as session:
        kind_price = session.execute(
            select(models.Price.value).where(
                models.Price.offer_onec_id == f"{data.ref('product', 1)}#{data.ref('char', 2)}"
            )
        ).scalar_one()
    assert kind_price == Decimal("555.00")


def test_a_kinds_characteristics_are_offers_of_every_product_of_the_kind_that_shares_them(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=4)
    kind = data.ref("kind", 1)
    for i in (2, 3):  # product 2 shares its kind's characteristics, product 3 sells as itself
        use = "ОбщиеДляВидаНоменклатуры" if i == 2 else "НеИспользовать"
        fake.put(
            data.PRODUCTS,
            data.product_row(i, ИспользованиеХарактеристик=use, ВидНоменклатуры_Key=kind),
        )
    size = {**data.characteristic_row(5, product=1, owner_entity="Catalog_ВидыНоменклатуры")}
    fake.put(data.CHARACTERISTICS, {**size, "Description": "XL"})  # never priced nor stocked
    settings = make_settings(url)
    assert run_odata_sync(settings, engine).ok

    def variants() -> dict[str, str]:
        with Session(engine) as session:
            rows = session.execute(
                select(models.Offer.onec_id, models.Offer.name).where(
                    models.Offer.onec_id.like("%#%"), models.Offer.is_deleted.is_(False)
                )
            )
            return {key: name for key, name in rows if not key.startswith(data.ref("product", 0))}

    p1, p2, c2, c5 = (data.ref("product", 1), data.ref("product", 2),
                      data.ref("char", 2), data.ref("char", 5))  # fmt: skip
    assert variants() == {f"{p1}#{c2}": "Цвет 2", f"{p2}#{c2}": "Цвет 2",
                          f"{p1}#{c5}": "XL", f"{p2}#{c5}": "XL"}  # fmt: skip
    fake.put(data.CHARACTERISTICS, {**size, "Description": "XXL"})  # renamed in 1C
    assert run_odata_sync(settings, engine, stream="characteristics").ok
    assert variants()[f"{p1}#{c5}"] == variants()[f"{p2}#{c5}"] == "XXL"
