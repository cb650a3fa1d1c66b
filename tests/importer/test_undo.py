"""A full package that fails part-way leaves the catalog exactly as it was (syncd.importer.undo).

The package is written batch by batch (no second read of the files), so by the time its bad
file is found, earlier batches have committed inserts, updates, replaced child rows, new prices
and stock. The run must put all of it back: same rows, same ids, same ``updated_at``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from config import Settings
from config.settings import ImportSettings, PathSettings
from syncd.importer.pipeline import import_files
from syncd.store import models
from tests.catalog_dump import CATALOG_MODELS
from tests.cml_builder import P, catalog, import_xml, offers_xml, write_package

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        paths=PathSettings(data_dir=tmp_path / "data"),
        import_=ImportSettings(batch_size=25),  # several committed batches before the bad record
    )


def exact(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every catalog row with every column: ids and clocks included."""
    out = {}
    with engine.connect() as conn:
        for model in CATALOG_MODELS:
            table = models.table(model)
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return out


def count(engine: Engine, model: type[models.Base]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(models.table(model))).scalar())


OLD, NEW = 120, 200  # the broken product lies past the 64 KB the header is read from
LAST = f"P-{NEW - 1:05d}"


def changed_catalog() -> list[P]:
    """catalog(OLD) then: renamed, moved, repriced, restocked, one deleted; and new products."""
    products = catalog(NEW)
    for p in products[:OLD]:
        p.name += " (новое имя)"
        p.group = "G-1" if p.group == "G-2" else "G-2"
        p.prices = {pt: str(int(v) + 7) for pt, v in p.prices.items()}
        p.stock = {w: str(int(q) + 3) for w, q in p.stock.items()}
    products[5].deleted = True
    return products


def break_last(path: Path, onec_id: str) -> None:
    """A malformed element near the end: everything before it reads (and is written) first."""
    text = path.read_text(encoding="utf-8")
    assert f"<Ид>{onec_id}</Ид>" in text
    path.write_text(text.replace(f"<Ид>{onec_id}</Ид>", f"<Ид>{onec_id}</Ид", 1), encoding="utf-8")


@pytest.mark.parametrize("bad", ["import.xml", "offers.xml"])
def test_a_full_package_that_fails_late_puts_back_every_row_it_wrote(
    engine: Engine, settings: Settings, tmp_path: Path, bad: str
) -> None:
    assert import_files(engine, write_package(tmp_path / "a", catalog(OLD)), settings).ok
    before = exact(engine)
    files = write_package(tmp_path / "b", changed_catalog())
    broken = files[0] if bad == "import.xml" else files[1]
    break_last(broken, LAST)
    result = import_files(engine, files, settings)

    assert result.outcome == "failed"
    assert bad in (result.error or "")
    # import.xml is read first: its batches before the bad product, or all of it, were written.
    expected = ["failed"] if bad == "import.xml" else ["succeeded", "failed"]
    assert [f.outcome for f in result.files] == expected
    assert result.files[-1].counts.written > 0, result.files
    assert exact(engine) == before
    assert count(engine, models.RunUndo) == 0
    assert count(engine, models.PackageMention) == 0
    # The same package, fixed, then lands whole.
    files = write_package(tmp_path / "c", changed_catalog())
    assert import_files(engine, files, settings).ok
    assert exact(engine) != before


def test_a_first_import_that_fails_leaves_an_empty_catalog(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    files = write_package(tmp_path / "a", catalog(NEW))
    break_last(files[1], LAST)
    result = import_files(engine, files, settings)
    assert result.outcome == "failed"
    assert all(rows == [] for rows in exact(engine).values())


def test_a_failed_changes_only_package_keeps_what_it_wrote(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    assert import_files(engine, write_package(tmp_path / "a", catalog(OLD)), settings).ok
    files = write_package(tmp_path / "b", changed_catalog(), only_changes=True)
    break_last(files[1], LAST)
    result = import_files(engine, files, settings)
    assert result.outcome == "failed"
    assert count(engine, models.Product) == NEW  # import.xml's new products stay
    with engine.connect() as conn:
        name = conn.execute(
            select(models.Product.name).where(models.Product.onec_id == "P-00000")
        ).scalar_one()
    assert name.endswith("(новое имя)")


def test_a_clean_full_package_journals_only_rows_that_existed_and_drops_the_journal(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    journaled: list[int] = []

    def spy(progress: object) -> None:
        journaled.append(count(engine, models.RunUndo))

    first = import_files(engine, write_package(tmp_path / "a", catalog(OLD)), settings)
    assert first.ok
    files = write_package(tmp_path / "b", changed_catalog())
    assert import_files(engine, files, settings, on_progress=spy).ok
    assert max(journaled) > 0  # changed rows were journaled while the run was going
    assert count(engine, models.RunUndo) == 0


def test_a_first_import_journals_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    journaled: list[int] = []
    files = write_package(tmp_path / "a", catalog(NEW))
    result = import_files(
        engine,
        files,
        settings,
        on_progress=lambda _p: journaled.append(count(engine, models.RunUndo)),
    )
    assert result.ok
    assert journaled
    assert max(journaled) == 0


def test_a_full_package_of_all_new_ids_hides_every_old_row(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    assert import_files(engine, write_package(tmp_path / "a", catalog(6)), settings).ok
    renumbered = write_package(tmp_path / "b", catalog(4, prefix="N"))
    result = import_files(engine, renumbered, settings)
    assert result.ok
    with engine.connect() as conn:
        shown = set(
            conn.execute(
                select(models.Product.onec_id).where(models.Product.is_deleted.is_(False))
            ).scalars()
        )
    assert shown == {f"N-{i:05d}" for i in range(4)}
    assert result.counts.by_table["products"]["hidden"] == 6


def test_an_import_xml_with_only_new_ids_keeps_offers_hidden_by_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A catalog-only full package hides products, never offers (no offers file spoke)."""
    assert import_files(engine, write_package(tmp_path / "a", catalog(3)), settings).ok
    path = tmp_path / "b" / "import.xml"
    path.parent.mkdir()
    path.write_text(import_xml(catalog(2, prefix="N")), encoding="utf-8")
    assert import_files(engine, [path], settings).ok
    with engine.connect() as conn:
        offers = conn.execute(
            select(func.count()).where(models.Offer.is_deleted.is_(False))
        ).scalar()
    assert offers == 4  # P-00000 as two variants, P-00001, P-00002


def test_settings_with_hiding_off_still_undo(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    keep = dataclasses.replace(
        settings, import_=dataclasses.replace(settings.import_, full_package_policy="keep")
    )
    assert import_files(engine, write_package(tmp_path / "a", catalog(OLD)), keep).ok
    before = exact(engine)
    files = [tmp_path / "import.xml", tmp_path / "offers.xml"]
    files[0].write_text(import_xml(changed_catalog()), encoding="utf-8")
    files[1].write_text(offers_xml(changed_catalog()), encoding="utf-8")
    break_last(files[1], LAST)
    assert import_files(engine, files, keep).outcome == "failed"
    assert exact(engine) == before
