"""Behind a reverse proxy (``[proxy] hops``) the exchange sees each client's own address: wrong
passwords from one client do not lock 1C out, and sessions record who really called."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from syncd.exchange.auth import hash_password
from syncd.store.models import ExchangeSession
from tests.exchange.serverproc import ServerProcess, start_server, write_config

LOGIN, PASSWORD = "1c", "exchange password 1"


@pytest.fixture(params=[0, 1], ids=["no proxy", "one proxy"])
def server(
    request: pytest.FixtureRequest, fresh_pg_url: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, int]]:
    config = write_config(
        tmp_path / "exchange.toml",
        database_url=fresh_pg_url,
        data_dir=tmp_path / "data",
        exchange={"username": LOGIN, "password_hash": hash_password(PASSWORD),
                  "login_rate_limit": "3/minute"},
    )  # fmt: skip
    hops: int = request.param
    with config.open("a", encoding="utf-8") as out:
        out.write(f"[proxy]\nhops = {hops}\n")
    running = start_server(config)
    try:
        yield running, hops
    finally:
        running.stop()


def checkauth(url: str, password: str, forwarded_for: str) -> list[str]:
    response = httpx.get(
        url,
        params={"type": "catalog", "mode": "checkauth"},
        auth=(LOGIN, password),
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    )
    return response.content.decode("windows-1251").splitlines()


@pytest.mark.postgres
def test_wrong_passwords_behind_the_proxy_lock_out_only_their_own_client(
    server: tuple[ServerProcess, int], fresh_pg_url: str
) -> None:
    running, hops = server
    for _ in range(4):
        checkauth(running.url, "wrong", forwarded_for="203.0.113.66")
    one_c = checkauth(running.url, PASSWORD, forwarded_for="192.0.2.10")
    if hops:
        assert one_c[0] == "success"
        engine = create_engine(fresh_pg_url)
        with engine.connect() as connection:
            recorded = connection.scalar(select(ExchangeSession.remote_addr))
        engine.dispose()
        assert recorded == "192.0.2.10"
    else:  # without a trusted proxy the header is ignored: every call is loopback's
        assert one_c[0] == "failure"
        assert "too many failed logins from 127.0.0.1" in one_c[1]
