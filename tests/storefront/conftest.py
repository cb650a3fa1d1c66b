"""Storefront fixtures: a seeded database, apps built from real settings, keys for every role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import DatabaseSettings, RedisSettings, Secret, Settings, StorefrontSettings
from config.settings import ChangesSettings
from storefront import close_app, create_app
from storefront.auth.apikeys import create_api_key
from storefront.auth.roles import ROLE_PERMISSIONS
from storefront.auth.users import create_user
from syncd.store.engine import make_engine
from tests.storefront.catalog_data import seed_catalog

JWT_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


def make_settings(database_url: str, redis_url: str = "", **storefront: Any) -> Settings:
    values: dict[str, Any] = {"jwt_secret": Secret(JWT_SECRET), "rate_limit": "100000/minute"}
    values.update(storefront)
    return Settings(
        database=DatabaseSettings(url=database_url, pool_size=4),
        redis=RedisSettings(url=redis_url, socket_timeout_seconds=0.3),
        storefront=StorefrontSettings(**values),
        changes=ChangesSettings(max_wait_seconds=1.0),  # keeps generated long-polls short
    )


def seed(database_url: str) -> dict[str, str]:
    """Seed the catalog, one user per role and one API key per role; returns the keys."""
    engine = make_engine(DatabaseSettings(url=database_url))
    keys: dict[str, str] = {}
    with engine.begin() as connection:
        seed_catalog(connection)
    with Session(engine) as session:
        for role in ("shop", "operator", "admin"):
            keys[role] = create_api_key(session, name=f"{role} key", role=role)[1]
        keys["other-shop"] = create_api_key(session, name="another shop", role="shop")[1]
        keys["pricer"] = create_api_key(
            session,
            name="shop with overrides",
            role="shop",
            scopes=[*ROLE_PERMISSIONS["shop"]],
        )[1]
        revoked_description, keys["revoked"] = create_api_key(session, name="old", role="admin")
        from storefront.auth.apikeys import revoke_api_key

        revoke_api_key(session, revoked_description["prefix"])
        for role in ("operator", "admin"):
            create_user(session, username=f"{role}-user", password=PASSWORD, role=role)
        session.commit()
    engine.dispose()
    return keys


@pytest.fixture
def app_factory() -> Iterator[Callable[..., Flask]]:
    """``app_factory(settings)``: a TESTING app, closed after the test."""
    apps: list[Flask] = []

    def make(settings: Settings, **config: Any) -> Flask:
        app = create_app(settings, {"TESTING": True, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


class Api:
    """A test client with credentials at hand."""

    def __init__(self, app: Flask, keys: dict[str, str], database_url: str) -> None:
        self.app = app
        self.keys = keys
        self.database_url = database_url
        self.client: FlaskClient = app.test_client()

    def get(self, path: str, role: str | None = "shop", **kwargs: Any) -> Any:
        return self.client.get(
            path, headers=self._headers(role, kwargs.pop("headers", {})), **kwargs
        )

    def post(self, path: str, role: str | None = "shop", **kwargs: Any) -> Any:
        return self.client.post(
            path, headers=self._headers(role, kwargs.pop("headers", {})), **kwargs
        )

    def _headers(self, role: str | None, extra: dict[str, str]) -> dict[str, str]:
        headers = {"X-API-Key": self.keys[role]} if role else {}
        return {**headers, **extra}


@pytest.fixture
def seeded_url(fresh_database_url: str) -> tuple[str, dict[str, str]]:
    """A fresh, seeded database on SQLite and on PostgreSQL (the test runs for both)."""
    return fresh_database_url, seed(fresh_database_url)


@pytest.fixture
def api(seeded_url: tuple[str, dict[str, str]], app_factory: Callable[..., Flask]) -> Api:
    """The API without Redis, over each backend."""
    url, keys = seeded_url
    return Api(app_factory(make_settings(url)), keys, url)


@pytest.fixture
def pg_seeded(fresh_pg_url: str) -> tuple[str, dict[str, str]]:
    return fresh_pg_url, seed(fresh_pg_url)


@pytest.fixture
def pg_api(pg_seeded: tuple[str, dict[str, str]], app_factory: Callable[..., Flask]) -> Api:
    url, keys = pg_seeded
    return Api(app_factory(make_settings(url)), keys, url)


def with_storefront(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, storefront=replace(settings.storefront, **changes))


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """The value of ``name`` with (at least) ``labels`` in a Prometheus text exposition; 0 when
    it is absent."""
    for line in exposition.splitlines():
        metric, _, value = line.rpartition(" ")
        if not metric.startswith(name + "{") and metric != name:
            continue
        if all(f'{key}="{wanted}"' in metric for key, wanted in labels.items()):
            return float(value)
    return 0.0
