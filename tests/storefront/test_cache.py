"""The catalog cache on real Redis: ETags, gzip, and a sync's change served within a second."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
import redis
from flask import Flask
from sqlalchemy import create_engine, func, update

from syncd.store.events import CATALOG_CHANNEL, GENERATION_KEY, publish_catalog_changed
from syncd.store.models import ApiKey, Price
from tests.storefront.conftest import Api, make_settings

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def cached_api(
    pg_seeded: tuple[str, dict[str, str]], redis_url: str, app_factory: Callable[..., Flask]
) -> Api:
    url, keys = pg_seeded
    return Api(app_factory(make_settings(url, redis_url)), keys, url)


def set_price(database_url: str, value: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            update(Price)
            .where(Price.offer_onec_id == "p-drill", Price.price_type_onec_id == "pt-retail")
            .values(value=Decimal(value))
        )
    engine.dispose()


def drill_price(api: Api) -> str:
    response = api.get("/api/v1/products/p-drill")
    assert response.status_code == 200
    value: str = response.get_json()["variants"][0]["prices"][0]["value"]
    return value


def wait_until_listening(api: Api) -> None:
    generations = api.app.extensions["onec_sync_cache"].generations
    deadline = time.monotonic() + 5
    while not generations.listening and time.monotonic() < deadline:
        time.sleep(0.01)
    assert generations.listening


def wait_for_price(api: Api, wanted: str, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit + 1:
        if drill_price(api) == wanted:
            return time.monotonic() - started
        time.sleep(0.02)
    return float("inf")


def test_catalog_responses_carry_an_etag_and_answer_304_when_it_matches(cached_api: Api) -> None:
    first = cached_api.get("/api/v1/products/p-drill")
    assert first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = cached_api.get("/api/v1/products/p-drill", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_clients_that_accept_gzip_get_it(cached_api: Api) -> None:
    plain = cached_api.get("/api/v1/products")
    zipped = cached_api.get("/api/v1/products", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert "Accept-Encoding" in zipped.headers["Vary"]


def test_a_sync_that_publishes_its_change_is_served_within_a_second(cached_api: Api) -> None:
    assert drill_price(cached_api) == "5990.00"
    wait_until_listening(cached_api)
    set_price(cached_api.database_url, "6100")
    # Committed, but not announced: the cache still answers (this is what the cache is for).
    assert drill_price(cached_api) == "5990.00"
    redis_url = cached_api.app.extensions["onec_sync_settings"].redis.url
    assert publish_catalog_changed(redis_url, "prices") is not None
    assert wait_for_price(cached_api, "6100.00", limit=1.0) < 1.0


def test_a_lost_message_still_lets_the_change_through_within_about_a_second(
    cached_api: Api,
) -> None:
    drill_price(cached_api)
    set_price(cached_api.database_url, "6200")
    redis_url = cached_api.app.extensions["onec_sync_settings"].redis.url
    client = redis.Redis.from_url(redis_url)
    client.incr(GENERATION_KEY)  # bumped, never published
    client.close()
    assert wait_for_price(cached_api, "6200.00", limit=1.5) < 1.5


def test_workers_share_redis_entries_and_all_drop_them_on_a_change(
    pg_seeded: tuple[str, dict[str, str]], redis_url: str, app_factory: Callable[..., Flask]
) -> None:
    url, keys = pg_seeded
    first = Api(app_factory(make_settings(url, redis_url)), keys, url)
    second = Api(app_factory(make_settings(url, redis_url)), keys, url)
    assert drill_price(first) == "5990.00"
    set_price(url, "7000")
    assert drill_price(second) == "5990.00"  # read from Redis, filled by the first worker
    wait_until_listening(first)
    wait_until_listening(second)
    publish_catalog_changed(redis_url, ["prices", "stock"])
    assert wait_for_price(first, "7000.00", limit=1.0) < 1.0
    assert wait_for_price(second, "7000.00", limit=1.0) < 1.0


def test_the_publisher_announces_on_the_channel_and_survives_a_flushed_redis(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CATALOG_CHANNEL)
    pubsub.get_message(timeout=1)
    first = publish_catalog_changed(redis_url, "products")
    message = pubsub.get_message(timeout=2)
    assert message is not None
    assert message["data"] == f"{first} products".encode()
    assert first is not None
    assert first > 1_000_000
    assert publish_catalog_changed(redis_url, "stock") == first + 1
    pubsub.close()
    client.close()


def test_publishing_without_redis_does_nothing_and_never_raises() -> None:
    assert publish_catalog_changed("", "prices") is None
    assert publish_catalog_changed("redis://127.0.0.1:1/0", "prices", timeout_seconds=0.2) is None


def test_errors_are_never_cached(cached_api: Api) -> None:
    assert cached_api.get("/api/v1/products/p-new").status_code == 404
    engine = create_engine(cached_api.database_url)
    with engine.begin() as connection:
        from sqlalchemy import insert

        from syncd.store.models import Product

        connection.execute(
            insert(Product).values(
                onec_id="p-new", name="Новинка", is_deleted=False, requisites=[], taxes=[]
            )
        )
    engine.dispose()
    assert cached_api.get("/api/v1/products/p-new").status_code == 200


def test_a_revoked_key_is_refused_at_once_by_every_worker(
    pg_seeded: tuple[str, dict[str, str]], redis_url: str, app_factory: Callable[..., Flask]
) -> None:
    url, keys = pg_seeded
    workers = [Api(app_factory(make_settings(url, redis_url)), keys, url) for _ in range(2)]
    for worker in workers:
        assert worker.get("/api/v1/groups").status_code == 200  # the key is remembered now
        wait_until_listening(worker)
        deadline = time.monotonic() + 5
        key_generations = worker.app.extensions["onec_sync_key_cache"].generations
        while not key_generations.listening and time.monotonic() < deadline:
            time.sleep(0.01)
    prefix = keys["shop"].split("_")[1]
    revoked = workers[0].client.delete(
        f"/api/v1/admin/api-keys/{prefix}", headers={"X-API-Key": keys["admin"]}
    )
    assert revoked.status_code == 200
    for worker in workers:
        started = time.monotonic()
        while worker.get("/api/v1/groups").status_code == 200:
            assert time.monotonic() - started < 1.0
            time.sleep(0.01)
        assert worker.get("/api/v1/groups").status_code == 401


def test_the_cli_revocation_reaches_running_workers(
    pg_seeded: tuple[str, dict[str, str]], redis_url: str, app_factory: Callable[..., Flask]
) -> None:
    from click.testing import CliRunner

    from cli import main

    url, keys = pg_seeded
    worker = Api(app_factory(make_settings(url, redis_url)), keys, url)
    assert worker.get("/api/v1/groups").status_code == 200
    prefix = keys["shop"].split("_")[1]
    engine = create_engine(url)
    with engine.begin() as connection:  # revoked behind the API's back: nobody is told
        connection.execute(
            update(ApiKey).where(ApiKey.prefix == prefix).values(revoked_at=func.now())
        )
    engine.dispose()
    assert worker.get("/api/v1/groups").status_code == 200  # still remembered (<= 60 s)
    result = CliRunner().invoke(
        main,
        ["apikeys", "revoke", prefix],
        env={
            "ONEC_SYNC_DATABASE_URL": url,
            "ONEC_SYNC_REDIS_URL": redis_url,
            "ONEC_SYNC_CONFIG": "",
        },
    )
    assert result.exit_code == 0, result.output
    started = time.monotonic()
    while worker.get("/api/v1/groups").status_code == 200:
        assert time.monotonic() - started < 1.5
        time.sleep(0.02)
