"""``onec-sync exchange serve`` stops cleanly: SIGINT and SIGTERM end it with exit status 0."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.exchange.conftest import LOGIN, PASSWORD_HASH
from tests.exchange.serverproc import start_server, write_config


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_exchange_serve_exits_0_on_a_stop_signal_even_after_serving_requests(
    tmp_path: Path, fresh_sqlite_url: str, stop_with: signal.Signals
) -> None:
    config = write_config(
        tmp_path / "serve.toml",
        database_url=fresh_sqlite_url,
        data_dir=tmp_path / "data",
        exchange={"username": LOGIN, "password_hash": PASSWORD_HASH},
    )
    server = start_server(config)
    try:
        reply = httpx.get(server.url, params={"type": "catalog", "mode": "checkauth"}, timeout=10)
        assert reply.status_code in (200, 401)
        server.process.send_signal(stop_with)
        status = server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise
    finally:
        output = server.stop()
    assert status == 0, output
    assert "Traceback" not in output
    assert "Bad file descriptor" not in output
