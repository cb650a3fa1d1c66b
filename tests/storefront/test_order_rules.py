"""What the server decides about an order, whatever the caller sends: prices, discounts, currency,
stock, numbers, who reads it, which 1C contractor it is for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session, selectinload

from syncd.store.models import Customer, Order, OrderLine
from tests.storefront.conftest import Api, make_settings

ORDER: dict[str, Any] = {
    "customer": {"ref": "c-1", "name": "Иван Петров", "email": "ivan@example.ru"},
    "lines": [{"product_id": "p-drill", "quantity": "1"}],
}


def submit(api: Api, body: dict[str, Any], key: str = "k-1", role: str = "shop") -> Any:
    return api.post("/api/v1/orders", role=role, json=body, headers={"Idempotency-Key": key})


def with_line(**line: Any) -> dict[str, Any]:
    return {**ORDER, "lines": [{"product_id": "p-drill", "quantity": "1", **line}]}


def stored_lines(api: Api) -> list[Any]:
    engine = create_engine(api.database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(OrderLine).order_by(OrderLine.id)).all()
    engine.dispose()
    return list(rows)


# --- prices ---------------------------------------------------------------------------------


def test_a_line_without_a_price_is_priced_from_the_catalog(api: Api) -> None:
    response = submit(api, ORDER)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert (order["lines"][0]["price"], order["total"], order["currency"]) == (
        "5990.00",
        "5990.00",
        "RUB",
    )
    assert order["lines"][0]["price_overridden"] is False


def test_a_price_of_zero_is_refused_naming_the_line_and_the_current_price(api: Api) -> None:
    response = submit(api, with_line(price="0", quantity="1000"))
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == [
        {"field": "lines[0].price", "message": "current price 5990.00"}
    ]
    assert stored_lines(api) == []


def test_a_discount_needs_the_override_scope_and_is_marked_when_allowed(api: Api) -> None:
    refused = submit(api, with_line(discount="5990"))
    assert refused.status_code == 403
    assert refused.get_json()["error"]["details"][0]["field"] == "lines[0].discount"
    allowed = submit(api, with_line(discount="990"), key="k-2", role="pricer")
    assert allowed.status_code == 201, allowed.get_json()
    [line] = allowed.get_json()["lines"]
    assert (line["total"], line["price_overridden"], line["catalog_price"]) == (
        "5000.00",
        True,
        "5990.00",
    )


def test_an_own_price_is_kept_and_marked_only_with_the_override_scope(api: Api) -> None:
    response = submit(api, with_line(price="100"), role="pricer")
    assert response.status_code == 201
    [line] = response.get_json()["lines"]
    assert (line["price"], line["price_overridden"]) == ("100.00", True)


def test_another_currency_than_the_price_lists_needs_the_override_scope(api: Api) -> None:
    response = submit(api, {**ORDER, "currency": "USD"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [
        {"field": "currency", "message": "expected RUB"}
    ]
    allowed = submit(api, {**ORDER, "currency": "USD"}, key="k-2", role="pricer")
    assert allowed.status_code == 201
    assert allowed.get_json()["currency"] == "USD"
    assert allowed.get_json()["lines"][0]["price_overridden"] is True


def test_a_keys_price_type_prices_its_orders(api: Api) -> None:
    created = api.post(
        "/api/v1/admin/api-keys",
        role="admin",
        json={"name": "wholesale shop", "role": "shop", "price_type": "Оптовая"},
    )
    assert created.status_code == 201
    api.keys["wholesale"] = created.get_json()["key"]
    response = submit(api, ORDER, role="wholesale")
    assert response.status_code == 201
    assert response.get_json()["total"] == "5200.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_line(quantity="99999999999999"), "lines[0].quantity"),
        (
            {**with_line(price="99999999999999"), "delivery": {"price": "99999999999999"}},
            "lines",
        ),
    ],
    ids=["quantity-times-price", "total"],
)
def test_amounts_past_what_the_database_holds_are_a_422(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = submit(api, body, role="pricer")
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"][0]["field"] == field


# --- availability ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "warehouses", "status", "note"),
    [
        ("ignore", (), 201, None),
        ("warn", (), 201, "only 7 available"),
        ("warn", ("wh-shop",), 201, "only 2 available"),
        ("reject", (), 422, "only 7 available"),
        ("reject", ("wh-main", "wh-shop"), 422, "only 7 available"),
    ],
)
def test_a_quantity_past_stock_follows_the_stock_policy(
    seeded_url: tuple[str, dict[str, str]],
    app_factory: Callable[..., Flask],
    policy: str,
    warehouses: tuple[str, ...],
    status: int,
    note: str | None,
) -> None:
    url, keys = seeded_url
    settings = make_settings(url, stock_policy=policy, stock_warehouses=warehouses)
    api = Api(app_factory(settings), keys, url)
    response = submit(api, with_line(quantity="1000"))
    assert response.status_code == status, response.get_json()
    if status == 201:
        assert response.get_json()["lines"][0]["stock_note"] == note
    else:
        assert response.get_json()["error"]["details"] == [
            {"field": "lines[0].quantity", "message": note}
        ]
        assert stored_lines(api) == []


def test_lines_of_one_variant_count_together_against_its_stock(
    seeded_url: tuple[str, dict[str, str]], app_factory: Callable[..., Flask]
) -> None:
    url, keys = seeded_url
    api = Api(app_factory(make_settings(url, stock_policy="reject")), keys, url)
    line = {"product_id": "p-bit", "variant_id": "6", "quantity": "6"}
    response = submit(api, {**ORDER, "lines": [line, line]})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [
        {"field": "lines[1].quantity", "message": "only 10 available"}
    ]


def test_a_deleted_variant_or_one_without_a_price_is_refused_naming_the_line(api: Api) -> None:
    engine = create_engine(api.database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(Order.__table__.metadata.tables["offers"]).values(
                onec_id="p-hose#x", product_onec_id="p-hose", name="Шланг без цены"
            )
        )
    engine.dispose()
    lines = [
        {"product_id": "p-drill", "quantity": 1},
        {"product_id": "p-hose", "variant_id": "x", "quantity": 1},
    ]
    response = submit(api, {**ORDER, "lines": lines})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [
        {"field": "lines[1]", "message": "'p-hose#x' has no price in this price list"}
    ]


# --- numbers --------------------------------------------------------------------------------


def test_a_chosen_number_never_takes_a_generated_one(api: Api) -> None:
    chosen = submit(api, {**ORDER, "number": "W00000001"})
    assert chosen.status_code == 422
    assert chosen.get_json()["error"]["details"][0]["field"] == "number"
    generated = submit(api, ORDER, key="k-2")
    assert generated.status_code == 201
    assert generated.get_json()["number"] == "W00000001"
    assert submit(api, {**ORDER, "number": "SHOP-2"}, key="k-3").status_code == 201
    assert submit(api, ORDER, key="k-4").status_code == 201


# --- ownership ------------------------------------------------------------------------------


def test_another_shop_key_reads_none_of_an_orders_data(api: Api) -> None:
    number = submit(api, ORDER).get_json()["number"]
    for path in (f"/api/v1/orders/{number}", f"/api/v1/orders/{number}/history"):
        response = api.get(path, role="other-shop")
        assert response.status_code == 404
        assert "Иван" not in response.get_data(as_text=True)
    listing = api.get("/api/v1/customers/c-1/orders", role="other-shop")
    assert listing.status_code == 200
    assert listing.get_json()["items"] == []
    for role in ("shop", "operator", "admin"):
        assert api.get(f"/api/v1/orders/{number}", role=role).status_code == 200
        items = api.get("/api/v1/customers/c-1/orders", role=role).get_json()["items"]
        assert [item["number"] for item in items] == [number]


def test_an_orders_history_names_no_key(api: Api) -> None:
    number = submit(api, ORDER).get_json()["number"]
    history = api.get(f"/api/v1/orders/{number}/history", role="admin").get_data(as_text=True)
    for key in api.keys.values():
        assert key.split("_")[1] not in history
    assert "key:" not in history


# --- customers ------------------------------------------------------------------------------


def test_a_1c_contractor_is_named_by_the_caller_only_with_the_bind_scope(api: Api) -> None:
    body = {**ORDER, "customer": {**ORDER["customer"], "onec_id": "someone-elses-contractor"}}
    refused = submit(api, body)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["details"][0]["field"] == "customer.onec_id"
    allowed = submit(api, body, key="k-2", role="pricer")
    assert allowed.get_json()["customer"]["onec_id"] == "someone-elses-contractor"


def test_the_server_binds_the_customer_to_the_one_contractor_with_its_inn(api: Api) -> None:
    engine = create_engine(api.database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(Customer),
            [
                {
                    "onec_id": "ctr-1",
                    "name": "ООО Ромашка",
                    "inn": "7701234567",
                    "kpp": "770101001",
                },
                {"onec_id": "ctr-2", "name": "Филиал", "inn": "7701234567", "kpp": "770201001"},
            ],
        )
    engine.dispose()
    customer = {**ORDER["customer"], "inn": "7701234567"}
    ambiguous = submit(api, {**ORDER, "customer": customer})
    assert ambiguous.get_json()["customer"]["onec_id"] is None
    exact = submit(api, {**ORDER, "customer": {**customer, "kpp": "770201001"}}, key="k-2")
    assert exact.get_json()["customer"]["onec_id"] == "ctr-2"


# --- what goes to 1C ------------------------------------------------------------------------


def test_both_channels_to_1c_carry_catalog_prices_and_mark_overridden_lines(api: Api) -> None:
    from syncd.exchange.order_records import order_record as exchange_record
    from syncd.odata.outbox import order_record as odata_record

    lines = [
        {"product_id": "p-drill", "quantity": "2"},
        {"product_id": "p-bit", "variant_id": "6", "quantity": "1", "price": "99"},
    ]
    assert submit(api, {**ORDER, "lines": lines}, role="pricer").status_code == 201
    engine = create_engine(api.database_url)
    with Session(engine) as session:
        order = session.scalars(select(Order).options(selectinload(Order.lines))).one()
        sale = exchange_record(order)
        pushed = odata_record(order)  # what the OData writer turns into the document
    engine.dispose()
    assert [(line.price, line.total) for line in sale.lines] == [(5990, 11980), (99, 99)]
    marks = [{r.name: r.value for r in line.requisites} for line in sale.lines]
    assert "ЦенаУстановленаСайтом" not in marks[0]
    assert (marks[1]["ЦенаУстановленаСайтом"], marks[1]["ЦенаПоПрайсу"]) == ("true", "150.0000")
    assert sale.comment == "Цена установлена сайтом в строках: 2"
    assert [(line.price, line.total) for line in pushed.lines] == [(5990, 11980), (99, 99)]
    assert pushed.comment == "Цена установлена сайтом в строках: 2"
