"""Pulling streams from a (fake) 1C into PostgreSQL: full, incremental, resumable."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Settings
from syncd import models
from syncd.odata.sync import run_odata_sync
from tests.odata import data
from tests.odata.fake1c import Fake1C

pytestmark = pytest.mark.postgres


def count(engine: Engine, model: type[models.Base], **where: object) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model).filter_by(**where)).scalar_one())


def test_a_first_sync_loads_every_stream(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=20, groups=3)
    result = run_odata_sync(make_settings(url), engine)
    assert result.status == "succeeded", result
    assert count(engine, models.Product) == 20
    assert count(engine, models.Group) == 3
    assert count(engine, models.Offer) == 2
    assert count(engine, models.PriceType) == 2
    assert count(engine, models.Warehouse) == 2
    assert count(engine, models.Customer) == 3
    assert count(engine, models.Price) == 40
