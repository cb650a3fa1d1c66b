"""Every real export under ../shared/samples reads without error, with the right counts.

The expected counts were NOT taken from our reader. They were counted on the raw files with
grep (after ``iconv -f cp1251`` for the windows-1251 ones), e.g.

    grep -o '<Товар>' FILE | wc -l         grep -o '<Предложение>' FILE | wc -l
    grep -o '<Цена>' FILE | wc -l          grep -o 'КоличествоНаСкладе=' FILE | wc -l
    grep -o '<Остаток>' FILE | wc -l       grep -o '<Группа>' FILE | wc -l ...

and checked against the descriptions in samples/README.md (e.g. "22 groups, 10 properties, 2
products", "978 offers x 1 price", "2 offers x 7 warehouses = 14 rows"). Where a grep count
includes elements that are not records (a Товар that is an order line, a Склад that is a stock
row), the comment says how the number was split.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from exchange_formats.commerceml import detect, open_document
from exchange_formats.records import (
    Contractor,
    DocumentKind,
    Group,
    Offer,
    OfferPrices,
    OfferStock,
    Order,
    PriceType,
    Product,
    Property,
    Record,
    Unit,
    Warehouse,
)

pytestmark = pytest.mark.samples

MOSCOW = ZoneInfo("Europe/Moscow")

# path -> (kind, counts). Counts: groups, properties, price_types, warehouses, units, products,
# offers (Offer records: descriptive Предложение, or 2.03/2.04 variant Товар), prices (Цена),
# levels (per-warehouse stock rows), totals (offers with a total quantity), contractors,
# orders, lines (order lines).
EXPECTED: dict[str, tuple[DocumentKind, dict[str, int]]] = {
    "ArgentCrusade__commerceml/tests/fixtures/contractors-example.xml": (
        DocumentKind.CONTRACTORS,
        {"contractors": 4},
    ),
    # <Товар>=4 are order lines; <Контрагент>=2 sit inside the 2 documents
    "ArgentCrusade__commerceml/tests/fixtures/documents-example.xml": (
        DocumentKind.ORDERS,
        {"orders": 2, "lines": 4, "order_contractors": 2},
    ),
    "ArgentCrusade__commerceml/tests/fixtures/group-example.xml": (
        DocumentKind.CATALOG,
        {"groups": 12},
    ),
    "ArgentCrusade__commerceml/tests/fixtures/prices-example.xml": (
        DocumentKind.OFFERS,
        {"prices": 3, "offer_prices": 3},
    ),
    "ArgentCrusade__commerceml/tests/fixtures/products-example.xml": (
        DocumentKind.CATALOG,
        {"products": 1},
    ),
    # <Остаток>=14, each with a <Склад>{Ид,Количество}
    "ArgentCrusade__commerceml/tests/fixtures/remainders-example.xml": (
        DocumentKind.OFFERS,
        {"levels": 14, "stocks": 2},
    ),
    "carono__php-commerceml/tests/xml/classifier.xml": (
        DocumentKind.CATALOG,
        {"groups": 22, "properties": 10},
    ),
    "carono__php-commerceml/tests/xml/import.xml": (
        DocumentKind.CATALOG,
        {"groups": 22, "properties": 10, "products": 2},
    ),
    "carono__php-commerceml/tests/xml/import_wo_classifier.xml": (
        DocumentKind.CATALOG,
        {"products": 2},
    ),
    # <Склад>=5 are the Склады list; the 5 stock rows are <Склад ИдСклада=.. КоличествоНаСкладе=../>
    "carono__php-commerceml/tests/xml/offers.xml": (
        DocumentKind.OFFERS,
        {
            "price_types": 1,
            "warehouses": 5,
            "offers": 5,
            "prices": 5,
            "offer_prices": 5,
            "levels": 5,
            "totals": 5,
            "stocks": 5,
        },
    ),
    # <Контрагент>=2: the buyer and, nested in Представители, its contact person
    "carono__php-commerceml/tests/xml/orders.xml": (
        DocumentKind.ORDERS,
        {"orders": 1, "lines": 2, "order_contractors": 1},
    ),
    "carono__yii2-1c-exchange/files/xml/from.xml": (
        DocumentKind.ORDERS,
        {"orders": 1, "lines": 2, "order_contractors": 1},
    ),
    "carono__yii2-1c-exchange/files/xml/to.xml": (
        DocumentKind.ORDERS,
        {"orders": 1, "lines": 2, "order_contractors": 1},
    ),
    "dobromyslov__commerceml-parser/data/bitrix-query-response-empty.xml": (
        DocumentKind.UNKNOWN,
        {},
    ),
    "dobromyslov__commerceml-parser/data/bitrix-query-response-full.xml": (
        DocumentKind.ORDERS,
        {"orders": 2, "lines": 8, "order_contractors": 2},
    ),
    "gillbeits__commerceml/example/import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml": (
        DocumentKind.CATALOG,
        {"groups": 97, "properties": 1908, "price_types": 1, "warehouses": 1, "units": 2},
    ),
    "gillbeits__commerceml/example/offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml": (
        DocumentKind.OFFERS,
        {"offers": 978},
    ),
    "gillbeits__commerceml/example/offers___f0bab95c-14a6-4141-9746-6650b65f1191.xml": (
        DocumentKind.OFFERS,
        {"properties": 1908},
    ),
    "gillbeits__commerceml/example/prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml": (
        DocumentKind.OFFERS,
        {"prices": 978, "offer_prices": 978},
    ),
    # <Остаток>=978, each with a <Склад>{Ид,Количество}
    "gillbeits__commerceml/example/rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml": (
        DocumentKind.OFFERS,
        {"levels": 978, "stocks": 978},
    ),
    # <Товар>=4, all with "product#characteristic" Ид: 4 variant offers, no products
    "irpsv__commerceml/tests/assets/off-doc-1c/import.xml": (
        DocumentKind.CATALOG,
        {"groups": 1, "offers": 4},
    ),
    "irpsv__commerceml/tests/assets/off-doc-1c/offers.xml": (
        DocumentKind.OFFERS,
        {
            "price_types": 4,
            "offers": 2,
            "prices": 8,
            "offer_prices": 2,
            "totals": 2,
            "stocks": 2,
        },
    ),
    # <Документ>=3 (one full, two status-only without Товары), <Товар>=2 lines of the first
    "irpsv__commerceml/tests/assets/off-doc-1c/orders.xml": (
        DocumentKind.ORDERS,
        {"orders": 3, "lines": 2, "order_contractors": 1, "status_only": 2},
    ),
    "wagood__commerceml/example/commerce-ml3/import___5335d080-66b0-4355-887c-d54bba6f1f08.xml": (
        DocumentKind.CATALOG,
        {"products": 1},
    ),
    "wagood__commerceml/example/commerce-ml3/import___57c55968-51d1-46f0-b5d7-927f420b8fd4.xml": (
        DocumentKind.CATALOG,
        {"groups": 1, "price_types": 1, "units": 1},
    ),
    "wagood__commerceml/example/commerce-ml3/offers___13955e2c-c7d0-4189-8db7-9bc863cde645.xml": (
        DocumentKind.OFFERS,
        {"offers": 2},
    ),
    "wagood__commerceml/example/commerce-ml3/prices___478f43af-4dba-47c9-b3fa-d9737c14a30f.xml": (
        DocumentKind.OFFERS,
        {"prices": 2, "offer_prices": 2},
    ),
    # <Остаток>=2 without a warehouse: totals 0 and 2
    "wagood__commerceml/example/commerce-ml3/rests___9ebdccc5-f70a-43db-8c03-0103301aad32.xml": (
        DocumentKind.OFFERS,
        {"totals": 2, "stocks": 2},
    ),
}


def tally(records: list[Record]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for record in records:
        match record:
            case Group():
                counts["groups"] += 1
            case Property():
                counts["properties"] += 1
            case PriceType():
                counts["price_types"] += 1
            case Warehouse():
                counts["warehouses"] += 1
            case Unit():
                counts["units"] += 1
            case Product():
                counts["products"] += 1
            case Offer():
                counts["offers"] += 1
            case OfferPrices():
                counts["offer_prices"] += 1
                counts["prices"] += len(record.prices)
            case OfferStock():
                counts["stocks"] += 1
                counts["levels"] += len(record.levels)
                counts["totals"] += record.total is not None
            case Contractor():
                counts["contractors"] += 1
            case Order():
                counts["orders"] += 1
                counts["lines"] += len(record.lines or ())
                counts["status_only"] += record.lines is None
                counts["order_contractors"] += len(record.contractors)
    return {key: value for key, value in counts.items() if value}


def test_every_sample_is_listed(samples_dir: Path) -> None:
    found = {str(path.relative_to(samples_dir)) for path in samples_dir.rglob("*.xml")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_a_sample_reads_whole_with_the_counted_records(samples_dir: Path, relative: str) -> None:
    kind, counts = EXPECTED[relative]
    path = samples_dir / relative
    assert detect(path).kind == kind
    document = open_document(path, tz=MOSCOW)
    assert tally(list(document.records())) == counts
    assert document.bytes_read == path.stat().st_size


def test_sample_quirks_survive(samples_dir: Path) -> None:
    """A few details samples/README.md calls out, each read as a user would expect."""
    records = list(
        open_document(samples_dir / "carono__php-commerceml/tests/xml/import.xml").records()
    )
    options = sum(len(r.options) for r in records if isinstance(r, Property))
    assert options == 154  # "154 ВариантыЗначений/Справочник values"
    product = next(r for r in records if isinstance(r, Product) and r.sku == "Б- 130005")
    assert product.name == "Ботинки женские демисезонные"

    rests = (
        samples_dir
        / "gillbeits__commerceml/example/rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml"
    )
    levels = [
        level.quantity
        for record in open_document(rests).records()
        if isinstance(record, OfferStock)
        for level in record.levels
    ]
    assert (sum(q == 0 for q in levels), sum(q < 0 for q in levels)) == (752, 1)

    units = (
        samples_dir
        / "wagood__commerceml/example/commerce-ml3/import___57c55968-51d1-46f0-b5d7-927f420b8fd4.xml"
    )
    [unit] = [r for r in open_document(units).records() if isinstance(r, Unit)]
    assert (unit.onec_id, unit.code, unit.full_name) == ("796", "796", "Штука")

    prices = samples_dir / "irpsv__commerceml/tests/assets/off-doc-1c/offers.xml"
    currencies = {r.currency for r in open_document(prices).records() if isinstance(r, PriceType)}
    assert currencies == {"USD", "RUB"}  # "Розничная in руб"
