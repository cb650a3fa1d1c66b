"""The change log of imports: exactly the events of what committed, in order, none for a failure."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from config.settings import ChangesSettings, ImportSettings, PathSettings
from syncd.importer.pipeline import import_files
from syncd.store import models
from tests.cml_builder import catalog, write_package

pytestmark = pytest.mark.postgres

Event = tuple[str, str, str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        paths=PathSettings(data_dir=tmp_path / "data"),
        import_=ImportSettings(batch_size=4),  # several batches per file
    )


def events(engine: Engine) -> list[models.ChangeEvent]:
    with Session(engine) as session:
        stmt = select(models.ChangeEvent).order_by(models.ChangeEvent.position)
        return list(session.execute(stmt).scalars())


def triples(found: list[models.ChangeEvent]) -> list[Event]:
    return [(e.kind, e.resource_id, e.action) for e in found]


def first_import_events(n: int) -> set[Event]:
    """Groups, products and offers created; a new offer's prices and stock are its event's
    data (``check_first_import``)."""
    expected: set[Event] = {("group", "G-1", "created"), ("group", "G-2", "created")}
    for p in catalog(n):
        expected.add(("product", p.onec_id, "created"))
        for offer in [f"{p.onec_id}#{v}" for v in p.variants] or [p.onec_id]:
            expected.add(("offer", offer, "created"))
    return expected


def check_first_import(found: list[models.ChangeEvent], n: int) -> None:
    """The events of a first import of ``catalog(n)``: one per group, product and offer; each
    offer's prices and stock in its ``created`` event, unless the offer's records were cut
    into two batches (``batch_size``), when the values of the later batch are ``price`` or
    ``stock`` events of their own, after it. Together they give the catalog's values."""
    assert {t for t in triples(found) if t[0] not in ("price", "stock")} == first_import_events(n)
    values: dict[str, dict[str, Any]] = {}
    for event in found:
        if event.kind == "offer":
            values[event.resource_id] = dict(event.data or {})
        elif event.kind in ("price", "stock"):
            assert event.action == "changed"
            earlier = values[event.resource_id]  # the offer's created event came first
            name = "prices" if event.kind == "price" else "stock"
            assert name not in earlier  # not said twice
            assert event.data is not None
            earlier[name] = event.data[name]
            assert earlier.setdefault("product", event.data["product"]) == event.data["product"]
    for p in catalog(n):
        for offer in [f"{p.onec_id}#{v}" for v in p.variants] or [p.onec_id]:
            assert values[offer]["product"] == p.onec_id
            assert values[offer]["prices"] == p.prices
            stock = {k: float(v) for k, v in values[offer]["stock"].items()}
            total = sum(float(q) for q in p.stock.values())
            assert stock == {"": total, **{k: float(v) for k, v in p.stock.items()}}


def test_a_first_import_logs_each_group_product_and_offer_once_in_order_with_its_values(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    result = import_files(engine, write_package(tmp_path / "a", catalog(6)), settings)
    assert result.ok
    found = events(engine)
    assert len(found) == len(set(triples(found)))  # coalesced: one event per resource
    check_first_import(found, 6)
    positions = [e.position for e in found]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    with Session(engine) as session:
        run = session.execute(select(models.SyncRun)).scalar_one()
    assert {e.run_id for e in found} == {run.id}
    folded = [e for e in found if e.kind == "offer" and e.data and "prices" in e.data]
    assert len(folded) >= len([e for e in found if e.kind == "price"])  # mostly one event


def test_one_batch_logs_one_event_per_new_offer(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    whole = dataclasses.replace(settings, import_=ImportSettings(batch_size=1000))
    assert import_files(engine, write_package(tmp_path / "a", catalog(6)), whole).ok
    found = events(engine)
    assert set(triples(found)) == first_import_events(6)
    check_first_import(found, 6)


def test_a_reimport_logs_only_what_changed_and_hiding_logs_hidden(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    assert import_files(engine, write_package(tmp_path / "a", catalog(6)), settings).ok
    before = events(engine)
    assert import_files(engine, write_package(tmp_path / "b", catalog(6)), settings).ok
    assert triples(events(engine)) == triples(before)  # nothing changed: nothing logged

    changed = catalog(6)[:5]  # P-00005 left out: hidden
    changed[1].prices = {"PT-RETAIL": "150", "PT-OPT": "91"}
    changed[2].name = "Новое имя"
    assert import_files(engine, write_package(tmp_path / "c", changed), settings).ok
    new = events(engine)[len(before) :]
    assert set(triples(new[:-3])) == {
        ("product", "P-00002", "changed"),
        ("offer", "P-00002", "changed"),  # an offer carries its product's name
        ("price", "P-00001", "changed"),
    }
    assert len(new) == 6
    # Hiding comes last, when the package has been read whole.
    assert set(triples(new[-3:])) == {
        ("product", "P-00005", "hidden"),
        ("offer", "P-00005#38", "hidden"),
        ("offer", "P-00005#39", "hidden"),
    }
    price = next(e for e in new if e.kind == "price")
    assert price.data == {"product": "P-00001", "prices": {"PT-RETAIL": "150"}}
    assert min(e.position for e in new) > max(e.position for e in before)


def test_a_deletion_mark_from_1c_is_a_deleted_event(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    assert import_files(engine, write_package(tmp_path / "a", catalog(3)), settings).ok
    gone = catalog(3)
    gone[0].deleted = True
    files = write_package(tmp_path / "b", gone, only_changes=True, files=("import.xml",))
    assert import_files(engine, files, settings).ok
    assert triples(events(engine))[-1] == ("product", "P-00000", "deleted")


@pytest.mark.parametrize("first", [True, False])
def test_a_failed_full_package_leaves_no_event_even_after_writing_batches(
    engine: Engine, settings: Settings, tmp_path: Path, first: bool
) -> None:
    if not first:
        assert import_files(engine, write_package(tmp_path / "a", catalog(6)), settings).ok
    before = triples(events(engine))
    products = catalog(200)  # the broken offer lies past the 64 KB the header is read from
    for p in products:
        p.prices = {"PT-RETAIL": "999"}
    files = write_package(tmp_path / "b", products)
    text = files[1].read_text(encoding="utf-8")
    files[1].write_text(text.replace("<Ид>P-00199</Ид>", "<Ид>P-00199</Ид", 1), encoding="utf-8")
    result = import_files(engine, files, settings)
    assert result.outcome == "failed"
    assert sum(f.counts.written for f in result.files) > 0  # batches were written, then undone
    assert triples(events(engine)) == before
    with Session(engine) as session:
        assert session.execute(select(models.StagedChangeBatch)).first() is None


def test_events_of_a_full_package_appear_when_it_succeeds_not_before(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from syncd.importer.pipeline import PackageImport

    package = PackageImport.begin(engine, settings)
    package._keep_journal()
    files = write_package(tmp_path / "a", catalog(5))
    package.import_file(files[0])
    assert events(engine) == []  # the package may still be undone
    package.import_file(files[1])
    package.finish()
    check_first_import(events(engine), 5)


def test_the_change_log_can_be_turned_off(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    off = dataclasses.replace(settings, changes=ChangesSettings(enabled=False))
    assert import_files(engine, write_package(tmp_path / "a", catalog(6)), off).ok
    smaller = catalog(6)[:3]
    assert import_files(engine, write_package(tmp_path / "b", smaller), off).ok
    assert events(engine) == []


def test_a_changes_only_package_failing_mid_file_logs_exactly_the_batches_that_committed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    files = write_package(tmp_path / "a", catalog(200), only_changes=True)
    text = files[1].read_text(encoding="utf-8")
    files[1].write_text(text.replace("<Ид>P-00151</Ид>", "<Ид>P-00151</Ид", 1), encoding="utf-8")
    result = import_files(engine, files, settings)
    assert result.outcome == "failed"
    with Session(engine) as session:
        offers = set(session.execute(select(models.Offer.onec_id)).scalars())
    logged = {e.resource_id for e in events(engine) if e.kind == "offer"}
    assert 0 < len(offers) < 240  # some batches of offers.xml committed, the rest did not
    assert logged == offers  # an event exactly for each offer that committed
