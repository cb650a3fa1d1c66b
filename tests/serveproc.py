"""The storefront API as a separate process (``onec-sync serve``), as in production."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def served_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """This process's environment for ``onec-sync serve`` against ``database_url`` and
    ``redis_url``, without a configuration file, plus ``settings`` as ``ONEC_SYNC_<NAME>``
    variables (``STOREFRONT_JWT_SECRET=...``)."""
    env = {
        **os.environ,
        "ONEC_SYNC_DATABASE_URL": database_url,
        "ONEC_SYNC_REDIS_URL": redis_url,
        **{f"ONEC_SYNC_{name}": value for name, value in settings.items()},
    }
    env.pop("ONEC_SYNC_CONFIG", None)
    return env


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serve(env: dict[str, str], log: Path, *, workers: int = 1) -> Iterator[str]:
    """``onec-sync serve`` on a free loopback port with ``env``, its output in ``log``; yields
    its base URL once ``/api/v1/ping`` answers, and stops it afterwards."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("onec-sync")), "serve",
               "--listen", f"127.0.0.1:{port}", "--workers", str(workers)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not answers(base + "/api/v1/ping"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)
