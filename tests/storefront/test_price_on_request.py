"""A price 1C sends with an empty ЦенаЗаЕдиницу and a Представление ("Уточните у менеджера") is a
price on request: the rest of the offers file lands, the run and its audit entry count a warning,
and the storefront serves the product with no price and the presentation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from storefront.auth.apikeys import create_api_key
from syncd.importer.pipeline import import_files
from syncd.store.engine import make_engine
from syncd.store.models import AuditEntry, Offer, Price, Stock, SyncRun
from tests.cml_builder import P, write_package
from tests.storefront.conftest import Api, make_settings

ON_REQUEST = "Уточните у менеджера"
PRODUCTS = [
    P("A", "Сапоги", prices={"PT-RETAIL": "100", "PT-OPT": "90"}),
    P("B", "Ботинки", prices={"PT-RETAIL": "ON-REQUEST", "PT-OPT": "80"}, stock={"WH-2": "3"}),
    P("C", "Туфли", prices={"PT-RETAIL": "300"}),
]


def _package(directory: Path) -> list[Path]:
    paths = write_package(directory, PRODUCTS)
    offers = paths[1]
    text = offers.read_text("utf-8")
    text = text.replace(
        "<Представление>ON-REQUEST RUB за шт</Представление>",
        f"<Представление>{ON_REQUEST}</Представление>",
    ).replace("<ЦенаЗаЕдиницу>ON-REQUEST</ЦенаЗаЕдиницу>", "<ЦенаЗаЕдиницу/>")
    offers.write_text(text, "utf-8")
    return paths


def _import(url: str, tmp_path: Path) -> Api | None:
    settings = Settings(database=make_settings(url).database)
    settings = replace(settings, paths=replace(settings.paths, data_dir=tmp_path / "data"))
    engine = make_engine(settings.database)
    result = import_files(engine, _package(tmp_path / "package"), settings, actor="test")
    assert result.ok, result
    assert result.counts.warnings == 1
    engine.dispose()
    return None


def test_an_offers_file_with_a_price_on_request_lands_whole_with_one_warning(
    fresh_database_url: str, tmp_path: Path
) -> None:
    _import(fresh_database_url, tmp_path)
    engine = make_engine(make_settings(fresh_database_url).database)
    with Session(engine) as session:
        prices = {
            (p.offer_onec_id, p.price_type_onec_id): (p.value, p.presentation)
            for p in session.scalars(select(Price))
        }
        assert len(prices) == 5
        assert prices[("B", "PT-RETAIL")] == (None, ON_REQUEST)
        assert prices[("B", "PT-OPT")][0] == 80
        assert session.scalar(select(func.count()).select_from(Offer)) == 3
        assert session.scalar(select(func.count()).select_from(Stock)) == 6
        run = session.scalars(select(SyncRun)).one()
        assert run.counts["warnings"] == 1
        assert ON_REQUEST in run.counts["notes"][0]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.run")).one()
        assert entry.outcome == "succeeded"
        assert entry.counts["warnings"] == 1
    engine.dispose()


def test_a_product_whose_price_is_on_request_is_served_with_no_price_and_its_presentation(
    fresh_database_url: str,
    tmp_path: Path,
    redis_url: str,
    app_factory: Callable[..., Flask],
) -> None:
    _import(fresh_database_url, tmp_path)
    engine = make_engine(make_settings(fresh_database_url).database)
    with Session(engine) as session:
        keys = {"shop": create_api_key(session, name="shop", role="shop")[1]}
        session.commit()
    engine.dispose()
    api = Api(app_factory(make_settings(fresh_database_url, redis_url)), keys, fresh_database_url)

    page = api.get("/api/v1/products", query_string={"price_type": "PT-RETAIL"}).get_json()
    summaries = {item["id"]: item["price"] for item in page["items"]}
    assert summaries["B"]["value"] is None
    assert summaries["B"]["presentation"] == ON_REQUEST
    assert summaries["A"]["value"] == "100.00"
    assert summaries["A"]["presentation"] is None

    detail = api.get("/api/v1/products/B").get_json()
    prices = {p["price_type_id"]: p for p in detail["variants"][0]["prices"]}
    assert prices["PT-RETAIL"]["value"] is None
    assert prices["PT-RETAIL"]["presentation"] == ON_REQUEST
    assert prices["PT-OPT"]["value"] == "80.00"
    assert detail["variants"][0]["stock"]["total"] == "3"
