"""One run of ``tests/attack.py`` over live servers on loopback: ``onec-sync serve`` (gunicorn)
and ``onec-sync exchange serve`` (waitress), as separate processes on one seeded PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncd.exchange.auth import hash_password
from tests.attack import Target, run_attacks
from tests.exchange.serverproc import ServerProcess, start_server, write_config
from tests.storefront.conftest import JWT_SECRET, PASSWORD, seed

pytestmark = pytest.mark.postgres
ONEC_LOGIN, ONEC_PASSWORD = "1c", "exchange password 1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def api_server(
    fresh_pg_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    keys = seed(fresh_pg_url)
    port = free_port()
    env = {
        **os.environ,
        "ONEC_SYNC_DATABASE_URL": fresh_pg_url,
        "ONEC_SYNC_REDIS_URL": redis_url,
        "ONEC_SYNC_STOREFRONT_JWT_SECRET": JWT_SECRET,
        "ONEC_SYNC_STOREFRONT_RATE_LIMIT": "100000/minute",
    }
    env.pop("ONEC_SYNC_CONFIG", None)
    command = [str(Path(sys.executable).with_name("onec-sync")), "serve",
               "--listen", f"127.0.0.1:{port}", "--workers", "1"]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(url + "/api/v1/ping"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        yield url, keys
    finally:
        process.terminate()
        process.wait(30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


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
