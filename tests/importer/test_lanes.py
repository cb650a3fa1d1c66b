"""Two lanes (catalog and offers files in two processes) end exactly where one after another
ends, stop together, fail together; and tables filled without lookups stay exact (PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from config import Settings
from config.settings import ImportSettings, PathSettings
from syncd.importer.pipeline import PackageImport, Progress, import_files
from syncd.store import models
from tests.catalog_dump import dump
from tests.cml_builder import P, catalog, import_xml, write_package

pytestmark = pytest.mark.postgres


@pytest.fixture
def new_db(pg_server: Any, make_db_engine: Callable[..., Engine]) -> Iterator[Callable[[], Engine]]:
    urls: list[str] = []

    def make() -> Engine:
        urls.append(pg_server.create())
        return make_db_engine(urls[-1])

    yield make
    for url in urls:
        pg_server.drop(url)


def settings_for(tmp_path: Path, *, lanes: bool) -> Settings:
    return Settings(
        paths=PathSettings(data_dir=tmp_path / "data"),
        import_=ImportSettings(batch_size=20, parallel_files=lanes, parallel_min_bytes=0),
    )


@pytest.fixture
def lane_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many runs went through two lanes."""
    runs: list[int] = []
    original = PackageImport._run_lanes

    def counted(self: PackageImport, *args: Any, **kwargs: Any) -> None:
        runs.append(self.run_id)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PackageImport, "_run_lanes", counted)
    return runs


def changed(products: list[P]) -> list[P]:
    out = [
        dataclasses.replace(p, prices={k: str(int(v) + 1) for k, v in p.prices.items()})
        for p in products
    ]
    out[2] = dataclasses.replace(out[2], deleted=True)
    return out


def test_two_lanes_end_where_one_file_after_another_ends(
    new_db: Callable[[], Engine], tmp_path: Path, lane_runs: list[int]
) -> None:
    earlier = write_package(tmp_path / "a", catalog(120))
    package = write_package(tmp_path / "b", changed(catalog(150)[20:]))  # hides P-0..P-19
    results = {}
    for lanes in (False, True):
        engine = new_db()
        settings = settings_for(tmp_path / str(lanes), lanes=lanes)
        assert import_files(engine, earlier, settings).ok
        results[lanes] = (import_files(engine, package, settings), dump(engine))
    assert len(lane_runs) == 2  # both runs of the second database used two lanes
    (serial, serial_dump), (laned, laned_dump) = results[False], results[True]
    assert laned_dump == serial_dump
    assert laned.outcome == serial.outcome == "succeeded"
    assert [f.name for f in laned.files] == [f.name for f in serial.files]
    assert laned.counts.as_dict() == serial.counts.as_dict()
    assert laned.counts.hidden > 0


def test_a_stop_reaches_both_lanes_and_the_run_resumes_to_the_same_end(
    new_db: Callable[[], Engine], tmp_path: Path, lane_runs: list[int]
) -> None:
    package = write_package(tmp_path / "p", catalog(200))
    settings = settings_for(tmp_path, lanes=True)
    reference = new_db()
    assert import_files(reference, package, settings).ok

    engine = new_db()
    seen: list[Progress] = []
    stopped = import_files(
        engine, package, settings, on_progress=seen.append, should_stop=lambda: len(seen) >= 3
    )
    assert stopped.outcome == "interrupted"
    assert {p.file for p in seen} <= {"import.xml", "offers.xml"}
    with engine.connect() as conn:
        statuses = set(conn.execute(select(models.RunFile.status)).scalars())
    assert "importing" in statuses  # both lanes stopped part-way, checkpointed
    resumed = import_files(engine, package, settings)
    assert resumed.ok
    assert resumed.resumed
    assert dump(engine) == dump(reference)
    assert len(lane_runs) == 3


def test_a_bad_catalog_file_stops_the_offers_lane_and_the_package_changes_nothing(
    new_db: Callable[[], Engine], tmp_path: Path, lane_runs: list[int]
) -> None:
    settings = settings_for(tmp_path, lanes=True)
    engine = new_db()
    assert import_files(engine, write_package(tmp_path / "a", catalog(50)), settings).ok
    before = dump(engine)
    files = write_package(tmp_path / "b", changed(catalog(200)))
    text = files[0].read_text(encoding="utf-8")
    files[0].write_text(text.replace("<Ид>P-00199</Ид>", "<Ид>P-00199</Ид", 1), "utf-8")
    result = import_files(engine, files, settings)
    assert result.outcome == "failed"
    assert "import.xml" in (result.error or "")
    assert dump(engine) == before
    assert len(lane_runs) == 2


def test_a_product_repeated_in_a_first_import_is_counted_once_and_the_last_one_wins(
    new_db: Callable[[], Engine], tmp_path: Path
) -> None:
    """The first import copies rows in without looking keys up; a repeat falls back to it."""
    products = catalog(60)
    repeat = dataclasses.replace(products[3], name="Товар 3, исправленный")
    path = tmp_path / "import.xml"
    path.write_text(import_xml([*products, repeat]), encoding="utf-8")
    engine = new_db()
    result = import_files(engine, [path], settings_for(tmp_path, lanes=False))
    assert result.ok
    products_counts = result.counts.by_table["products"]
    assert products_counts["inserted"] == 60
    assert products_counts["updated"] == 1
    with engine.connect() as conn:
        name = conn.execute(
            select(models.Product.name).where(models.Product.onec_id == "P-00003")
        ).scalar_one()
    assert name == "Товар 3, исправленный"


# CommerceML 2.08+: import.xml's Классификатор lists price types and warehouses too, some also in
# offers.xml under other names (offers.xml, read second, has the last word), some only here.
REFERENCES_208 = (
    "<ТипыЦен><ТипЦены><Ид>PT-RETAIL</Ид><Наименование>Розница (import.xml)</Наименование>"
    "<Валюта>RUB</Валюта></ТипЦены><ТипЦены><Ид>PT-IMPORT-ONLY</Ид>"
    "<Наименование>Только в import.xml</Наименование><Валюта>USD</Валюта></ТипЦены></ТипыЦен>"
    "<Склады><Склад><Ид>WH-1</Ид><Наименование>Склад (import.xml)</Наименование></Склад>"
    "<Склад><Ид>WH-9</Ид><Наименование>Только в import.xml</Наименование></Склад></Склады>"
)


def with_references(files: list[Path]) -> list[Path]:
    text = files[0].read_text(encoding="utf-8")
    files[0].write_text(text.replace("</Классификатор>", REFERENCES_208 + "</Классификатор>"))
    return files


def test_a_208_package_listing_price_types_and_warehouses_in_both_files_splits_and_ends_the_same(
    new_db: Callable[[], Engine], tmp_path: Path, lane_runs: list[int]
) -> None:
    earlier = write_package(tmp_path / "a", catalog(60))
    results = {}
    for lanes in (False, True):
        engine = new_db()
        settings = settings_for(tmp_path / str(lanes), lanes=lanes)
        assert import_files(engine, earlier, settings).ok
        package = with_references(write_package(tmp_path / f"b{lanes}", changed(catalog(150))))
        results[lanes] = (import_files(engine, package, settings), dump(engine))
        with engine.connect() as conn:
            price_types = select(models.PriceType.onec_id, models.PriceType.name)
            names = {row.onec_id: row.name for row in conn.execute(price_types)}
            warehouses = select(models.Warehouse.onec_id, models.Warehouse.name)
            stores = {row.onec_id: row.name for row in conn.execute(warehouses)}
        assert names == {
            "PT-RETAIL": "Розничная",  # offers.xml's name: it came after import.xml's
            "PT-OPT": "Оптовая",
            "PT-IMPORT-ONLY": "Только в import.xml",
        }
        assert stores == {"WH-1": "Главный", "WH-2": "Второй", "WH-9": "Только в import.xml"}
    assert len(lane_runs) == 2  # the laned database's two runs both went through two lanes
    (serial, serial_dump), (laned, laned_dump) = results[False], results[True]
    assert laned_dump == serial_dump
    assert laned.outcome == serial.outcome == "succeeded"
    assert laned.counts.as_dict() == serial.counts.as_dict()


def test_a_stopped_208_package_resumes_to_the_end_of_one_file_after_another(
    new_db: Callable[[], Engine], tmp_path: Path, lane_runs: list[int]
) -> None:
    package = with_references(write_package(tmp_path / "p", catalog(200)))
    reference = new_db()
    assert import_files(reference, package, settings_for(tmp_path / "serial", lanes=False)).ok

    settings = settings_for(tmp_path / "laned", lanes=True)
    engine = new_db()
    seen: list[Progress] = []
    stopped = import_files(
        engine, package, settings, on_progress=seen.append, should_stop=lambda: len(seen) >= 3
    )
    assert stopped.outcome == "interrupted"
    resumed = import_files(engine, package, settings)
    assert resumed.ok
    assert resumed.resumed
    assert dump(engine) == dump(reference)
    assert len(lane_runs) == 2
