"""Fixtures for the exchange: settings on a fresh database, the app, a 1C-like test client."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from config import DatabaseSettings, ExchangeSettings, PathSettings, Settings
from syncd.exchange.app import create_exchange_app, exchange_service
from syncd.exchange.auth import hash_password

LOGIN, PASSWORD = "обмен", "Пароль-1С"
PASSWORD_HASH = hash_password(PASSWORD)


def basic(user: str = LOGIN, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def exchange_settings(tmp_path: Path, fresh_database_url: str) -> Settings:
    return Settings(
        database=DatabaseSettings(url=fresh_database_url),
        paths=PathSettings(data_dir=tmp_path / "data"),
        exchange=ExchangeSettings(
            username=LOGIN,
            password_hash=PASSWORD_HASH,
            file_limit=64 * 1024,
            max_upload_bytes=1024 * 1024,
            import_wait_seconds=0.5,
            login_rate_limit="5/minute",
        ),
    )


@pytest.fixture
def make_app(
    make_db_engine: Callable[..., Engine],
) -> Iterator[Callable[[Settings], Flask]]:
    apps: list[Flask] = []

    def make(settings: Settings) -> Flask:
        app = create_exchange_app(settings, make_db_engine(settings.database.url))
        apps.append(app)
        return app

    yield make
    for app in apps:
        exchange_service(app).close()


@pytest.fixture
def app(exchange_settings: Settings, make_app: Callable[[Settings], Flask]) -> Flask:
    return make_app(exchange_settings)


@dataclass
class OneC:
    """Speaks to the app as 1C does: Basic on checkauth, then the cookie it was given."""

    client: FlaskClient
    path: str
    type: str = "catalog"
    cookie: str | None = None

    def call(
        self,
        mode: str,
        *,
        body: bytes | None = None,
        auth: str | None = None,
        cookie: str | None = None,
        **params: str,
    ) -> TestResponse:
        headers = {"User-Agent": "1C+Enterprise/8.3"}
        if auth:
            headers["Authorization"] = auth
        token = cookie if cookie is not None else self.cookie
        if token and mode != "checkauth":
            headers["Cookie"] = f"onec_sync_exchange={token}"
        query = {"type": self.type, "mode": mode, **params}
        if body is not None:
            return self.client.post(self.path, query_string=query, data=body, headers=headers)
        return self.client.get(self.path, query_string=query, headers=headers)

    def login(self) -> list[str]:
        lines = text(self.call("checkauth", auth=basic()))
        assert lines[0] == "success", lines
        self.cookie = lines[2]
        return lines

    def start(self, **params: str) -> list[str]:
        self.login()
        return text(self.call("init", **params))


def text(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.data
    charset = response.mimetype_params.get("charset", "utf-8")
    return response.data.decode(charset).rstrip("\n").split("\n")


@pytest.fixture
def one_c(app: Flask) -> OneC:
    return OneC(app.test_client(use_cookies=False), exchange_service(app).settings.path)


@pytest.fixture
def other_one_c(app: Flask) -> OneC:
    return OneC(app.test_client(use_cookies=False), exchange_service(app).settings.path)


def with_exchange(settings: Settings, **changes: object) -> Settings:
    return replace(settings, exchange=replace(settings.exchange, **changes))
