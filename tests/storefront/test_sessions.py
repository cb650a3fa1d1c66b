"""What an attacker tries next against people's sessions, rate limits and revocation."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask_jwt_extended import create_access_token, decode_token

from cli import main
from config import ProxySettings
from storefront import manage
from tests.storefront.conftest import PASSWORD, Api, make_settings

NEW_PASSWORD = "another long password"


def login(api: Api, username: str = "operator-user", password: str = PASSWORD) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.get_json()
    tokens: dict[str, Any] = response.get_json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(api: Api, refresh_token: str) -> Any:
    return api.client.post("/api/v1/auth/refresh", headers=bearer(refresh_token))


def works(api: Api, access_token: str) -> bool:
    status = api.client.get("/api/v1/auth/me", headers=bearer(access_token)).status_code
    assert status in (200, 401)
    return status == 200


def run_cli(url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, list(args), input=stdin, env={"ONEC_SYNC_DATABASE_URL": url, "ONEC_SYNC_CONFIG": ""}
    )
    return result.exit_code, result.stdout, result.stderr


# --- refresh rotation, reuse, logout, exp ------------------------------------------------------


def test_a_refresh_token_refreshes_once_and_gives_a_new_one(api: Api) -> None:
    first = login(api)
    second = refresh(api, first["refresh_token"])
    assert second.status_code == 200
    pair = second.get_json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert works(api, pair["access_token"])
    third = refresh(api, pair["refresh_token"])
    assert third.status_code == 200
    assert works(api, third.get_json()["access_token"])


def test_a_reused_refresh_token_ends_its_whole_family(api: Api) -> None:
    stolen = login(api)
    legitimate = refresh(api, stolen["refresh_token"]).get_json()
    replay = refresh(api, stolen["refresh_token"])
    assert replay.status_code == 401
    assert "already used" in replay.get_json()["error"]["message"]
    assert not works(api, legitimate["access_token"])
    assert refresh(api, legitimate["refresh_token"]).status_code == 401
    assert not works(api, stolen["access_token"])
    other_login = login(api)  # another login of the same person is another family
    assert works(api, other_login["access_token"])


def test_logout_with_the_access_token_alone_ends_the_refresh_token_too(api: Api) -> None:
    tokens = login(api)
    out = api.client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 200
    assert refresh(api, tokens["refresh_token"]).status_code == 401
    assert not works(api, tokens["access_token"])


def test_a_token_without_exp_is_refused(api: Api) -> None:
    tokens = login(api)
    with api.app.app_context():
        family = decode_token(tokens["access_token"])["fam"]
        forever = create_access_token(
            "operator-user",
            additional_claims={"role": "operator", "fam": family},
            expires_delta=False,
        )
        assert "exp" not in decode_token(forever)
    assert not works(api, forever)


@pytest.mark.parametrize(
    "token", ["abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x", "Bearer", "é" * 10]
)
def test_jwt_errors_name_no_library_internals(api: Api, token: str) -> None:
    response = api.client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    message = response.get_json()["error"]["message"]
    assert message in ("the token is not valid", "send the token as Authorization: Bearer <token>")


# --- users on the command line ------------------------------------------------------------------


def test_disabling_a_user_ends_their_sessions_and_enabling_does_not_revive_them(api: Api) -> None:
    tokens = login(api)
    code, out, err = run_cli(api.database_url, "users", "disable", "operator-user")
    assert (code, out.strip()) == (0, "disabled operator-user"), err
    assert not works(api, tokens["access_token"])
    assert (
        api.client.post(
            "/api/v1/auth/login", json={"username": "operator-user", "password": PASSWORD}
        ).status_code
        == 401
    )
    code, out, _ = run_cli(api.database_url, "users", "list")
    assert "disabled" in next(line for line in out.splitlines() if "operator-user" in line)
    code, _, _ = run_cli(api.database_url, "users", "enable", "operator-user")
    assert code == 0
    assert not works(api, tokens["access_token"])
    assert refresh(api, tokens["refresh_token"]).status_code == 401
    assert works(api, login(api)["access_token"])


def test_set_password_reads_stdin_and_ends_the_users_sessions(api: Api) -> None:
    tokens = login(api)
    code, _, err = run_cli(
        api.database_url,
        "users",
        "set-password",
        "operator-user",
        "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )
    assert code == 0, err
    assert not works(api, tokens["access_token"])
    assert refresh(api, tokens["refresh_token"]).status_code == 401
    assert works(api, login(api, password=NEW_PASSWORD)["access_token"])


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("users", "disable", "nobody"), None, "no user 'nobody'"),
        (("users", "set-password", "nobody", "--password-stdin"), NEW_PASSWORD, "no user"),
        (("users", "set-password", "admin-user", "--password-stdin"), "short", "at least 10"),
        (("users", "set-password", "admin-user", "--password-stdin"), "", "empty password"),
    ],
)
def test_users_commands_refuse_bad_input_in_one_line(
    api: Api, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    code, _, err = run_cli(api.database_url, *args, stdin=stdin)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag", ["--password-stdin", "--stdin"])
def test_hash_password_takes_the_one_password_flag_and_keeps_the_old_one(flag: str) -> None:
    result = CliRunner().invoke(main, ["exchange", "hash-password", flag], input="secret pw\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("$argon2id$")


# --- rate limits ---------------------------------------------------------------------------------


@pytest.fixture
def limited(
    pg_seeded: tuple[str, dict[str, str]], redis_url: str, app_factory: Callable[..., Flask]
) -> Api:
    url, keys = pg_seeded
    settings = make_settings(url, redis_url, rate_limit="5/minute", cache_ttl_seconds=0)
    return Api(app_factory(settings), keys, url)


@pytest.mark.postgres
def test_bogus_keys_with_a_real_prefix_do_not_spend_the_real_keys_budget(limited: Api) -> None:
    prefix = limited.keys["shop"].split("_")[1]
    bogus = {"X-API-Key": f"osk_{prefix}_bogus"}
    statuses = [limited.client.get("/api/v1/groups", headers=bogus).status_code for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    real = limited.get("/api/v1/groups", role="shop")
    assert real.status_code == 200
    assert real.headers["X-RateLimit-Remaining"] == "4"


@pytest.mark.postgres
def test_random_key_prefixes_are_limited_per_client_address(limited: Api) -> None:
    statuses = [
        limited.client.get(
            "/api/v1/groups", headers={"X-API-Key": f"osk_{secrets.token_hex(6)}_x"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


@pytest.mark.postgres
def test_the_headers_show_only_the_callers_own_budget(limited: Api) -> None:
    for _ in range(3):
        assert limited.get("/api/v1/groups", role="admin").status_code == 200
    mine = limited.get("/api/v1/groups", role="shop")
    assert mine.headers["X-RateLimit-Remaining"] == "4"
    anonymous = limited.client.get("/api/v1/ping")
    assert anonymous.headers["X-RateLimit-Remaining"] == "4"


@pytest.mark.postgres
def test_a_persons_budget_follows_them_not_their_token(limited: Api) -> None:
    first, second = login(limited), login(limited)
    for _ in range(3):
        limited.client.get("/api/v1/groups", headers=bearer(first["access_token"]))
    shown = limited.client.get("/api/v1/groups", headers=bearer(second["access_token"]))
    assert shown.headers["X-RateLimit-Remaining"] == "1"


# --- trusted proxies -----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("hops", [0, 1])
def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(
    pg_seeded: tuple[str, dict[str, str]],
    redis_url: str,
    app_factory: Callable[..., Flask],
    hops: int,
) -> None:
    url, keys = pg_seeded
    settings = make_settings(url, redis_url, rate_limit="2/minute")
    api = Api(app_factory(replace(settings, proxy=ProxySettings(hops=hops))), keys, url)
    statuses = [
        api.client.get("/api/v1/ping", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(4)
    ]
    assert statuses == ([200] * 4 if hops else [200, 200, 429, 429])


# --- revocation ------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_key_revoked_without_redis_is_refused_within_the_stated_bound(
    pg_seeded: tuple[str, dict[str, str]], redis_url: str, app_factory: Callable[..., Flask]
) -> None:
    url, keys = pg_seeded
    settings = make_settings(url, redis_url, key_cache_seconds=1.0)
    api = Api(app_factory(settings), keys, url)
    assert api.get("/api/v1/groups", role="shop").status_code == 200  # verified and remembered
    prefix = keys["shop"].split("_")[1]
    manage.revoke_api_key(settings.database, prefix, redis_url="")  # the CLI without Redis
    time.sleep(1.1)
    assert api.get("/api/v1/groups", role="shop").status_code == 401
