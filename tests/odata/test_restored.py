"""A database restored from a backup resumes pulling from 1C where the backup left off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from config import Settings
from syncd.odata.sync import run_odata_sync
from syncd.store import backup
from tests.odata import data
from tests.odata.fake1c import Fake1C


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "postgresql":
        url: str = request.getfixturevalue("empty_pg_url")
        return url
    return f"sqlite:///{tmp_path / 'restored.db'}"


def test_a_restored_database_pulls_only_what_changed_since_its_backup(
    fake: Fake1C,
    fresh_database_url: str,
    empty_database_url: str,
    make_db_engine: Callable[..., Engine],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    fake.put(data.PRODUCTS, data.group_row(0))
    for i in range(30):
        fake.put(data.PRODUCTS, data.product_row(i))
    source = make_settings(fresh_database_url)
    assert run_odata_sync(source, make_db_engine(fresh_database_url), stream="products").ok
    made = backup.take_backup(source.database, tmp_path / "backups")
    env = {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": empty_database_url}
    result = CliRunner().invoke(main, ["restore", str(made.path)], env=env)
    assert result.exit_code == 0, result.output

    for i in (3, 17):
        fake.put(data.PRODUCTS, data.product_row(i, Description=f"Мойка {i} (новая)"))
    restored = make_settings(empty_database_url)
    pulled = run_odata_sync(restored, make_db_engine(empty_database_url), stream="products")
    stream = pulled.streams[0]
    assert stream.outcome == "succeeded", pulled
    # the 2 changed products, and the offer each sells as (their names follow the product's)
    assert (stream.counts.inserted, stream.counts.updated) == (0, 4)
    assert stream.fetched == 2
