"""An OData pull from a (fake) 1C logs exactly the changes it committed, in order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from config.settings import ChangesSettings
from syncd.odata.sync import run_odata_sync
from syncd.store import models
from tests.odata import data
from tests.odata.fake1c import Fake1C

Event = tuple[str, str, str]


def events(engine: Engine, after: int = 0) -> list[models.ChangeEvent]:
    with Session(engine) as session:
        stmt = (
            select(models.ChangeEvent)
            .where(models.ChangeEvent.position > after)
            .order_by(models.ChangeEvent.position)
        )
        return list(session.execute(stmt).scalars())


def triples(found: list[models.ChangeEvent]) -> list[Event]:
    return [(e.kind, e.resource_id, e.action) for e in found]


def test_a_first_pull_logs_every_group_product_offer_price_and_stock_once(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=6, groups=2)
    result = run_odata_sync(make_settings(url), engine)
    assert result.outcome == "succeeded", result
    found = triples(events(engine))
    assert len(found) == len(set(found))
    kinds = {kind for kind, _, _ in found}
    assert kinds == {"group", "product", "offer", "price", "stock"}
    products = {i for k, i, a in found if k == "product" and a == "created"}
    assert products == {data.ref("product", i) for i in range(6)}
    assert {i for k, i, _ in found if k == "group"} == {data.ref("group", g) for g in range(2)}
    with Session(engine) as session:
        run_id = session.execute(select(models.SyncRun.id)).scalar_one()
    assert {e.run_id for e in events(engine)} == {run_id}


def test_changes_in_1c_are_logged_after_the_first_pull_and_nothing_when_nothing_changed(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=6, groups=2)
    settings = make_settings(url)
    run_odata_sync(settings, engine)
    head = events(engine)[-1].position
    run_odata_sync(settings, engine)
    assert events(engine, head) == []  # nothing changed, nothing logged

    del fake.entities[data.PRODUCTS][data.ref("product", 3)]  # deleted outright in 1C
    fake.put(data.PRODUCTS, data.product_row(4, Description="Новое имя"))
    fake.virtual[f"{data.PRICES}/SliceLast"][2] = data.price_row(1, 0, "2000.00")
    run_odata_sync(settings, engine)
    new = events(engine, head)
    assert triples(new) == [
        ("product", data.ref("product", 4), "changed"),
        ("offer", data.ref("product", 4), "changed"),  # the product's own offer: its name
        ("product", data.ref("product", 3), "deleted"),
        ("price", data.ref("product", 1), "changed"),
    ]
    prices = new[3].data
    assert prices is not None
    assert prices["product"] == data.ref("product", 1)
    assert {k: Decimal(v) for k, v in prices["prices"].items()} == {
        data.ref("price_type", 0): Decimal("2000.00")
    }


def test_an_order_pushed_to_1c_logs_its_created_and_posted_status_in_order(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    from syncd.odata.orders import push_orders
    from tests.odata.test_orders import add_orders

    url, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    assert push_orders(make_settings(url), engine).posted == 1
    orders = [e for e in events(engine) if e.kind == "order"]
    assert [(e.resource_id, e.action) for e in orders] == [("SITE-10000", "status")] * 2
    assert [e.data["event"] for e in orders if e.data] == ["created", "posted"]


def test_with_the_change_log_off_an_order_pushed_to_1c_logs_no_event(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    from syncd.odata.orders import push_orders
    from tests.odata.test_orders import add_orders

    url, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    off = dataclasses.replace(make_settings(url), changes=ChangesSettings(enabled=False))
    assert push_orders(off, engine).posted == 1
    assert [e for e in events(engine) if e.kind == "order"] == []
