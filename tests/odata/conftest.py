"""Fixtures for the OData tests: a fake 1C behind respx, settings pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import respx
from sqlalchemy import Engine

from config import DatabaseSettings, ODataSettings, PathSettings, Secret, Settings
from tests.odata.fake1c import BASE, Fake1C


@pytest.fixture
def fake() -> Iterator[Fake1C]:
    """A fake 1C base; every request to it goes through respx."""
    base = Fake1C()
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith=BASE).mock(side_effect=base)
        yield base


def odata_settings(**changes: object) -> ODataSettings:
    values: dict[str, object] = {
        "url": BASE + "/",
        "username": "Обмен",
        "password": Secret("пароль"),
        "backoff_initial_seconds": 0.0,
        "backoff_max_seconds": 0.0,
        "page_size": 500,
    }
    values.update(changes)
    return ODataSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """``make_settings(database_url, **odata_changes)``."""

    def make(database_url: str = "sqlite://", **changes: object) -> Settings:
        return Settings(
            database=DatabaseSettings(url=database_url),
            paths=PathSettings(data_dir=tmp_path / "var"),
            odata=odata_settings(**changes),
        )

    return make


@pytest.fixture
def pg(fresh_pg_url: str, make_db_engine: Callable[..., Engine]) -> tuple[str, Engine]:
    """A fresh migrated PostgreSQL database of this test and an engine on it."""
    return fresh_pg_url, make_db_engine(fresh_pg_url)
