"""The import pipeline end to end: real CommerceML files into SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from config.settings import ImportSettings, PathSettings
from syncd.importer.pipeline import import_files
from syncd.store import models
from tests.catalog_dump import dump, updated_at
from tests.cml_builder import P, catalog, import_xml, offers_xml, write_package

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        paths=PathSettings(data_dir=tmp_path / "data"),
        import_=ImportSettings(batch_size=7),  # many batches even for small packages
    )


def visible(engine: Engine, model: type[models.Base]) -> set[str]:
    table = models.table(model)
    with engine.connect() as conn:
        stmt = select(table.c.onec_id).where(table.c.is_deleted.is_(False))
        return set(conn.execute(stmt).scalars())


def audit_rows(engine: Engine) -> list[tuple[str, str | None, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                models.AuditEntry.action, models.AuditEntry.subject, models.AuditEntry.outcome
            ).order_by(models.AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_full_package_lands_with_every_product_price_and_stock_row(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    products = catalog(30)
    files = write_package(tmp_path / "pkg", products)
    result = import_files(engine, files, settings, actor="test", source="pkg")
    assert result.outcome == "succeeded", result.error
    offers = sum(len(p.variants) or 1 for p in products)
    assert len(visible(engine, models.Product)) == 30
    assert len(visible(engine, models.Offer)) == offers
    tables = dump(engine)
    assert len(tables["prices"]) == offers * 2
    assert len(tables["stock"]) == offers * 3  # total + two warehouses
    assert result.counts.by_table["products"]["inserted"] == 30
    assert audit_rows(engine) == [
        ("import.file", "import.xml", "succeeded"),
        ("import.file", "offers.xml", "succeeded"),
        ("import.run", None, "succeeded"),
    ]


@pytest.mark.parametrize("skip_identical", [True, False], ids=["file-shortcut", "row-hashes"])
def test_importing_the_same_package_again_rewrites_nothing_and_says_unchanged(
    engine: Engine, settings: Settings, tmp_path: Path, skip_identical: bool
) -> None:
    settings = dataclasses.replace(
        settings,
        import_=dataclasses.replace(settings.import_, skip_identical_files=skip_identical),
    )
    files = write_package(tmp_path / "pkg", catalog(25))
    import_files(engine, files, settings)
    before_rows, before_times = dump(engine), updated_at(engine)
    again = import_files(engine, files, settings)
    assert again.outcome == "unchanged"
    assert again.counts.written == 0
    assert again.counts.unchanged > 0
    assert dump(engine) == before_rows
    assert updated_at(engine) == before_times
    assert audit_rows(engine)[-1] == ("import.run", None, "unchanged")
    assert all(f.outcome == "unchanged" for f in again.files)


def test_a_file_is_read_again_when_something_was_written_after_its_import(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    package = write_package(tmp_path / "a", catalog(5))
    import_files(engine, package, settings)
    price_change = write_package(
        tmp_path / "b", catalog(1, price=900), only_changes=True, files=("offers.xml",)
    )
    import_files(engine, price_change, settings)
    again = import_files(engine, package, settings)  # must put the old price back
    assert again.counts.by_table["prices"]["updated"] == 4  # 2 variants x 2 price types
    with Session(engine) as session:
        price = session.execute(
            select(models.Price.value).where(
                models.Price.offer_onec_id == "P-00000#38",
                models.Price.price_type_onec_id == "PT-RETAIL",
            )
        ).scalar_one()
    assert int(price) == 100


def test_a_full_package_hides_what_it_did_not_mention(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "a", catalog(10)), settings)
    result = import_files(engine, write_package(tmp_path / "b", catalog(10)[:7]), settings)
    assert result.counts.hidden >= 3
    assert visible(engine, models.Product) == {f"P-{i:05d}" for i in range(7)}
    # A product that comes back is shown again, even though its content did not change.
    import_files(engine, write_package(tmp_path / "c", catalog(10)), settings)
    assert len(visible(engine, models.Product)) == 10


def test_hiding_can_be_turned_off(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    keep = dataclasses.replace(
        settings, import_=dataclasses.replace(settings.import_, full_package_policy="keep")
    )
    import_files(engine, write_package(tmp_path / "a", catalog(10)), keep)
    import_files(engine, write_package(tmp_path / "b", catalog(4)), keep)
    assert len(visible(engine, models.Product)) == 10


def test_a_changes_only_package_never_hides_and_updates_what_it_names(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "full", catalog(10)), settings)
    changed = catalog(10, price=500)[:2]
    result = import_files(
        engine, write_package(tmp_path / "delta", changed, only_changes=True), settings
    )
    assert result.outcome == "succeeded"
    assert result.counts.hidden == 0
    assert len(visible(engine, models.Product)) == 10
    with Session(engine) as session:
        price = session.execute(
            select(models.Price.value).where(
                models.Price.offer_onec_id == "P-00001",
                models.Price.price_type_onec_id == "PT-RETAIL",
            )
        ).scalar_one()
    assert int(price) == 501


def test_a_full_package_after_a_changes_only_one_hides_the_unmentioned(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "d", catalog(6), only_changes=True), settings)
    import_files(engine, write_package(tmp_path / "f", catalog(6)[2:]), settings)
    assert visible(engine, models.Product) == {f"P-{i:05d}" for i in range(2, 6)}


def test_a_package_split_over_two_runs_ends_like_one_run(
    make_db_engine: Callable[..., Engine],
    fresh_database_url: str,
    settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    products = catalog(20)
    files = write_package(tmp_path / "pkg", products)
    split = make_db_engine(fresh_database_url)
    import_files(split, [files[0]], settings)  # import.xml in one exchange session
    import_files(split, [files[1]], settings)  # offers.xml in the next
    whole = make_db_engine(_another_database(request))
    import_files(whole, files, settings)
    assert dump(split) == dump(whole)


def test_files_in_reverse_order_end_in_the_same_state(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    make_db_engine: Callable[..., Engine],
) -> None:
    files = write_package(tmp_path / "pkg", catalog(20))
    import_files(engine, [files[1]], settings)  # offers first: products not there yet
    import_files(engine, [files[0]], settings)
    reference = make_db_engine(_another_database(request))
    import_files(reference, files, settings)
    assert dump(engine) == dump(reference)


def _another_database(request: pytest.FixtureRequest) -> str:
    backend = request.getfixturevalue("backend")
    if backend == "postgresql":
        server = request.getfixturevalue("pg_server")
        url: str = server.create()
        request.addfinalizer(lambda: server.drop(url))
        return url
    tmp: Path = request.getfixturevalue("tmp_path")
    from config import DatabaseSettings
    from syncd.store import migrate
    from syncd.store.engine import make_engine

    url = f"sqlite:///{tmp / 'other.db'}"
    engine = make_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    engine.dispose()
    return url


def test_a_deletion_status_soft_deletes_the_product(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "a", catalog(3)), settings)
    gone = [dataclasses.replace(p, deleted=p.onec_id == "P-00001") for p in catalog(3)]
    result = import_files(
        engine,
        write_package(tmp_path / "b", gone, only_changes=True, files=("import.xml",)),
        settings,
    )
    assert result.counts.deleted == 1
    assert visible(engine, models.Product) == {"P-00000", "P-00002"}


def test_a_bad_file_in_a_full_package_changes_nothing_and_is_quarantined(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "a", catalog(5)), settings)
    before = dump(engine)
    files = write_package(tmp_path / "b", catalog(8)[3:])  # would hide P-0..P-2
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])  # a truncated upload
    result = import_files(engine, files, settings)
    assert result.outcome == "failed"
    assert "offers.xml" in (result.error or "")
    assert "line" in (result.error or "")
    assert dump(engine) == before  # not even the good import.xml was written
    kept = list(settings.paths.quarantine_dir.glob("*offers.xml"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == files[1].read_bytes()
    reason = kept[0].with_name(kept[0].name + ".reason.txt").read_text(encoding="utf-8")
    assert "offers.xml" in reason
    assert ("import.file", "offers.xml", "rejected") in audit_rows(engine)
    assert audit_rows(engine)[-1] == ("import.run", None, "failed")


def test_a_bad_file_in_a_changes_only_package_keeps_the_files_before_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    files = write_package(tmp_path / "d", catalog(5), only_changes=True)
    broken = files[1].read_text(encoding="utf-8").replace("<Ид>P-00003</Ид>", "<Ид>P-00003</Ид")
    files[1].write_text(broken, encoding="utf-8")
    result = import_files(engine, files, settings)
    assert result.outcome == "failed"
    assert len(visible(engine, models.Product)) == 5  # import.xml stays
    assert len(list(settings.paths.quarantine_dir.glob("*offers.xml"))) == 1


def test_an_empty_full_catalog_hides_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import_files(engine, write_package(tmp_path / "a", catalog(5)), settings)
    empty = tmp_path / "empty" / "import.xml"
    empty.parent.mkdir()
    empty.write_text(import_xml([]), encoding="utf-8")
    result = import_files(engine, [empty], settings)
    assert result.ok
    assert len(visible(engine, models.Product)) == 5


def test_variants_listed_as_goods_in_import_xml_create_product_and_offers(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "import.xml"
    text = import_xml([P("BASE#38", "Сапоги (38)"), P("BASE#39", "Сапоги (39)")])
    path.write_text(text, encoding="utf-8")
    assert import_files(engine, [path], settings).ok
    assert visible(engine, models.Product) == {"BASE"}
    assert visible(engine, models.Offer) == {"BASE#38", "BASE#39"}


def test_offers_only_package_keeps_prices_for_products_that_come_later(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "offers.xml"
    products = catalog(3)
    path.write_text(offers_xml(products, only_changes=True), encoding="utf-8")
    assert import_files(engine, [path], settings).ok
    offers = sum(len(p.variants) or 1 for p in products)
    assert len(dump(engine)["prices"]) == offers * 2
    assert visible(engine, models.Product) == set()


def test_an_empty_commerceml_document_is_skipped_and_other_xml_is_rejected(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    empty = tmp_path / "query.xml"  # what Bitrix answers when there are no orders
    empty.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2021-02-12T17:04:36"/>\n',
        encoding="utf-8",
    )
    result = import_files(engine, [empty], settings)
    assert result.ok
    assert [f.outcome for f in result.files] == ["skipped"]
    page = tmp_path / "page.xml"
    page.write_text("<html><body>Service Unavailable</body></html>", encoding="utf-8")
    result = import_files(engine, [page], settings)
    assert result.outcome == "failed"
    assert "not a CommerceML document" in (result.error or "")
    assert len(list(settings.paths.quarantine_dir.glob("*page.xml"))) == 1
