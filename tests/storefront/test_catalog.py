"""Catalog reads: the group tree, price types, warehouses, product listings and product pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from config import DatabaseSettings
from storefront.database import database
from storefront.queries.catalog import resolve_price_type
from syncd.store.engine import make_engine
from syncd.store.models import PriceType
from tests.storefront.conftest import Api


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_the_group_tree_nests_subgroups_and_leaves_out_deleted_groups(api: Api) -> None:
    tree = api.get("/api/v1/groups").get_json()["items"]
    assert [g["id"] for g in tree] == ["g-tools", "g-garden"]
    drills = tree[0]["children"][0]
    assert drills["name"] == "Дрели"
    assert [g["id"] for g in drills["children"]] == ["g-bits"]


def test_price_types_mark_the_default_and_warehouses_are_listed(api: Api) -> None:
    types = api.get("/api/v1/price-types").get_json()["items"]
    assert [(t["id"], t["is_default"]) for t in types] == [
        ("pt-retail", True),
        ("pt-wholesale", False),
    ]
    names = [w["name"] for w in api.get("/api/v1/warehouses").get_json()["items"]]
    assert names == ["Магазин", "Основной склад"]


def test_products_list_active_products_by_name_with_price_stock_and_image(api: Api) -> None:
    page = api.get("/api/v1/products").get_json()
    assert [p["id"] for p in page["items"]] == ["p-drill", "p-hammer", "p-bit", "p-hose"]
    drill = page["items"][0]
    assert drill["price"] == {
        "price_type_id": "pt-retail",
        "value": "5990.00",
        "currency": "RUB",
        "varies": False,
        "presentation": None,
    }
    assert drill["quantity"] == "7"  # the total 1C sent, not 7 + 5 + 2
    assert drill["in_stock"] is True
    assert drill["image"] == {"path": "import_files/ab/drill.jpg", "caption": None}
    bit = page["items"][2]
    assert bit["price"]["value"] == "150.00"
    assert bit["price"]["varies"] is True
    assert bit["quantity"] == "10"  # summed over warehouses when no total was sent
    hose = page["items"][3]
    assert (hose["quantity"], hose["in_stock"]) == (None, False)
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("group=g-tools", ["p-drill", "p-hammer", "p-bit"]),  # subgroups included
        ("group=g-garden", ["p-hammer", "p-hose"]),  # the hammer's second group counts
        ("group=g-bits", ["p-bit"]),
        ("price_min=500&price_max=1000", ["p-hose"]),
        ("price_type=Оптовая&price_min=1", ["p-drill"]),
        ("in_stock=true", ["p-drill", "p-bit"]),
        ("warehouse=wh-shop", ["p-drill"]),
        ("property=prop-color:opt-red", ["p-hose"]),
        ("property=prop-color:Синий", ["p-drill"]),  # by the option's text too
        ("property=prop-power:750&group=g-drills", ["p-drill"]),
        ("sort=price", ["p-bit", "p-hammer", "p-hose", "p-drill"]),
        ("sort=-price", ["p-drill", "p-hose", "p-hammer", "p-bit"]),
        ("sort=-name", ["p-hose", "p-bit", "p-hammer", "p-drill"]),
    ],
)
def test_products_can_be_filtered_and_sorted(api: Api, query: str, expected: list[str]) -> None:
    assert ids(api.get(f"/api/v1/products?{query}")) == expected


def test_listings_of_one_shape_each_list_their_own_values(api: Api) -> None:
    """A listing's statement is built once per shape (which filters, which sort) and kept; the
    values are each request's own: asked one after another, each shape's listings differ as
    their values do, and the first value asked again gives its first answer again."""
    asked = [
        ("group=g-tools&sort=price", ["p-bit", "p-hammer", "p-drill"]),
        ("group=g-garden&sort=price", ["p-hammer", "p-hose"]),
        ("group=g-bits&sort=price", ["p-bit"]),
        ("group=g-tools&sort=price", ["p-bit", "p-hammer", "p-drill"]),
        ("price_min=100&price_max=200", ["p-bit"]),
        ("price_min=400&price_max=1000", ["p-hammer", "p-hose"]),
        ("price_min=5000&price_max=6000", ["p-drill"]),
        ("price_min=100&price_max=200", ["p-bit"]),
        ("property=prop-color:opt-red", ["p-hose"]),
        ("property=prop-color:Синий", ["p-drill"]),
        ("property=prop-color:opt-red", ["p-hose"]),
    ]
    assert [ids(api.get(f"/api/v1/products?{query}")) for query, _ in asked] == [
        expected for _, expected in asked
    ]


@pytest.mark.parametrize("sort", ["name", "price", "-price", "-updated"])
def test_a_product_is_in_stock_when_any_variant_is_whatever_the_sort(api: Api, sort: str) -> None:
    """The bit's cheaper variant sold out and its dearer one came in: the bit is in stock, in
    a listing sorted by price as in any other."""
    engine = make_engine(DatabaseSettings(url=api.database_url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE stock SET quantity = CASE offer_onec_id WHEN 'p-bit#6' THEN 0 ELSE 5 END"
                " WHERE product_onec_id = 'p-bit'"
            )
        )
    engine.dispose()
    assert "p-bit" in ids(api.get(f"/api/v1/products?in_stock=true&sort={sort}"))


@pytest.mark.parametrize("sort", ["name", "-name", "price", "-price", "updated", "-updated"])
def test_cursor_pagination_visits_every_product_once_in_order(api: Api, sort: str) -> None:
    everything = ids(api.get(f"/api/v1/products?sort={sort}&limit=100"))
    seen: list[str] = []
    url = f"/api/v1/products?sort={sort}&limit=1"
    while True:
        page = api.get(url).get_json()
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        url = f"/api/v1/products?sort={sort}&limit=1&cursor={page['next_cursor']}"
    assert seen == everything
    assert len(seen) == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group=g-nowhere", "group"),
        ("group=g-old", "group"),  # deleted in 1C
        ("price_type=nope", "price_type"),
        ("cursor=garbage", "cursor"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("sort=colour", "sort"),
        ("price_min=-1", "price_min"),
        ("propery=prop-color:opt-red", "propery"),  # a typo is an error, not ignored
    ],
)
def test_bad_parameters_get_a_400_naming_the_field(api: Api, query: str, field: str) -> None:
    response = api.get(f"/api/v1/products?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert field in {d["field"] for d in error["details"]}


def test_a_cursor_from_another_sort_is_refused(api: Api) -> None:
    cursor = api.get("/api/v1/products?limit=1").get_json()["next_cursor"]
    response = api.get(f"/api/v1/products?sort=price&limit=1&cursor={cursor}")
    assert response.status_code == 400


def test_a_product_page_has_variants_prices_stock_properties_and_images(api: Api) -> None:
    drill = api.get("/api/v1/products/p-drill").get_json()
    assert drill["groups"] == [{"id": "g-drills", "name": "Дрели"}]
    assert drill["properties"] == [
        {"id": "prop-power", "name": "Мощность", "values": ["750"]},
        {"id": "prop-color", "name": "Цвет", "values": ["Синий"]},
    ]
    assert drill["images"][0]["sha256"] == "a" * 64
    assert drill["images"][1] == {
        "path": "import_files/ab/drill2.jpg",
        "caption": "Сбоку",
        "sha256": None,
        "size": None,
        "content_type": None,
    }
    assert drill["requisites"] == [{"name": "Вес", "value": "2.1"}]
    [variant] = drill["variants"]
    assert variant["variant_id"] is None
    assert [(p["price_type"], p["value"]) for p in variant["prices"]] == [
        ("Розничная", "5990.00"),
        ("Оптовая", "5200.00"),
    ]
    assert variant["stock"] == {
        "total": "7",
        "warehouses": [
            {"warehouse_id": "wh-shop", "warehouse": "Магазин", "quantity": "2"},
            {"warehouse_id": "wh-main", "warehouse": "Основной склад", "quantity": "5"},
        ],
    }


def test_variants_carry_their_characteristics_and_resolved_properties(api: Api) -> None:
    bit = api.get("/api/v1/products/p-bit").get_json()
    assert [v["variant_id"] for v in bit["variants"]] == ["6", "8"]
    six = bit["variants"][0]
    assert six["characteristics"] == [{"name": "Диаметр", "value": "6 мм"}]
    assert six["properties"] == [{"id": "prop-color", "values": ["Красный"]}]
    assert six["prices"][0]["value"] == "150.00"
    assert bit["variants"][1]["stock"]["total"] == "0"


@pytest.mark.parametrize("product", ["p-gone", "p-nothing"])
def test_deleted_and_unknown_products_are_404(api: Api, product: str) -> None:
    response = api.get(f"/api/v1/products/{product}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def count_statements(api: Api, path: str) -> int:
    statements: list[str] = []
    with api.app.app_context():
        engine = database().engine

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert api.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # Authentication and SQLite's BEGIN are not the listing's statements.
    return len([s for s in statements if "api_keys" not in s and not s.startswith("BEGIN")])


def test_listing_costs_the_same_number_of_statements_for_one_or_many_products(api: Api) -> None:
    postgres = api.app.extensions["onec_sync_db"].is_postgresql
    one = count_statements(api, "/api/v1/products?limit=1")
    many = count_statements(api, "/api/v1/products?limit=100")
    # price type, the page, then its summaries in one statement on PostgreSQL (four elsewhere)
    assert one == many == (3 if postgres else 6)
    # a group: its subgroups, one more
    grouped = count_statements(api, "/api/v1/products?group=g-tools&sort=price&limit=100")
    assert grouped == (4 if postgres else 7)
    detail = count_statements(api, "/api/v1/products/p-bit")
    assert detail == (1 if api.app.extensions["onec_sync_db"].is_postgresql else 8)


def test_a_price_type_is_resolved_by_id_first_then_name_then_the_default(db_session: Any) -> None:
    def resolved(wanted: str | None, setting: str) -> str | None:
        row = resolve_price_type(db_session, wanted, setting)
        return None if row is None else str(row.onec_id)

    assert resolved(None, "") is None  # no price types at all
    db_session.add_all(
        [
            PriceType(onec_id="pt-gone", name="Старая", is_deleted=True),
            PriceType(onec_id="pt-retail", name="Розничная"),
            PriceType(onec_id="pt-bulk", name="pt-retail"),  # named like another type's Ид
            PriceType(onec_id="pt-web", name="Интернет"),
        ]
    )
    db_session.flush()
    assert resolved("pt-retail", "") == "pt-retail"  # the Ид wins over a name
    assert resolved("Интернет", "") == "pt-web"
    assert resolved("Старая", "pt-web") is None  # deleted: not found, not the default
    assert resolved("nope", "pt-web") is None
    assert resolved(None, "Интернет") == "pt-web"  # the configured default, by name
    assert resolved("", "pt-bulk") == "pt-bulk"  # ... or by Ид
    assert resolved(None, "pt-retail") == "pt-retail"  # the first of Ид and name matches
    assert resolved(None, "Старая") == "pt-retail"  # a deleted default: the first active one
    assert resolved(None, "") == "pt-retail"
