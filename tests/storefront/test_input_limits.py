"""Extreme but well-formed input gets a 4xx in the API's error shape, never a 500."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from tests.storefront.conftest import Api


def cursor_of(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


TAMPERED = [
    '["name","a\\u0000b",1]',
    '["name","a",1000000000000000000000000000000]',
    '["name","\\ud800",1]',
    '["name","a",1.5]',
    '["name",["a"],1]',
    '["price","1e999999999",1]',
    '["price","NaN",1]',
    '["-updated","2026-13-01T00:00:00",1]',
    '["search",1e999999999]',
    '["search","ten"]',
    '["orders","2026-13-01T00:00:00",1]',
    '["orders","2026-01-01T00:00:00",-1]',
    "1e999999999",
    "[" * 5000,
]
LISTINGS = {
    "name": "/api/v1/products?sort=name",
    "price": "/api/v1/products?sort=price",
    "-updated": "/api/v1/products?sort=-updated",
    "search": "/api/v1/search?q=дрель",
    "orders": "/api/v1/customers/c-1/orders?limit=20",
}


@pytest.mark.parametrize("raw", TAMPERED)
def test_a_tampered_cursor_is_a_400_invalid_cursor_on_every_listing(api: Api, raw: str) -> None:
    for path in LISTINGS.values():
        response = api.get(f"{path}&cursor={cursor_of(raw)[:512]}")
        assert response.status_code == 400, (path, raw, response.get_data(as_text=True))
        assert response.get_json()["error"]["details"] == [
            {"field": "cursor", "message": "invalid cursor"}
        ]


def test_a_json_body_nested_100000_deep_is_a_400_before_it_is_parsed(api: Api) -> None:
    body = "[" * 100_000
    response = api.post(
        "/api/v1/orders",
        data=body,
        headers={"Content-Type": "application/json", "Idempotency-Key": "deep"},
    )
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.get_json()["error"]["message"]


def test_brackets_inside_strings_do_not_count_as_nesting(api: Api) -> None:
    order = {
        "customer": {"name": "[" * 100 + "{" * 100 + '\\"['},
        "lines": [{"product_id": "p-drill", "quantity": "1"}],
    }
    response = api.post("/api/v1/orders", json=order, headers={"Idempotency-Key": "strings"})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("sort", ["price", "-price"])
def test_sorting_by_price_within_a_price_range_lists_the_products_in_range(
    api: Api, sort: str
) -> None:
    response = api.get("/api/v1/products", query_string={"sort": sort, "price_min": "200"})
    assert response.status_code == 200, response.get_json()
    prices = [Decimal(item["price"]["value"]) for item in response.get_json()["items"]]
    assert prices == sorted(prices, reverse=sort.startswith("-"))
    assert prices
    assert min(prices) >= 200
    assert Decimal("150") not in prices


def test_the_largest_documented_price_bounds_answer_an_empty_page(api: Api) -> None:
    response = api.get(
        "/api/v1/products",
        query_string={"sort": "price", "price_min": "99999999999999.9999", "price_max": "0"},
    )
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_cursor": None}


def test_a_money_value_past_the_column_is_refused_by_the_schema(api: Api) -> None:
    order = {
        "customer": {"name": "x"},
        "lines": [{"product_id": "p-drill", "quantity": "1", "price": "999999999999999"}],
    }
    response = api.post("/api/v1/orders", json=order, headers={"Idempotency-Key": "big"})
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "lines[0].price"
