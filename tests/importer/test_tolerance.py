"""Values 1C leaves empty are absent, not errors: only what would write something wrong is
refused, and then that record alone, while the rest of the file lands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from config.settings import DatabaseSettings, PathSettings
from syncd.importer.pipeline import import_files
from syncd.store.models import Product
from tests.cml_builder import catalog, write_package


def test_a_product_with_an_empty_name_is_refused_alone_and_the_rest_of_the_file_lands(
    fresh_database_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(fresh_database_url)
    files = write_package(tmp_path / "p", catalog(5))
    text = files[0].read_text(encoding="utf-8")
    assert "<Наименование>Товар 1</Наименование>" in text
    files[0].write_text(text.replace("<Наименование>Товар 1</Наименование>", "<Наименование/>", 1))
    settings = Settings(
        database=DatabaseSettings(url=fresh_database_url),
        paths=PathSettings(data_dir=tmp_path / "data"),
    )

    result = import_files(engine, files, settings)

    assert result.ok, result
    assert result.counts.by_table["products"]["rejected"] == 1
    assert any("'P-00001' has no Наименование" in p for p in result.counts.problems)
    with Session(engine) as session:
        names = {
            row.onec_id: row.name for row in session.execute(select(Product.onec_id, Product.name))
        }
    assert "" not in names.values()
    assert {"P-00000", "P-00002", "P-00003", "P-00004"} <= names.keys()
