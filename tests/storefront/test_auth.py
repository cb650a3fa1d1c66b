"""Who may do what: the authorization matrix, logins, refresh, revocation, scopes, the CLI."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask_jwt_extended import create_access_token
from sqlalchemy import create_engine, update

from cli import main
from syncd.store.models import User
from tests.storefront.conftest import PASSWORD, Api

ORDER = {
    "customer": {"ref": "c-1", "name": "Иван Петров", "email": "ivan@example.ru"},
    "lines": [{"product_id": "p-drill", "quantity": "1", "price": "5990"}],
}
CREDENTIALS = [
    "anonymous",
    "wrong key",
    "revoked key",
    "expired token",
    "alg=none token",
    "shop key",
    "other shop key",
    "operator",
    "admin",
]
GOOD = {
    "shop key": "shop",
    "other shop key": "other-shop",
    "operator": "operator",
    "admin": "admin",
}
# Whose orders each caller reads in GET /customers/{ref}/orders (the order is the shop key's).
SEES_THE_ORDER = {"shop": True, "other-shop": False, "operator": True, "admin": True}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def login(api: Api, username: str) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    tokens: dict[str, Any] = response.get_json()
    return tokens


def headers_for(api: Api, credential: str) -> dict[str, str]:
    if credential == "anonymous":
        return {}
    if credential == "wrong key":
        return {"X-API-Key": "osk_0123456789ab_not-a-real-key"}
    if credential == "revoked key":
        return {"X-API-Key": api.keys["revoked"]}
    if credential == "shop key":
        return {"X-API-Key": api.keys["shop"]}
    if credential == "other shop key":
        return {"X-API-Key": api.keys["other-shop"]}
    if credential == "expired token":
        with api.app.app_context():
            token = create_access_token(
                "admin-user",
                additional_claims={"role": "admin"},
                expires_delta=timedelta(seconds=-30),
            )
        return {"Authorization": f"Bearer {token}"}
    if credential == "alg=none token":
        now = int(time.time())
        claims = {
            "sub": "admin-user",
            "role": "admin",
            "type": "access",
            "fresh": False,
            "jti": "forged",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
        return {"Authorization": f"Bearer {token}"}
    tokens = login(api, f"{credential}-user")
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def matrix_rows(order_number: str) -> list[tuple[str, str, dict[str, Any], dict[str, int]]]:
    """(method, path, request kwargs, status by role); bad credentials get 401 unless public."""
    read = {"shop": 200, "other-shop": 200, "operator": 200, "admin": 200}
    owned = {**read, "other-shop": 404}  # another shop's order reads as absent
    no_key = {"shop": 403, "other-shop": 403, "operator": 403}
    return [
        ("GET", "/api/v1/ping", {}, {"public": 200}),
        ("GET", "/api/v1/openapi.json", {}, {"public": 200}),
        ("GET", "/api/v1/docs", {}, {"public": 200}),
        ("GET", "/api/v1/groups", {}, read),
        ("GET", "/api/v1/price-types", {}, read),
        ("GET", "/api/v1/warehouses", {}, read),
        ("GET", "/api/v1/products", {}, read),
        ("GET", "/api/v1/products/p-drill", {}, read),
        ("GET", "/api/v1/search?q=дрель", {}, read),
        (
            "POST",
            "/api/v1/orders",
            {"json": ORDER, "headers": {"Idempotency-Key": "m-1"}},
            {"shop": 201, "other-shop": 201, "operator": 403, "admin": 201},
        ),
        ("GET", f"/api/v1/orders/{order_number}", {}, owned),
        ("GET", f"/api/v1/orders/{order_number}/history", {}, owned),
        ("GET", "/api/v1/customers/c-1/orders", {}, read),
        (
            "POST",
            "/api/v1/auth/login",
            {"json": {"username": "operator-user", "password": PASSWORD}},
            {"public": 200},
        ),
        (
            "POST",
            "/api/v1/auth/refresh",
            {},
            {"shop": 401, "other-shop": 401, "operator": 401, "admin": 401},
        ),
        ("GET", "/api/v1/auth/me", {}, read),
        ("GET", "/api/v1/admin/api-keys", {}, {**no_key, "admin": 200}),
        (
            "POST",
            "/api/v1/admin/api-keys",
            {"json": {"name": "new", "role": "shop"}},
            {**no_key, "admin": 201},
        ),
        ("DELETE", "/api/v1/admin/api-keys/{revoked}", {}, {**no_key, "admin": 200}),
        # last: it revokes the token the row used
        (
            "POST",
            "/api/v1/auth/logout",
            {},
            {"shop": 401, "other-shop": 401, "operator": 200, "admin": 200},
        ),
    ]


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_endpoint_answers_each_kind_of_caller_as_the_roles_say(
    api: Api, credential: str
) -> None:
    created = api.post("/api/v1/orders", json=ORDER, headers={"Idempotency-Key": "setup"})
    assert created.status_code == 201
    number = created.get_json()["number"]
    revoked_prefix = api.keys["revoked"].split("_")[1]
    headers = headers_for(api, credential)
    role = GOOD.get(credential)
    seen = []
    for method, path, kwargs, by_role in matrix_rows(number):
        path = path.replace("{revoked}", revoked_prefix)
        expected = by_role.get("public") or (by_role[role] if role else 401)
        request_headers = {**headers, **kwargs.get("headers", {})}
        response = api.client.open(
            path, method=method, headers=request_headers, json=kwargs.get("json")
        )
        seen.append((method, path, response.status_code))
        assert response.status_code == expected, (method, path, response.get_data(as_text=True))
        if expected in (401, 403, 404):
            assert response.get_json()["error"]["status"] == expected
        if path.startswith("/api/v1/customers/") and role:
            numbers = [item["number"] for item in response.get_json()["items"]]
            assert (number in numbers) == SEES_THE_ORDER[role]
        if role and path.startswith("/api/v1/orders/") and method == "GET":
            assert api.keys["shop"].split("_")[1] not in response.get_data(as_text=True)
    assert len(seen) == 20


def test_a_refresh_token_gets_a_new_access_token_but_an_access_token_does_not(api: Api) -> None:
    tokens = login(api, "admin-user")
    refreshed = api.client.post(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert refreshed.status_code == 200
    new_access = refreshed.get_json()["access_token"]
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {new_access}"})
    assert me.get_json() == {
        "kind": "user",
        "name": "admin-user",
        "role": "admin",
        "permissions": ["admin", "catalog:read", "orders:read", "orders:write"],
    }
    wrong = api.client.post(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert wrong.status_code == 401
    # and a refresh token is no access token
    assert (
        api.client.get(
            "/api/v1/products", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
        ).status_code
        == 401
    )


def test_logout_revokes_the_access_token_and_the_refresh_token_sent_with_it(api: Api) -> None:
    tokens = login(api, "operator-user")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert api.client.get("/api/v1/products", headers=bearer).status_code == 200
    out = api.client.post(
        "/api/v1/auth/logout", headers=bearer, json={"refresh_token": tokens["refresh_token"]}
    )
    assert out.get_json() == {"revoked": 2}
    assert api.client.get("/api/v1/products", headers=bearer).status_code == 401
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert api.client.post("/api/v1/auth/refresh", headers=refresh).status_code == 401


@pytest.mark.parametrize(
    ("username", "password"), [("operator-user", "wrong password!"), ("nobody", PASSWORD)]
)
def test_wrong_usernames_and_passwords_are_refused_alike(
    api: Api, username: str, password: str
) -> None:
    response = api.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "wrong username or password"


def test_a_disabled_users_tokens_stop_working(api: Api) -> None:
    tokens = login(api, "operator-user")
    engine = create_engine(api.database_url)
    with engine.begin() as connection:
        connection.execute(update(User).values(is_active=False))
    engine.dispose()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert api.client.get("/api/v1/products", headers=bearer).status_code == 401


def test_a_scoped_key_can_do_only_what_its_scopes_allow(api: Api) -> None:
    created = api.client.post(
        "/api/v1/admin/api-keys",
        headers={"X-API-Key": api.keys["admin"]},
        json={"name": "catalog only", "role": "shop", "scopes": ["catalog:read"]},
    )
    assert created.status_code == 201
    key = {"X-API-Key": created.get_json()["key"]}
    assert api.client.get("/api/v1/products", headers=key).status_code == 200
    order = api.client.post("/api/v1/orders", headers={**key, "Idempotency-Key": "x"}, json=ORDER)
    assert order.status_code == 403
    listed = api.client.get("/api/v1/admin/api-keys", headers={"X-API-Key": api.keys["admin"]})
    assert "key" not in listed.get_json()["items"][-1]
    assert listed.get_json()["items"][-1]["scopes"] == ["catalog:read"]


def run_cli(url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, list(args), input=stdin, env={"ONEC_SYNC_DATABASE_URL": url, "ONEC_SYNC_CONFIG": ""}
    )
    return result.exit_code, result.stdout, result.stderr


def test_cli_creates_users_and_keys_lists_keys_without_secrets_and_revokes_them(
    api: Api,
) -> None:
    url = api.database_url
    code, out, err = run_cli(
        url,
        "users",
        "create",
        "maria",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert code == 0, err
    assert "created admin maria" in out
    code, out, err = run_cli(
        url, "users", "create", "maria", "--password-stdin", stdin="a long enough password\n"
    )
    assert code == 1
    assert "already exists" in err
    assert (
        api.client.post(
            "/api/v1/auth/login", json={"username": "maria", "password": "a long enough password"}
        ).status_code
        == 200
    )

    code, out, err = run_cli(url, "apikeys", "create", "shop backend", "--role", "shop")
    assert code == 0, err
    key = out.strip()
    assert key.startswith("osk_")
    prefix = key.split("_")[1]
    assert api.client.get("/api/v1/products", headers={"X-API-Key": key}).status_code == 200

    code, out, _ = run_cli(url, "apikeys", "list")
    assert prefix in out
    assert key not in out
    code, out, _ = run_cli(url, "apikeys", "revoke", prefix)
    assert code == 0
    assert api.client.get("/api/v1/products", headers={"X-API-Key": key}).status_code == 401
    code, out, _ = run_cli(url, "apikeys", "list")
    assert prefix not in out
    code, out, _ = run_cli(url, "apikeys", "list", "--all", "--json")
    assert next(k for k in json.loads(out) if k["prefix"] == prefix)["revoked_at"]
    code, _, err = run_cli(url, "apikeys", "revoke", "000000000000")
    assert code == 1
    assert "no API key" in err
