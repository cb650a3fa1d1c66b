"""Two ``onec-sync serve`` instances (separate processes, different ports) on one Redis and one
PostgreSQL database, as behind a load balancer: one cache generation, one rate-limit budget per
key, one revocation state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from config import DatabaseSettings
from storefront.auth.apikeys import create_api_key
from syncd.store.engine import make_engine
from syncd.store.events import publish_catalog_changed, wal_position
from tests.serveproc import serve, served_env
from tests.storefront.conftest import JWT_SECRET, seed

pytestmark = pytest.mark.postgres

RATE_LIMIT = 40  # per minute, per key, shared by both instances
KEY_CACHE_SECONDS = 5.0  # storefront.key_cache_seconds, the documented revocation bound


@dataclass
class Hosts:
    urls: tuple[str, str]
    database_url: str
    redis_url: str
    keys: dict[str, str]

    def new_key(self, role: str = "shop") -> tuple[str, str]:
        """A fresh API key (its own rate-limit budget); returns (prefix, key)."""
        engine = make_engine(DatabaseSettings(url=self.database_url))
        try:
            with Session(engine) as session:
                described, key = create_api_key(session, name=f"new {role}", role=role)
                session.commit()
        finally:
            engine.dispose()
        return str(described["prefix"]), key


@pytest.fixture
def hosts(fresh_pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Hosts]:
    redis.Redis.from_url(redis_url).flushdb()
    keys = seed(fresh_pg_url)
    env = served_env(
        fresh_pg_url,
        redis_url,
        STOREFRONT_JWT_SECRET=JWT_SECRET,
        STOREFRONT_RATE_LIMIT=f"{RATE_LIMIT}/minute",
        STOREFRONT_KEY_CACHE_SECONDS=str(KEY_CACHE_SECONDS),
    )
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(serve(env, tmp_path / f"serve-{n}.log")) for n in (1, 2)
        )
        yield Hosts((first, second), fresh_pg_url, redis_url, keys)


def _retail_price(base: str, key: str) -> str:
    reply = httpx.get(base + "/api/v1/products/p-drill", headers={"X-API-Key": key}, timeout=10)
    assert reply.status_code == 200, reply.text
    prices = reply.json()["variants"][0]["prices"]
    return next(str(p["value"]) for p in prices if p["price_type_id"] == "pt-retail")


def test_a_syncs_invalidation_reaches_both_instances(hosts: Hosts) -> None:
    _prefix, key = hosts.new_key()
    before = {_retail_price(url, key) for url in hosts.urls}
    assert len(before) == 1
    engine = make_engine(DatabaseSettings(url=hosts.database_url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE prices SET value = 4321 WHERE product_onec_id = 'p-drill'"
                    " AND price_type_onec_id = 'pt-retail'"
                )
            )
        position = wal_position(engine)
    finally:
        engine.dispose()
    # Committed but not announced: both instances still answer from the one shared cache.
    assert {_retail_price(url, key) for url in hosts.urls} == before
    assert publish_catalog_changed(hosts.redis_url, "prices", position=position) is not None
    deadline = time.monotonic() + 3
    seen = {url: _retail_price(url, key) for url in hosts.urls}
    while set(seen.values()) != {"4321.00"} and time.monotonic() < deadline:
        time.sleep(0.3)
        seen = {url: _retail_price(url, key) for url in hosts.urls}
    assert set(seen.values()) == {"4321.00"}, seen


def test_requests_split_across_both_instances_share_one_rate_limit_budget(hosts: Hosts) -> None:
    _prefix, key = hosts.new_key()
    codes = [
        httpx.get(
            hosts.urls[n % 2] + "/api/v1/price-types", headers={"X-API-Key": key}, timeout=10
        ).status_code
        for n in range(RATE_LIMIT)
    ]
    assert codes == [200] * RATE_LIMIT
    for url in hosts.urls:
        refused = httpx.get(url + "/api/v1/price-types", headers={"X-API-Key": key}, timeout=10)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]
    _other_prefix, other = hosts.new_key()
    fresh = httpx.get(hosts.urls[1] + "/api/v1/price-types", headers={"X-API-Key": other})
    assert fresh.status_code == 200


def test_a_key_revoked_through_one_instance_is_refused_by_the_other_within_the_bound(
    hosts: Hosts,
) -> None:
    prefix, key = hosts.new_key()
    first, second = hosts.urls
    for url in hosts.urls:  # both instances have verified (and remember) the key
        assert httpx.get(url + "/api/v1/groups", headers={"X-API-Key": key}).status_code == 200
    revoked = httpx.delete(
        f"{first}/api/v1/admin/api-keys/{prefix}", headers={"X-API-Key": hosts.keys["admin"]}
    )
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()
    while True:
        reply = httpx.get(second + "/api/v1/groups", headers={"X-API-Key": key})
        if reply.status_code == 401:
            break
        assert reply.status_code == 200
        assert time.monotonic() - revoked_at <= KEY_CACHE_SECONDS, "still accepted"
        time.sleep(0.1)
    assert time.monotonic() - revoked_at <= KEY_CACHE_SECONDS
    assert httpx.get(first + "/api/v1/groups", headers={"X-API-Key": key}).status_code == 401
