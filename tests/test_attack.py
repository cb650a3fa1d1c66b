"""One run of ``tests/attack.py`` over live servers on loopback: ``onec-sync serve`` (gunicorn)
and ``onec-sync exchange serve`` (waitress), as separate processes on one seeded PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.exchange.auth import hash_password
from tests.attack import Target, run_attacks
from tests.exchange.serverproc import ServerProcess, start_server, write_config
from tests.serveproc import serve, served_env
from tests.storefront.conftest import JWT_SECRET, PASSWORD, seed

pytestmark = pytest.mark.postgres
ONEC_LOGIN, ONEC_PASSWORD = "1c", "exchange password 1"


@pytest.fixture
def api_server(
    fresh_pg_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    keys = seed(fresh_pg_url)
    env = served_env(
        fresh_pg_url,
        redis_url,
        STOREFRONT_JWT_SECRET=JWT_SECRET,
        STOREFRONT_RATE_LIMIT="100000/minute",
    )
    with serve(env, tmp_path / "serve.log") as url:
        yield url, keys


@pytest.fixture
def exchange_server(fresh_pg_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    config = write_config(
        tmp_path / "exchange.toml",
        database_url=fresh_pg_url,
        data_dir=tmp_path / "data",
        exchange={"username": ONEC_LOGIN, "password_hash": hash_password(ONEC_PASSWORD)},
    )
    server = start_server(config)
    try:
        yield server
    finally:
        server.stop()


def test_every_attack_is_refused_by_the_live_servers(
    api_server: tuple[str, dict[str, str]], exchange_server: ServerProcess, tmp_path: Path
) -> None:
    url, keys = api_server
    target = Target(
        api=url,
        exchange=exchange_server.url,
        api_key=keys["shop"],
        user="operator-user",
        password=PASSWORD,
        onec_login=ONEC_LOGIN,
        onec_password=ONEC_PASSWORD,
    )
    assert run_attacks(target) == {}
    assert not list(tmp_path.rglob("slip.txt"))
    assert not list(tmp_path.rglob("evil.xml"))
    assert exchange_server.process.poll() is None
