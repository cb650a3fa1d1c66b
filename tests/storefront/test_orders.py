"""Order intake: validation against the catalog, idempotency, what is stored for 1C, status."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, insert, select

from config.settings import ChangesSettings
from syncd.store.models import Order, OrderLine, OrderOutbox, OrderStatusChange
from tests.storefront.conftest import Api, make_settings

ORDER: dict[str, Any] = {
    "customer": {
        "ref": "c-1",
        "name": "Иван Петров",
        "email": "ivan@example.ru",
        "phone": "+7 900 000-00-00",
        "inn": "7701234567",
    },
    "lines": [
        {"product_id": "p-drill", "quantity": "1", "price": "5990.00"},
        {"product_id": "p-bit", "variant_id": "6", "quantity": 3, "price": 150},
    ],
    "delivery": {"method": "courier", "address": "Москва, Тверская 1", "price": "300"},
    "comment": "позвонить",
}


def submit(api: Api, body: dict[str, Any], key: str = "k-1", role: str = "shop") -> Any:
    return api.post("/api/v1/orders", role=role, json=body, headers={"Idempotency-Key": key})


def test_an_order_is_stored_with_lines_history_and_an_outbox_row_for_1c(api: Api) -> None:
    response = submit(api, ORDER)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/orders/{order['number']}")
    assert order["total"] == "6740.00"  # 5990 + 3*150 + 300 delivery
    assert order["status"] == "new"
    assert order["export_state"] == "new"
    assert [(line["name"], line["total"]) for line in order["lines"]] == [
        ("Дрель ударная Bosch", "5990.00"),
        ("Сверло по бетону 6 мм", "450.00"),
    ]
    assert order["lines"][1]["variant_id"] == "6"
    assert order["customer"]["inn"] == "7701234567"
    assert order["delivery"] == {
        "method": "courier",
        "address": "Москва, Тверская 1",
        "price": "300",
    }
    engine = create_engine(api.database_url)
    with engine.connect() as connection:
        stored = connection.execute(select(Order)).one()
        assert stored.customer_ref == "c-1"
        offers = connection.scalars(select(OrderLine.offer_onec_id).order_by(OrderLine.line_no))
        assert list(offers) == ["p-drill", "p-bit#6"]
        assert connection.scalar(select(OrderOutbox.state)) == "pending"
        assert connection.scalar(select(OrderStatusChange.source)) == "shop"
    engine.dispose()


def test_the_same_key_and_body_replay_the_order_instead_of_making_another(api: Api) -> None:
    first = submit(api, ORDER)
    again = submit(api, ORDER)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = submit(api, ORDER, key="k-2")
    assert other.status_code == 201
    assert other.get_json()["number"] != first.get_json()["number"]


def test_the_same_key_with_a_different_order_is_refused(api: Api) -> None:
    submit(api, ORDER)
    changed = {**ORDER, "comment": "другое"}
    response = submit(api, changed)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "Idempotency-Key"


def test_keys_are_scoped_to_the_caller(api: Api) -> None:
    assert submit(api, ORDER, role="shop").status_code == 201
    assert submit(api, ORDER, role="admin").status_code == 201


def test_an_order_without_an_idempotency_key_is_refused(api: Api) -> None:
    response = api.post("/api/v1/orders", json=ORDER)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"product_id": "p-nothing", "quantity": 1, "price": 1}], "no product 'p-nothing'"),
        ([{"product_id": "p-gone", "quantity": 1, "price": 1}], "no product 'p-gone'"),
        ([{"product_id": "p-bit", "quantity": 1, "price": 1}], "has variants"),
        ([{"product_id": "p-bit", "variant_id": "99", "quantity": 1, "price": 1}], "no variant"),
    ],
)
def test_lines_naming_nothing_on_sale_are_refused_with_the_line_named(
    api: Api, lines: list[dict[str, Any]], message: str
) -> None:
    body = {**ORDER, "lines": [ORDER["lines"][0], *lines]}
    response = submit(api, body)
    assert response.status_code == 422
    [detail] = response.get_json()["error"]["details"]
    assert detail["field"] == "lines[1]"
    assert message in detail["message"]
    assert api.get("/api/v1/customers/c-1/orders").get_json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"product_id": "p-drill", "quantity": "0", "price": 1}]}, "lines[0].quantity"),
        (
            {"lines": [{"product_id": "p-drill", "quantity": 1, "price": "1.23456"}]},
            "lines[0].price",
        ),
        ({"customer": {"name": ""}}, "customer.name"),
        ({"customer": {"name": "x", "inn": "12"}}, "customer.inn"),
        ({"currency": "rub"}, "currency"),
        ({"colour": "red"}, "colour"),
        ({"comment": "a\x00b"}, None),
    ],
)
def test_malformed_orders_get_a_400_naming_the_field(
    api: Api, change: dict[str, Any], field: str | None
) -> None:
    response = submit(api, {**ORDER, **change})
    assert response.status_code == 400
    details = response.get_json()["error"]["details"]
    assert field in [d["field"] for d in details]


def test_a_wrong_total_is_refused(api: Api) -> None:
    response = submit(api, {**ORDER, "total": "100.00"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [
        {"field": "total", "message": "expected 6740.00"}
    ]
    assert submit(api, {**ORDER, "total": "6740"}, key="k-ok").status_code == 201


def test_the_shops_own_order_number_is_kept_and_must_be_unique(api: Api) -> None:
    first = submit(api, {**ORDER, "number": "SHOP-1001"})
    assert first.get_json()["number"] == "SHOP-1001"
    taken = submit(api, {**ORDER, "number": "SHOP-1001"}, key="another")
    assert taken.status_code == 409


def test_non_json_and_oversized_bodies_are_refused(api: Api) -> None:
    response = api.post("/api/v1/orders", data="number=1", headers={"Idempotency-Key": "x"})
    assert response.status_code == 400
    huge = {**ORDER, "comment": "x" * 2_000_000}
    response = submit(api, huge)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_status_history_and_a_customers_orders_newest_first(api: Api) -> None:
    numbers = [submit(api, ORDER, key=f"k-{i}").get_json()["number"] for i in range(3)]
    engine = create_engine(api.database_url)
    with engine.begin() as connection:
        order_id = connection.scalar(select(Order.id).where(Order.number == numbers[0]))
        connection.execute(
            insert(OrderStatusChange).values(
                order_id=order_id, status="accepted", source="1c-exchange", details={}
            )
        )
    engine.dispose()
    history = api.get(f"/api/v1/orders/{numbers[0]}/history").get_json()
    assert [(h["status"], h["source"]) for h in history["items"]] == [
        ("new", "shop"),
        ("accepted", "1c-exchange"),
    ]
    seen, url = [], "/api/v1/customers/c-1/orders?limit=2"
    while url:
        page = api.get(url).get_json()
        seen.extend(o["number"] for o in page["items"])
        cursor = page["next_cursor"]
        url = f"/api/v1/customers/c-1/orders?limit=2&cursor={cursor}" if cursor else ""
    assert seen == list(reversed(numbers))
    assert api.get("/api/v1/customers/nobody/orders").get_json()["items"] == []
    too_long = api.get(f"/api/v1/customers/{'c' * 256}/orders")  # the documented bound: 255
    assert too_long.status_code == 400
    assert too_long.get_json()["error"]["details"][0]["field"] == "customer_ref"
    assert api.get("/api/v1/orders/NOPE").status_code == 404
    assert api.get("/api/v1/orders/NOPE/history").status_code == 404


@pytest.mark.postgres
def test_concurrent_requests_with_one_key_store_one_order(
    pg_seeded: tuple[str, dict[str, str]], app_factory: Callable[..., Flask]
) -> None:
    url, keys = pg_seeded
    app = app_factory(make_settings(url))
    statuses: list[int] = []
    numbers: list[str] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/orders",
            json=ORDER,
            headers={"X-API-Key": keys["shop"], "Idempotency-Key": "race"},
        )
        statuses.append(response.status_code)
        numbers.append(response.get_json()["number"])

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert len(set(numbers)) == 1
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Order)) == 1
    engine.dispose()


def test_an_api_order_becomes_the_order_the_sale_exchange_sends_to_1c(api: Api) -> None:
    from sqlalchemy.orm import Session, selectinload

    from syncd.exchange.order_records import order_record

    body = {
        **ORDER,
        "customer": {**ORDER["customer"], "full_name": "ООО «Ромашка»", "kpp": "770101001"},
        "payment_method": "card",
    }
    response = submit(api, body)
    assert response.status_code == 201
    assert response.get_json()["payment_method"] == "card"
    engine = create_engine(api.database_url)
    with Session(engine) as session:
        order = session.scalars(select(Order).options(selectinload(Order.lines))).one()
        record = order_record(order)
    engine.dispose()
    [contractor] = record.contractors
    assert (contractor.onec_id, contractor.full_name, contractor.inn, contractor.kpp) == (
        "c-1",
        "ООО «Ромашка»",
        "7701234567",
        "770101001",
    )
    assert [line.onec_id for line in record.lines][:2] == ["p-drill", "p-bit#6"]
    assert record.lines[-1].name == "courier"  # delivery travels as a service line
    assert ("Метод оплаты", "card") in [(r.name, r.value) for r in record.requisites]


@pytest.mark.parametrize("enabled", [True, False])
def test_an_order_taken_by_the_api_is_a_created_event_in_the_feed_unless_the_log_is_off(
    seeded_url: tuple[str, dict[str, str]], app_factory: Callable[..., Flask], enabled: bool
) -> None:
    url, keys = seeded_url
    settings = dataclasses.replace(make_settings(url), changes=ChangesSettings(enabled=enabled))
    api = Api(app_factory(settings), keys, url)
    number = submit(api, ORDER).get_json()["number"]
    submit(api, ORDER)  # the same key again: a replay, no second event
    page = api.get("/api/v1/changes?kinds=order").get_json()
    found = [(e["kind"], e["id"], e["action"], e["data"]) for e in page["items"]]
    assert found == ([("order", number, "created", {"status": "new"})] if enabled else [])
