"""``/metrics``: replica skips by reason, for operators only, summed over gunicorn's workers."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from tests.serveproc import free_port, serve
from tests.storefront.conftest import JWT_SECRET, Api, make_settings, metric_value

pytestmark = pytest.mark.postgres


@pytest.fixture
def dead_replica() -> str:
    """A replica URL nothing listens on."""
    return f"postgresql+psycopg://127.0.0.1:{free_port()}/replica"


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
    env = {
        **os.environ,
        "ONEC_SYNC_DATABASE_URL": url,
        "ONEC_SYNC_DATABASE_REPLICA_URLS": dead_replica,
        "ONEC_SYNC_STOREFRONT_JWT_SECRET": JWT_SECRET,
        "ONEC_SYNC_STOREFRONT_RATE_LIMIT": "100000/minute",
    }
    for name in ("ONEC_SYNC_CONFIG", "ONEC_SYNC_REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    with serve(env, tmp_path / "serve.log", workers=2) as base:
        yield base, keys


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
