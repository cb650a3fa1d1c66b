"""``/metrics``: replica skips by reason, for operators only, summed over gunicorn's workers."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from tests.storefront.conftest import JWT_SECRET, Api, make_settings, metric_value

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def dead_replica() -> str:
    """A replica URL nothing listens on."""
    return f"postgresql+psycopg://127.0.0.1:{_free_port()}/replica"


def _skips(exposition: str, reason: str) -> float:
    return metric_value(exposition, "onec_sync_storefront_replica_skips_total", reason=reason)


def test_reads_that_skip_a_down_replica_are_counted_by_reason(
    pg_seeded: tuple[str, dict[str, str]], app_factory: Callable[..., Flask], dead_replica: str
) -> None:
    url, keys = pg_seeded
    settings = make_settings(url)
    database = dataclasses.replace(settings.database, replica_urls=(dead_replica,))
    api = Api(app_factory(dataclasses.replace(settings, database=database)), keys, url)
    for _ in range(3):
        assert api.get("/api/v1/products?limit=2").status_code == 200
    scraped = api.get("/metrics", role="operator")
    assert scraped.status_code == 200
    assert scraped.headers["Cache-Control"] == "no-store"
    text = scraped.get_data(as_text=True)
    assert _skips(text, "down") == 3
    assert _skips(text, "behind") == 0
    named = metric_value(text, "onec_sync_storefront_replica_skips_total", replica=dead_replica)
    assert named == 3  # which replica, by its URL (without a password)


def test_the_metrics_are_refused_to_shops_and_to_anonymous_callers(pg_api: Api) -> None:
    assert pg_api.get("/metrics", role=None).status_code == 401
    refused = pg_api.get("/metrics", role="shop")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"]
    assert pg_api.get("/metrics", role="admin").status_code == 200


@pytest.fixture
def served(
    pg_seeded: tuple[str, dict[str, str]], dead_replica: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """``onec-sync serve`` with two gunicorn workers and a replica that is down."""
    url, keys = pg_seeded
    port = _free_port()
    env = {
        **os.environ,
        "ONEC_SYNC_DATABASE_URL": url,
        "ONEC_SYNC_DATABASE_REPLICA_URLS": dead_replica,
        "ONEC_SYNC_STOREFRONT_JWT_SECRET": JWT_SECRET,
        "ONEC_SYNC_STOREFRONT_RATE_LIMIT": "100000/minute",
    }
    for name in ("ONEC_SYNC_CONFIG", "ONEC_SYNC_REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    command = [str(Path(sys.executable).with_name("onec-sync")), "serve",
               "--listen", f"127.0.0.1:{port}", "--workers", "2"]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base + "/api/v1/ping"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield base, keys
    finally:
        process.terminate()
        process.wait(30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_every_worker_s_skips_are_counted_whichever_worker_answers_the_scrape(
    served: tuple[str, dict[str, str]],
) -> None:
    base, keys = served
    reads = 24
    for _ in range(reads):  # a new connection each: gunicorn hands them to either worker
        reply = httpx.get(base + "/api/v1/products?limit=2", headers={"X-API-Key": keys["shop"]})
        assert reply.status_code == 200, reply.text
    for _ in range(6):
        scraped = httpx.get(base + "/metrics", headers={"X-API-Key": keys["operator"]})
        assert scraped.status_code == 200, scraped.text
        assert _skips(scraped.text, "down") == reads
