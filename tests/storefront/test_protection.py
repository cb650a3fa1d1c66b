"""CORS for configured origins only, security headers, one error shape for every failure."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from storefront.errors import ConfigurationError
from tests.storefront.conftest import Api, make_settings, with_storefront


@pytest.fixture
def cors_api(seeded_url: tuple[str, dict[str, str]], app_factory: Callable[..., Flask]) -> Api:
    url, keys = seeded_url
    settings = make_settings(url, cors_origins=("https://shop.example.ru",))
    return Api(app_factory(settings), keys, url)


def test_only_configured_origins_get_cors_headers(cors_api: Api) -> None:
    allowed = cors_api.get("/api/v1/products", headers={"Origin": "https://shop.example.ru"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example.ru"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    other = cors_api.get("/api/v1/products", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = cors_api.client.options(
        "/api/v1/orders",
        headers={
            "Origin": "https://shop.example.ru",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-API-Key, Idempotency-Key, Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_without_configured_origins_there_is_no_cors(api: Api) -> None:
    response = api.get("/api/v1/products", headers={"Origin": "https://shop.example.ru"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_responses_carry_security_headers(api: Api) -> None:
    response = api.get("/api/v1/products")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert api.post("/api/v1/auth/logout").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nothing-here", 404, "not_found"),
        ("DELETE", "/api/v1/products", 405, "method_not_allowed"),
        ("GET", "/api/v1/products/a%00b", 400, "invalid_request"),
        ("GET", "/api/v1/products?group=a%00b", 400, "invalid_request"),
    ],
)
def test_every_error_is_json_of_one_shape(
    api: Api, method: str, path: str, status: int, code: str
) -> None:
    response = api.client.open(path, method=method, headers={"X-API-Key": api.keys["admin"]})
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert isinstance(error["message"], str)
    assert isinstance(error["details"], list)


def test_the_login_endpoint_is_rate_limited_per_address(api: Api) -> None:
    body = {"username": "operator-user", "password": "wrong password!"}
    statuses = [api.client.post("/api/v1/auth/login", json=body).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]


def test_production_refuses_to_start_without_a_jwt_secret(
    seeded_url: tuple[str, dict[str, str]],
) -> None:
    from config import Secret
    from storefront import create_app

    settings = with_storefront(make_settings(seeded_url[0]), jwt_secret=Secret(""))
    with pytest.raises(ConfigurationError, match="jwt_secret"):
        create_app(settings)
    with pytest.raises(ConfigurationError, match="at least 32"):
        create_app(with_storefront(settings, jwt_secret=Secret("short")))


def test_overlong_path_parameters_are_a_400(api: Api) -> None:
    response = api.get("/api/v1/customers/" + "0" * 256 + "/orders")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [
        {"field": "customer_ref", "message": "too long"}
    ]


@pytest.mark.postgres
def test_a_lost_database_connection_is_one_503_then_the_pool_recovers(pg_api: Api) -> None:
    from sqlalchemy import create_engine, text

    assert pg_api.get("/api/v1/groups").status_code == 200
    admin = create_engine(pg_api.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # what a PostgreSQL restart does to the pool
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()
    first = pg_api.get("/api/v1/groups")
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1"  # not the rate limiter's window

    assert first.get_json()["error"]["code"] == "unavailable"
    assert pg_api.get("/api/v1/groups").status_code == 200
