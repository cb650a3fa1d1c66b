"""Exchange-plan change tracking: 1C's registered changes pulled, committed, then acknowledged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from syncd.odata import tracking
from syncd.odata.sync import run_odata_sync
from syncd.store import models
from tests.odata import data
from tests.odata.fake1c import Fake1C

pytestmark = pytest.mark.postgres
PLAN = "ExchangePlan_ОбменССайтом"
NODE = "a9bc23c5-3689-11f1-926c-0800270bc6cb"


class Killed(BaseException):
    """The process dying mid-pull: nothing catches it."""


def products(engine: Engine) -> dict[str, tuple[str, bool]]:
    with Session(engine) as session:
        rows = session.execute(
            select(models.Product.onec_id, models.Product.name, models.Product.is_deleted)
        )
        return {key: (name, deleted) for key, name, deleted in rows}


def acknowledgements(fake: Fake1C) -> list[str]:
    return [r.url.params["MessageNo"] for r in fake.sent("POST", "NotifyChangesReceived")]


@pytest.fixture
def tracked(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> tuple[Settings, Engine]:
    """A base pulled once in full, whose exchange plan registers changes from then on."""
    url, engine = pg
    data.fill(fake, products=5)
    fake.enable_plan(PLAN, NODE)
    settings = make_settings(url, exchange_plan=PLAN, exchange_node=NODE)
    assert run_odata_sync(settings, engine).ok
    fake.registered.clear()  # what the node registered before: the full pull read it all
    return settings, engine


def edit_in_1c(fake: Fake1C) -> None:
    fake.put(data.PRODUCTS, data.product_row(1, Description="Мойка новая"))
    fake.put(data.PRODUCTS, data.product_row(7))  # a new product
    fake.put(data.PRODUCTS, data.product_row(2, DeletionMark=True))
    fake.delete(data.PRODUCTS, data.ref("product", 3))
    fake.put(data.WAREHOUSES, {**data.warehouse_row(0), "Description": "Главный склад"})


def test_registered_changes_are_written_then_acknowledged(
    fake: Fake1C, tracked: tuple[Settings, Engine]
) -> None:
    settings, engine = tracked
    edit_in_1c(fake)
    result = run_odata_sync(settings, engine, stream="changes")
    assert result.outcome == "succeeded", result
    shown = products(engine)
    assert shown[data.ref("product", 1)] == ("Мойка новая", False)
    assert shown[data.ref("product", 7)] == ("Мойка кухонная 7 см", False)
    assert shown[data.ref("product", 2)][1] is True  # marked for deletion in 1C
    assert shown[data.ref("product", 3)][1] is True  # deleted outright
    with Session(engine) as session:
        warehouse = session.execute(
            select(models.Warehouse.name).where(
                models.Warehouse.onec_id == data.ref("warehouse", 0)
            )
        ).scalar_one()
        own_offer = session.execute(
            select(models.Offer.name).where(models.Offer.onec_id == data.ref("product", 7))
        ).scalar_one_or_none()  # the catalog streams' readers make the new product's offer
    assert warehouse == "Главный склад"
    assert own_offer == "Мойка кухонная 7 см"
    assert acknowledgements(fake) == ["1"]
    assert fake.registered == {}
    again = run_odata_sync(settings, engine, stream="changes")
    assert again.outcome == "unchanged"
    assert acknowledgements(fake) == ["1", "2"]


def test_nothing_is_acknowledged_when_the_write_does_not_commit(
    fake: Fake1C, tracked: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, engine = tracked
    before = products(engine)
    edit_in_1c(fake)
    calls = {"n": 0}
    real = tracking.write_stream_batch

    def dies_at_the_third_catalog(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(tracking, "write_stream_batch", dies_at_the_third_catalog)
    with pytest.raises(Killed):
        run_odata_sync(settings, engine, stream="changes")
    assert acknowledgements(fake) == []
    assert products(engine) == before  # the package's transaction rolled back whole
    assert len(fake.registered) == 5  # 1C keeps every registration
    monkeypatch.setattr(tracking, "write_stream_batch", real)
    assert run_odata_sync(settings, engine, stream="changes").ok
    assert products(engine)[data.ref("product", 1)] == ("Мойка новая", False)
    assert acknowledgements(fake) == ["1"]


def test_a_lost_acknowledgement_brings_the_same_package_again_and_it_changes_nothing(
    fake: Fake1C, tracked: tuple[Settings, Engine]
) -> None:
    settings, engine = tracked
    edit_in_1c(fake)
    fake.fail(
        *[httpx.ConnectError("1C went away")] * settings.odata.max_attempts,
        when=lambda request: "NotifyChangesReceived" in request.url.path,
    )
    first = run_odata_sync(settings, engine, stream="changes")
    assert first.outcome == "failed"
    assert products(engine)[data.ref("product", 1)] == ("Мойка новая", False)  # committed
    assert fake.entities[PLAN][NODE]["ReceivedNo"] == "0"
    second = run_odata_sync(settings, engine, stream="changes")
    assert second.outcome == "unchanged", second  # the same package: nothing new to write
    selects = [r.url.params["MessageNo"] for r in fake.sent("POST", "SelectChanges")]
    assert selects == ["1", "1"]
    assert fake.entities[PLAN][NODE]["ReceivedNo"] == "1"
    assert fake.registered == {}


def test_the_changes_stream_without_an_exchange_plan_is_refused(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    with pytest.raises(ValueError, match=r"odata\.exchange_plan"):
        run_odata_sync(make_settings(url), engine, stream="changes")


def test_a_package_that_is_not_an_atom_feed_fails_the_stream_and_is_not_acknowledged(
    fake: Fake1C, tracked: tuple[Settings, Engine]
) -> None:
    settings, engine = tracked
    before = products(engine)
    edit_in_1c(fake)
    fake.fail(
        httpx.Response(200, content=b"<feed><entry><category term='x'/>"),  # cut off
        when=lambda request: "SelectChanges" in request.url.path,
    )
    result = run_odata_sync(settings, engine, stream="changes")
    assert result.outcome == "failed"
    assert "SelectChanges" in (result.error or "")
    assert acknowledgements(fake) == []
    assert products(engine) == before
    assert run_odata_sync(settings, engine, stream="changes").ok  # the same package, whole
    assert acknowledgements(fake) == ["1"]
