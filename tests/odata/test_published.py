"""``$metadata`` is read once and kept; a sign that 1C changed makes the next run read it again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cli import main
from config import Settings
from syncd.odata.sync import run_odata_sync
from syncd.store import models
from tests.odata import data
from tests.odata.fake1c import Fake1C, odata_error
from tests.odata.test_cli import env

pytestmark = pytest.mark.postgres


def metadata_reads(fake: Fake1C) -> int:
    return len(fake.sent("GET", "$metadata"))


def test_metadata_is_read_once_and_kept_for_the_next_runs(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=3)
    settings = make_settings(url)
    for _ in range(3):
        assert run_odata_sync(settings, engine).ok
    assert metadata_reads(fake) == 1
    with Session(engine) as session:
        kept = session.execute(select(models.ODataMetadata)).scalar_one()
    assert kept.url == settings.odata.url
    assert data.PRODUCTS in kept.names["entity_sets"]


def test_a_name_1c_rejects_makes_the_next_run_read_metadata_again(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=3)
    settings = make_settings(url)
    assert run_odata_sync(settings, engine).ok
    # 1C's configuration was updated: a property we select is gone (1C's code 14)
    fake.fail(
        odata_error(400, "14", "Неизвестное поле Артикул"),
        when=lambda request: data.PRODUCTS in request.url.path,
    )
    failed = run_odata_sync(settings, engine, stream="products", full=True)
    assert failed.outcome == "failed"
    assert metadata_reads(fake) == 1
    assert run_odata_sync(settings, engine, stream="products").ok
    assert metadata_reads(fake) == 2
    assert run_odata_sync(settings, engine, stream="products").ok
    assert metadata_reads(fake) == 2


def test_metadata_older_than_its_age_limit_is_read_again(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=3)
    settings = make_settings(url, metadata_max_age_hours=0.0)
    assert run_odata_sync(settings, engine, stream="warehouses").ok
    assert run_odata_sync(settings, engine, stream="warehouses").ok
    assert metadata_reads(fake) == 2


def test_odata_check_reads_metadata_and_renews_the_kept_copy(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=3)
    settings = make_settings(url)
    assert run_odata_sync(settings, engine, stream="warehouses").ok
    fake.put("Catalog_Новое", {"Ref_Key": data.ref("new", 0), "Description": "x"})
    result = CliRunner().invoke(main, ["odata", "check"], env=env(url))
    assert result.exit_code == 0, result.output
    assert metadata_reads(fake) == 2
    with Session(engine) as session:
        kept = session.execute(select(models.ODataMetadata)).scalar_one()
    assert "Catalog_Новое" in kept.names["entity_sets"]
    assert run_odata_sync(settings, engine, stream="warehouses").ok
    assert metadata_reads(fake) == 2
