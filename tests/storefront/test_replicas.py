"""Catalog reads from a real streaming replica: they land on it, never serve anything older than
a sync that committed, an order reads its own write, and a stopped replica breaks nothing.

A primary and a hot standby are started for this module (``tests.pgcluster``): real WAL
streaming, real ``pg_wal_replay_pause()``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from config import DatabaseSettings, Settings
from storefront.auth.apikeys import create_api_key
from syncd.importer.pipeline import import_files
from syncd.store import migrate
from syncd.store.engine import make_engine
from syncd.store.events import publish_catalog_changed, wal_position
from syncd.store.models import Offer, Price
from tests.conftest import REPO_ROOT, REQUIRE_SERVICES
from tests.pgcluster import ReplicatedPair, bin_dir, replicated_pair
from tests.storefront.conftest import Api, make_settings, metric_value

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
PACKAGE = REPO_ROOT / "examples" / "package"


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicatedPair]:
    if bin_dir() is None:
        if REQUIRE_SERVICES:
            pytest.fail("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin)")
        pytest.skip("PostgreSQL server binaries are missing")
    with replicated_pair() as started:
        engine = make_engine(DatabaseSettings(url=started.primary.url()))
        migrate.upgrade(engine)
        result = import_files(
            engine, sorted(PACKAGE.glob("*.xml")), _settings(started, ""), actor="t"
        )
        assert result.ok, result
        with Session(engine) as session:
            _, key = create_api_key(session, name="shop", role="shop")
            _, operator_key = create_api_key(session, name="ops", role="operator")
            session.commit()
        engine.dispose()
        started.key = key  # type: ignore[attr-defined]
        started.operator_key = operator_key  # type: ignore[attr-defined]
        yield started


@pytest.fixture
def primary(pair: ReplicatedPair) -> Iterator[Engine]:
    engine = make_engine(DatabaseSettings(url=pair.primary.url()))
    yield engine
    engine.dispose()


@pytest.fixture
def api(pair: ReplicatedPair, redis_url: str, app_factory: Callable[..., Flask]) -> Api:
    """The storefront on primary + replica, after the last sync's commit was announced (Redis
    is flushed for every test) and the replica has replayed it."""
    pair.resume_replay()
    pair.wait_caught_up()
    engine = make_engine(DatabaseSettings(url=pair.primary.url()))
    publish_catalog_changed(redis_url, "catalog", position=wal_position(engine))
    engine.dispose()
    app = app_factory(_settings(pair, redis_url))
    keys = {"shop": pair.key, "operator": pair.operator_key}  # type: ignore[attr-defined]
    client = Api(app, keys, pair.primary.url())
    generations = app.extensions["onec_sync_cache"].generations
    client.get("/api/v1/price-types")  # starts the event listener
    deadline = time.monotonic() + 5
    while not generations.listening:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return client


def _settings(pair: ReplicatedPair, redis_url: str) -> Settings:
    settings = make_settings(pair.primary.url(), redis_url)
    database = dataclasses.replace(settings.database, replica_urls=(pair.replica.url(),))
    paths = dataclasses.replace(settings.paths, data_dir=pair.root / "data")
    return dataclasses.replace(settings, database=database, paths=paths)


Priced = tuple[str, str, str, Decimal]  # product id, offer id, price type id, value


def _priced_offers(engine: Engine, count: int) -> list[Priced]:
    """One priced offer of each of ``count`` products, in a stable order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Offer.product_onec_id, Offer.onec_id, Price.price_type_onec_id, Price.value)
            .join(Price, Price.offer_onec_id == Offer.onec_id)
            .order_by(Offer.onec_id, Price.price_type_onec_id)
        ).all()
    seen: dict[str, Priced] = {}
    for product_id, offer_id, price_type_id, value in rows:
        seen.setdefault(product_id, (product_id, offer_id, price_type_id, value))
    return list(seen.values())[:count]


def _price(api: Api, priced: Priced) -> Decimal:
    product_id, offer_id, price_type_id, _ = priced
    detail = api.get(f"/api/v1/products/{product_id}")
    assert detail.status_code == 200, detail.get_json()
    [variant] = [v for v in detail.get_json()["variants"] if v["id"] == offer_id]
    [price] = [p for p in variant["prices"] if p["price_type_id"] == price_type_id]
    return Decimal(str(price["value"]))


def _raise_price_unannounced(engine: Engine, offer_id: str) -> None:
    """A write on the primary that no sync announced: only the primary can show it."""
    with engine.begin() as connection:
        connection.execute(
            update(Price).where(Price.offer_onec_id == offer_id).values(value=Price.value + 1000)
        )


def test_catalog_reads_land_on_the_replica(pair: ReplicatedPair, primary: Engine, api: Api) -> None:
    [priced] = _priced_offers(primary, 1)
    pair.pause_replay()
    _raise_price_unannounced(primary, priced[1])
    # The replica has replayed the last announced sync, so it serves: it still has the old price.
    assert _price(api, priced) == priced[3]


def test_a_paused_replica_never_yields_a_stale_response_after_a_sync_commits(
    pair: ReplicatedPair, primary: Engine, api: Api, redis_url: str, tmp_path: Path
) -> None:
    cached, fresh = _priced_offers(primary, 2)
    assert _price(api, cached) == cached[3]  # now cached
    pair.pause_replay()
    offers = _offers_with_prices(tmp_path, [cached, fresh], add=Decimal(7))
    result = import_files(primary, [offers], _settings(pair, redis_url), actor="test")
    assert result.ok, result
    assert pair.replayed() < pair.primary_position()  # the replica did not see the sync
    committed = time.monotonic()
    while _price(api, cached) != cached[3] + 7:
        assert time.monotonic() - committed < 1.0, "the old cached price outlived the sync"
        time.sleep(0.01)
    # A page nobody asked for before the sync: straight from the primary, never the replica's.
    assert _price(api, fresh) == fresh[3] + 7
    for _ in range(5):  # and it stays so: nothing older was cached under the new generation
        assert _price(api, cached) == cached[3] + 7
        assert _price(api, fresh) == fresh[3] + 7
    # The operator sees why: reads skipped the replica as behind, by how much it was behind.
    scraped = api.get("/metrics", role="operator").get_data(as_text=True)
    replica = {"replica": _replica_name(pair)}
    assert metric_value(scraped, SKIPS, reason="behind", **replica) >= 1
    assert metric_value(scraped, "onec_sync_storefront_replica_behind_bytes", **replica) > 0


def test_an_order_reads_its_own_write_while_the_replica_is_paused(
    pair: ReplicatedPair, primary: Engine, api: Api
) -> None:
    [(product_id, offer_id, _, _)] = _priced_offers(primary, 1)
    pair.pause_replay()
    # no price: the server prices the line from the catalog (the key's price type)
    line: dict[str, Any] = {"product_id": product_id, "quantity": "1"}
    if "#" in offer_id:
        line["variant_id"] = offer_id.partition("#")[2]
    body = {"customer": {"ref": "c-replica", "name": "Покупатель"}, "lines": [line]}
    created = api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "replica-1"})
    assert created.status_code == 201, created.get_json()
    number = created.get_json()["number"]
    fetched = api.get(f"/api/v1/orders/{number}")
    assert fetched.status_code == 200, fetched.get_json()
    assert fetched.get_json()["number"] == number


def test_a_stopped_replica_does_not_break_catalog_reads(
    pair: ReplicatedPair, primary: Engine, api: Api
) -> None:
    [priced] = _priced_offers(primary, 1)
    pair.replica.stop()
    try:
        started = time.monotonic()
        response = api.get("/api/v1/products?limit=5")
        assert response.status_code == 200
        assert len(response.get_json()["items"]) == 5
        _raise_price_unannounced(primary, priced[1])
        # Without the replica, the primary serves (uncached pages show its current state).
        assert _price(api, priced) == priced[3] + 1000
        assert time.monotonic() - started < 30
        scraped = api.get("/metrics", role="operator").get_data(as_text=True)
        assert metric_value(scraped, SKIPS, reason="down", replica=_replica_name(pair)) >= 2
    finally:
        pair.replica.start()


SKIPS = "onec_sync_storefront_replica_skips_total"


def _replica_name(pair: ReplicatedPair) -> str:
    return make_url(pair.replica.url()).render_as_string(hide_password=True)


def _offers_with_prices(folder: Path, changes: list[Priced], *, add: Decimal) -> Path:
    """The example offers.xml with the given offers' prices (of their price type) raised."""
    text = (PACKAGE / "offers.xml").read_text(encoding="utf-8-sig")
    for _product_id, offer_id, price_type_id, value in changes:
        at = text.index(f"<Ид>{offer_id}</Ид>")
        at = text.index(f"<ИдТипаЦены>{price_type_id}</ИдТипаЦены>", at)
        price_at = text.index("<ЦенаЗаЕдиницу>", at) + len("<ЦенаЗаЕдиницу>")
        end = text.index("</ЦенаЗаЕдиницу>", price_at)
        text = text[:price_at] + str(value + add) + text[end:]
    path = folder / "changed" / "offers.xml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path
