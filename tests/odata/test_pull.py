"""Pulling streams from a (fake) 1C: full, incremental, snapshots; faults, stops and crashes."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Settings
from syncd.importer.checkpoints import read_checkpoint
from syncd.odata import pull
from syncd.odata.sync import run_odata_sync
from syncd.store import models
from syncd.store.locks import LockBusy, named_lock
from tests.conftest import PgServer
from tests.odata import data
from tests.odata.fake1c import Fake1C, odata_error

pytestmark = pytest.mark.postgres


class Killed(BaseException):
    """Stands for the process dying: nothing catches it, nothing after it runs."""


def count(engine: Engine, model: type[models.Base], **where: object) -> int:
    with Session(engine) as session:
        stmt = select(func.count()).select_from(model).filter_by(**where)
        return int(session.execute(stmt).scalar_one())


def product_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        stmt = select(
            models.Product.onec_id,
            models.Product.name,
            models.Product.sku,
            models.Product.code,
            models.Product.description,
            models.Product.group_onec_id,
            models.Product.is_deleted,
            models.Product.content_hash,
        ).order_by(models.Product.onec_id)
        return [tuple(row) for row in session.execute(stmt)]


def audits(engine: Engine, subject: str) -> list[models.AuditEntry]:
    with Session(engine) as session:
        stmt = (
            select(models.AuditEntry)
            .where(models.AuditEntry.subject == subject)
            .order_by(models.AuditEntry.id)
        )
        return list(session.execute(stmt).scalars())


def cursor_of(engine: Engine, stream: str) -> dict[str, Any] | None:
    with Session(engine) as session:
        return read_checkpoint(session, stream)


def page_skips(fake: Fake1C) -> list[int]:
    """The $skip of every full-row products page requested so far."""
    return [
        int(r.url.params["$skip"])
        for r in fake.sent("GET", data.PRODUCTS)
        if "Артикул" in r.url.params.get("$select", "") and "$skip" in r.url.params
    ]


def by_ref_fetches(fake: Fake1C) -> list[httpx.Request]:
    return [
        r
        for r in fake.sent("GET", data.PRODUCTS)
        if "Ref_Key eq" in r.url.params.get("$filter", "")
    ]


def of_products(counts: dict[str, Any], outcome: str) -> int:
    """An audit entry's count of product rows (the stream also writes their own offers)."""
    return int(counts["by_table"].get("products", {}).get(outcome, 0))


def fill_products(fake: Fake1C, n: int) -> None:
    fake.put(data.PRODUCTS, data.group_row(0))
    for i in range(n):
        fake.put(data.PRODUCTS, data.product_row(i))


# --- a whole base ---------------------------------------------------------------------------


def test_a_first_sync_loads_every_stream(
    fake: Fake1C,
    backend: str,
    fresh_database_url: str,
    make_db_engine: Callable[..., Engine],
    make_settings: Callable[..., Settings],
) -> None:
    engine = make_db_engine(fresh_database_url)
    data.fill(fake, products=20, groups=3)
    result = run_odata_sync(make_settings(fresh_database_url), engine)
    assert result.outcome == "succeeded", result
    assert [s.outcome for s in result.streams] == ["succeeded"] * 8
    assert count(engine, models.Product) == 20
    assert count(engine, models.Group) == 3
    assert count(engine, models.PriceType) == 2
    assert count(engine, models.Warehouse) == 2
    assert count(engine, models.Customer) == 3
    assert count(engine, models.Price) == 41
    with Session(engine) as session:
        offers = session.execute(select(models.Offer.onec_id)).scalars().all()
        customer = session.execute(select(models.Customer).limit(1)).scalar_one()
        price = session.execute(
            select(models.Price.value).where(
                models.Price.offer_onec_id == data.ref("product", 3),
                models.Price.price_type_onec_id == data.ref("price_type", 1),
            )
        ).scalar_one()
        stock = session.execute(
            select(models.Stock.quantity).where(
                models.Stock.offer_onec_id == data.ref("product", 5),
                models.Stock.warehouse_onec_id == data.ref("warehouse", 1),
            )
        ).scalar_one()
    # A product without characteristics sells as itself; one with them through its variants
    # (product 0 its own characteristics; product 1 the one its kind owns, as 1C prices it).
    product0, product1 = data.ref("product", 0), data.ref("product", 1)
    with Session(engine) as session:
        active = session.execute(
            select(models.Offer.onec_id).where(models.Offer.is_deleted.is_(False))
        ).scalars()
        assert sorted(active) == sorted(
            [f"{product0}#{data.ref('char', i)}" for i in (0, 1)]
            + [f"{product1}#{data.ref('char', 2)}"]
            + [data.ref("product", i) for i in range(2, 20)]
        )
    assert product0 in offers
    assert product1 in offers
    assert customer.email is not None
    assert customer.email.startswith("zakaz")
    assert customer.phone == "+7 495 123-45-67"
    assert price == Decimal("1003.50")
    assert stock == Decimal("6")
    with Session(engine) as session:
        currencies = set(session.execute(select(models.Price.currency)).scalars())
        type_currencies = set(session.execute(select(models.PriceType.currency)).scalars())
    assert currencies == type_currencies == {"RUB"}  # 1C's ВалютаЦены_Key -> Catalog_Валюты
    with Session(engine) as session:
        run = session.execute(select(models.SyncRun)).scalar_one()
    assert run.status == "succeeded"
    assert run.counts["products"]["by_table"]["products"] == {"inserted": 20}


# --- the bar: 10,000 products, then 10 changed, then none -------------------------------------


@pytest.mark.slow
def test_ten_thousand_products_then_ten_changed_then_nothing(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 10_000)
    settings = make_settings(url)

    first = run_odata_sync(settings, engine, stream="products")
    assert first.outcome == "succeeded"
    assert count(engine, models.Product) == 10_000
    assert page_skips(fake) == list(range(0, 10_001, 500))  # 20 full pages, then an empty one
    assert of_products(audits(engine, "products")[-1].counts, "inserted") == 10_000

    changed = [7, 512, 1999, 2500, 4321, 5000, 6666, 8080, 9001, 9999]
    for i in changed:
        fake.put(data.PRODUCTS, data.product_row(i, Description=f"Мойка {i} (новая)"))
    fake.requests.clear()
    second = run_odata_sync(settings, engine, stream="products")
    entry = audits(engine, "products")[-1]
    assert second.outcome == "succeeded"
    assert (entry.counts["inserted"], of_products(entry.counts, "updated")) == (0, 10)
    assert entry.details["scanned"] == 10_000
    assert entry.details["fetched"] == 10
    assert len(by_ref_fetches(fake)) == 1  # the ten changed objects, in one request
    assert page_skips(fake) == []  # no full pages: only the Ref_Key,DataVersion scan
    with Session(engine) as session:
        names = session.execute(
            select(models.Product.name).where(
                models.Product.onec_id.in_([data.ref("product", i) for i in changed])
            )
        ).scalars()
        assert all(name.endswith("(новая)") for name in names)

    fake.requests.clear()
    before = product_rows(engine)
    third = run_odata_sync(settings, engine, stream="products")
    entry = audits(engine, "products")[-1]
    assert third.streams[0].outcome == "unchanged"
    assert entry.counts["inserted"] == entry.counts["updated"] == entry.counts["deleted"] == 0
    assert by_ref_fetches(fake) == []
    assert product_rows(engine) == before


def test_a_resave_in_1c_that_changes_nothing_is_fetched_but_not_written(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 30)
    settings = make_settings(url)
    run_odata_sync(settings, engine, stream="products")
    fake.put(data.PRODUCTS, data.product_row(4))  # new DataVersion, same content
    result = run_odata_sync(settings, engine, stream="products")
    counts = result.streams[0].counts
    assert (result.streams[0].fetched, counts.updated) == (1, 0)
    assert counts.by_table["products"]["unchanged"] == 1


def test_objects_deleted_or_marked_in_1c_are_hidden(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 30)
    settings = make_settings(url)
    run_odata_sync(settings, engine, stream="products")
    del fake.entities[data.PRODUCTS][data.ref("product", 3)]  # deleted outright in 1C
    fake.put(data.PRODUCTS, data.product_row(4, DeletionMark=True))  # marked for deletion
    result = run_odata_sync(settings, engine, stream="products")
    assert result.streams[0].counts.by_table["products"]["deleted"] == 2
    assert count(engine, models.Product, is_deleted=True) == 2
    assert count(engine, models.Product, is_deleted=False) == 28
    # Put back in 1C, the product shows again.
    fake.put(data.PRODUCTS, data.product_row(3))
    run_odata_sync(settings, engine, stream="products")
    assert count(engine, models.Product, onec_id=data.ref("product", 3), is_deleted=False) == 1


# --- the bar: faults -----------------------------------------------------------------------


def test_503_html_page_no_licence_and_timeout_then_success_complete_without_gaps_or_duplicates(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 2_000)
    html = (
        "<html><head><title>1C:Enterprise 8 application error</title></head><body>"
        "<b>by reason: </b>Server is restarting</body></html>"
    )
    fake.fail(
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(500, text=html, headers={"Content-Type": "text/html"}),
        odata_error(500, "-1", "Не обнаружено свободной лицензии!"),
        httpx.ReadTimeout("timed out"),
        when=data.products_page_request(1_000),
    )
    result = run_odata_sync(make_settings(url), engine, stream="products")
    assert result.outcome == "succeeded", result.error
    assert page_skips(fake) == [0, 500, 1000, 1000, 1000, 1000, 1000, 1500, 2000]
    rows = product_rows(engine)
    assert sorted(r[0] for r in rows) == sorted(data.ref("product", i) for i in range(2_000))
    assert of_products(audits(engine, "products")[-1].counts, "inserted") == 2_000


def test_a_business_error_stops_the_stream_with_its_message_and_keeps_the_cursor(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 2_000)
    message = "Неверные параметры в операции сравнения"
    fake.fail(odata_error(400, "-1", message), when=data.products_page_request(1_000))
    settings = make_settings(url)

    failed = run_odata_sync(settings, engine, stream="products")
    assert failed.outcome == "failed"
    assert failed.error is not None
    assert message in failed.error
    assert page_skips(fake) == [0, 500, 1000]  # not retried
    assert cursor_of(engine, "products") == {
        "mode": "full",
        "skip": 1000,
        "started_at": cursor_of(engine, "products")["started_at"],  # type: ignore[index]
    }
    assert count(engine, models.Product) == 1_000
    entry = audits(engine, "products")[-1]
    assert (entry.outcome, of_products(entry.counts, "inserted")) == ("failed", 1_000)
    assert entry.error is not None
    assert message in entry.error

    fake.requests.clear()
    resumed = run_odata_sync(settings, engine, stream="products")
    assert resumed.outcome == "succeeded"
    assert page_skips(fake) == [1000, 1500, 2000]
    assert count(engine, models.Product) == 2_000


def test_1c_staying_unavailable_fails_the_run_and_skips_the_other_streams(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake)
    fake.fail(
        *[httpx.Response(503, text="Service Unavailable") for _ in range(3)],
        when=lambda request: data.WAREHOUSES in request.url.path,
    )
    result = run_odata_sync(make_settings(url, max_attempts=3), engine)
    assert result.outcome == "failed"
    assert [s.outcome for s in result.streams] == ["failed"] + ["skipped"] * 7
    assert len(fake.sent("GET", data.WAREHOUSES)) == 3
    assert count(engine, models.Product) == 0


def test_an_entity_the_base_does_not_publish_fails_only_its_stream(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake)
    result = run_odata_sync(make_settings(url, warehouses_entity="Catalog_СкладыМагазина"), engine)
    warehouses = result.streams[0]
    assert warehouses.outcome == "failed"
    assert warehouses.error is not None
    assert "entity set Catalog_СкладыМагазина" in warehouses.error
    assert [s.outcome for s in result.streams[1:]] == ["succeeded"] * 7
    assert fake.sent("GET", "Catalog_СкладыМагазина") == []


# --- the bar: a crash between a page's fetch and its commit ------------------------------------


@pytest.mark.slow
def test_a_crash_between_fetch_and_commit_resumes_at_the_last_commit_with_the_same_end_state(
    fake: Fake1C,
    pg: tuple[str, Engine],
    pg_server: PgServer,
    make_db_engine: Callable[..., Engine],
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = pg
    fill_products(fake, 3_000)
    real_write = pull.write_stream_batch
    calls = 0

    def dies_on_the_third_batch(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Killed  # page 3 was fetched; its transaction never commits
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pull, "write_stream_batch", dies_on_the_third_batch)
    with pytest.raises(Killed):
        run_odata_sync(make_settings(url), engine, stream="products")
    assert count(engine, models.Product) == 1_000
    assert cursor_of(engine, "products")["skip"] == 1_000  # type: ignore[index]

    monkeypatch.setattr(pull, "write_stream_batch", real_write)
    fake.requests.clear()
    resumed = run_odata_sync(make_settings(url), engine, stream="products")
    assert resumed.outcome == "succeeded"
    assert page_skips(fake)[0] == 1_000  # resumed at the last committed cursor

    other_url = pg_server.create()
    try:
        other = make_db_engine(other_url)
        run_odata_sync(make_settings(other_url), other, stream="products")
        assert product_rows(engine) == product_rows(other)
        assert count(engine, models.ODataVersion) == count(other, models.ODataVersion) == 3_000
    finally:
        other.dispose()
        pg_server.drop(other_url)
    with Session(engine) as session:
        statuses = session.execute(
            select(models.SyncRun.status).order_by(models.SyncRun.id)
        ).scalars()
        assert list(statuses) == ["failed", "succeeded"]


def test_a_stop_request_ends_after_a_committed_page_and_the_next_run_goes_on(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 1_600)
    pages_seen = []

    def stop_after_two_pages() -> bool:
        pages_seen.append(1)
        return len(page_skips(fake)) >= 2

    stopped = run_odata_sync(
        make_settings(url), engine, stream="products", should_stop=stop_after_two_pages
    )
    assert stopped.outcome == "interrupted"
    assert count(engine, models.Product) == 1_000
    finished = run_odata_sync(make_settings(url), engine, stream="products")
    assert finished.outcome == "succeeded"
    assert count(engine, models.Product) == 1_600


# --- snapshots ---------------------------------------------------------------------------------


def test_stock_that_leaves_the_balance_becomes_zero_and_unchanged_stock_is_not_rewritten(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=6)
    settings = make_settings(url)
    run_odata_sync(settings, engine, stream="stock")
    balance = fake.virtual[f"{data.STOCK}/Balance"]
    sold_out = balance.pop(2)  # 1C's Balance omits rows whose balance is zero
    result = run_odata_sync(settings, engine, stream="stock")
    counts = result.streams[0].counts
    assert counts.updated == 2  # the warehouse level and the total of the sold-out product
    assert counts.inserted == 0
    with Session(engine) as session:
        left = session.execute(
            select(models.Stock.warehouse_onec_id, models.Stock.quantity).where(
                models.Stock.offer_onec_id == sold_out["Номенклатура_Key"]
            )
        ).all()
    assert sorted(left) == sorted([("", Decimal(0)), (sold_out["Склад_Key"], Decimal(0))])
    again = run_odata_sync(settings, engine, stream="stock")
    assert again.streams[0].outcome == "unchanged"


def test_prices_per_price_type_use_one_slice_per_type(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake, products=5)
    settings = make_settings(url, price_types=(data.ref("price_type", 1),))
    result = run_odata_sync(settings, engine, stream="prices")
    assert result.outcome == "succeeded"
    calls = fake.sent("GET", f"{data.PRICES}/SliceLast")
    assert len(calls) == 1
    assert f"ВидЦены_Key eq guid'{data.ref('price_type', 1)}'" in calls[0].url.path
    assert count(engine, models.Price) == 5
    assert count(engine, models.Price, price_type_onec_id=data.ref("price_type", 1)) == 5


def test_when_most_objects_changed_the_pull_reads_pages_instead_of_refs(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 100)
    settings = make_settings(url, page_size=50)
    run_odata_sync(settings, engine, stream="products")
    for i in range(100):
        fake.put(data.PRODUCTS, data.product_row(i, Артикул=f"NEW-{i}"))
    fake.requests.clear()
    result = run_odata_sync(settings, engine, stream="products")
    assert result.streams[0].mode == "full"
    assert result.streams[0].counts.by_table["products"]["updated"] == 100
    assert by_ref_fetches(fake) == []
    assert page_skips(fake) == [0, 50, 100]


def test_a_run_a_killed_process_left_running_is_closed_by_the_next_run(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 5)
    with Session(engine) as session:
        session.add(models.SyncRun(run_uuid="dead-run", stream="odata", status="running"))
        session.commit()
    run_odata_sync(make_settings(url), engine, stream="products")
    with Session(engine) as session:
        dead = session.execute(
            select(models.SyncRun).where(models.SyncRun.run_uuid == "dead-run")
        ).scalar_one()
    assert dead.status == "abandoned"
    assert dead.finished_at is not None


def test_a_bad_row_is_rejected_kept_in_quarantine_and_tried_again_next_time(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 10)
    fake.put(data.PRODUCTS, data.product_row(3, Parent_Key="not-a-guid"))
    settings = make_settings(url)
    first = run_odata_sync(settings, engine, stream="products")
    stream = first.streams[0]
    assert (stream.counts.by_table["products"]["inserted"], stream.counts.rejected) == (9, 1)
    assert data.ref("product", 3) in stream.counts.problems[0]
    assert "Parent_Key" in stream.counts.problems[0]
    [kept] = (settings.paths.quarantine_dir / "odata").iterdir()
    assert json.loads(kept.read_text(encoding="utf-8"))["row"]["Parent_Key"] == "not-a-guid"
    entry = audits(engine, "products")[-1]
    assert entry.counts["rejected"] == 1

    fake.put(data.PRODUCTS, data.product_row(3))  # fixed in 1C
    second = run_odata_sync(settings, engine, stream="products")
    assert second.streams[0].counts.by_table["products"]["inserted"] == 1
    assert count(engine, models.Product) == 10


def test_a_second_pull_while_one_runs_is_refused(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    with named_lock(engine, "odata-pull"), pytest.raises(LockBusy):
        run_odata_sync(make_settings(url), engine)
    assert fake.requests == []


def test_snapshots_get_their_own_longer_timeout(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    data.fill(fake)
    settings = make_settings(url, timeout_seconds=5.0, snapshot_timeout_seconds=321.0)
    run_odata_sync(settings, engine, stream="stock")
    [balance] = fake.sent("GET", f"{data.STOCK}/Balance")
    [metadata] = fake.sent("GET", "$metadata")
    assert balance.extensions["timeout"]["read"] == 321.0
    assert metadata.extensions["timeout"]["read"] == 5.0


def test_a_base_whose_metadata_fails_is_pulled_unchecked(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 5)
    fake.fail(
        odata_error(500, "-1", "Произошла внутренняя ошибка OData сервиса."),
        when=lambda r: r.url.path.endswith("$metadata"),
    )
    result = run_odata_sync(make_settings(url), engine, stream="products")
    assert result.outcome == "succeeded"
    assert count(engine, models.Product) == 5


def test_wrong_credentials_fail_the_run_with_1cs_answer_and_touch_nothing(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    fill_products(fake, 5)
    fake.fail(httpx.Response(401, headers={"WWW-Authenticate": "Basic"}))
    result = run_odata_sync(make_settings(url), engine)
    assert result.outcome == "failed"
    assert result.error is not None
    assert "401" in result.error
    assert {s.outcome for s in result.streams} == {"skipped"}
    assert len(fake.requests) == 1  # not retried
    assert count(engine, models.Product) == 0
