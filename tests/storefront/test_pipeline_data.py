"""The API over a catalog the import pipeline wrote (not hand-made rows): every response has the
documented shape, and a re-import that changes a price is served after the daemon's event."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from config import Settings
from storefront import schemas
from syncd.importer.pipeline import import_files
from syncd.store.engine import make_engine
from syncd.store.events import publish_catalog_changed
from syncd.store.models import Offer, Price
from tests.conftest import REPO_ROOT
from tests.storefront.conftest import Api, make_settings

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
PACKAGE = REPO_ROOT / "examples" / "package"


@pytest.fixture
def imported(fresh_pg_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Engine]]:
    """The example package imported by ``syncd.importer.pipeline.import_files`` into a fresh database."""
    engine = make_engine(make_settings(fresh_pg_url).database)
    settings = Settings(database=make_settings(fresh_pg_url).database)
    settings = _with_data_dir(settings, tmp_path)
    result = import_files(engine, sorted(PACKAGE.glob("*.xml")), settings, actor="test")
    assert result.ok, result
    yield fresh_pg_url, _keys_only(fresh_pg_url), engine
    engine.dispose()


def _with_data_dir(settings: Settings, data_dir: Path) -> Settings:
    from dataclasses import replace

    return replace(settings, paths=replace(settings.paths, data_dir=data_dir))


def _keys_only(url: str) -> dict[str, str]:
    from sqlalchemy.orm import Session

    from storefront.auth.apikeys import create_api_key

    engine = make_engine(make_settings(url).database)
    with Session(engine) as session:
        keys = {"shop": create_api_key(session, name="shop", role="shop")[1]}
        session.commit()
    engine.dispose()
    return keys


def test_every_catalog_response_over_imported_data_has_the_documented_shape(
    imported: tuple[str, dict[str, str], Engine],
    redis_url: str,
    app_factory: Callable[..., Flask],
) -> None:
    url, keys, _engine = imported
    api = Api(app_factory(make_settings(url, redis_url)), keys, url)
    page = api.get("/api/v1/products?limit=100").get_json()
    assert len(page["items"]) >= 50
    schemas.ProductPage.model_validate(page)
    schemas.GroupTree.model_validate(api.get("/api/v1/groups").get_json())
    schemas.PriceTypeList.model_validate(api.get("/api/v1/price-types").get_json())
    schemas.WarehouseList.model_validate(api.get("/api/v1/warehouses").get_json())
    priced = [item for item in page["items"] if item["price"]]
    assert priced, "the example package has prices"
    for item in page["items"][:20]:
        detail = api.get(f"/api/v1/products/{item['id']}")
        assert detail.status_code == 200
        schemas.ProductDetail.model_validate(detail.get_json())
    word = priced[0]["name"].split()[0]
    found = api.get("/api/v1/search", query_string={"q": word}).get_json()
    schemas.SearchPage.model_validate(found)
    assert priced[0]["id"] in [hit["id"] for hit in found["items"]] or len(found["items"]) == 20


def test_a_price_the_pipeline_changed_is_served_within_a_second_of_the_event(
    imported: tuple[str, dict[str, str], Engine],
    redis_url: str,
    app_factory: Callable[..., Flask],
) -> None:
    url, keys, engine = imported
    api = Api(app_factory(make_settings(url, redis_url)), keys, url)
    with engine.connect() as connection:
        offer_id, product_id = connection.execute(
            select(Offer.onec_id, Offer.product_onec_id)
            .join(Price, Price.offer_onec_id == Offer.onec_id)
            .limit(1)
        ).one()
    before = _prices(api, product_id, offer_id)
    generations = api.app.extensions["onec_sync_cache"].generations
    deadline = time.monotonic() + 5
    while not generations.listening and time.monotonic() < deadline:
        time.sleep(0.01)
    with engine.begin() as connection:  # what a re-import of a changed offers.xml commits
        connection.execute(
            Price.__table__.update()
            .where(Price.offer_onec_id == offer_id)
            .values(value=Price.value + 1)
        )
    assert _prices(api, product_id, offer_id) == before  # cached until the daemon says so
    publish_catalog_changed(redis_url, "prices")
    started = time.monotonic()
    while _prices(api, product_id, offer_id) == before:
        assert time.monotonic() - started < 1.0
        time.sleep(0.01)


def _prices(api: Api, product_id: str, offer_id: str) -> list[Any]:
    detail = api.get(f"/api/v1/products/{product_id}").get_json()
    [variant] = [v for v in detail["variants"] if v["id"] == offer_id]
    return [p["value"] for p in variant["prices"]]


def test_a_price_changed_by_a_real_sync_is_served_within_a_second_of_its_commit(
    imported: tuple[str, dict[str, str], Engine],
    redis_url: str,
    app_factory: Callable[..., Flask],
    tmp_path: Path,
) -> None:
    """No hand-made event: the import itself tells the API once its batches commit."""
    url, keys, engine = imported
    api = Api(app_factory(make_settings(url, redis_url)), keys, url)
    text = (PACKAGE / "offers.xml").read_text(encoding="utf-8-sig")
    start = text.index("<Ид>", text.index("<Предложение>")) + len("<Ид>")
    offer_id = text[start : text.index("</Ид>", start)]
    with engine.connect() as connection:
        product_id = connection.execute(
            select(Offer.product_onec_id).where(Offer.onec_id == offer_id)
        ).scalar_one()
    before = _prices(api, product_id, offer_id)  # now cached
    generations = api.app.extensions["onec_sync_cache"].generations
    deadline = time.monotonic() + 5
    while not generations.listening and time.monotonic() < deadline:
        time.sleep(0.01)
    price_at = text.index("<ЦенаЗаЕдиницу>", start) + len("<ЦенаЗаЕдиницу>")
    old = text[price_at : text.index("</ЦенаЗаЕдиницу>", price_at)]
    changed = text[:price_at] + str(float(old) + 1) + text[price_at + len(old) :]
    offers = tmp_path / "changed" / "offers.xml"
    offers.parent.mkdir()
    offers.write_text(changed, encoding="utf-8")
    settings = _with_data_dir(make_settings(url, redis_url), tmp_path / "sync")
    result = import_files(engine, [offers], settings, actor="test")
    committed = time.monotonic()
    assert result.counts.by_table["prices"]["updated"] == 1
    while _prices(api, product_id, offer_id) == before:
        assert time.monotonic() - committed < 1.0, "the API still serves the old price"
        time.sleep(0.01)
