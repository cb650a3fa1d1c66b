"""Pushing the shop's orders to a (fake) 1C: exactly once, even when answers get lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Settings
from syncd.odata.orders import push_orders
from syncd.store import models
from tests.odata import data
from tests.odata.fake1c import After, Fake1C, odata_error

pytestmark = pytest.mark.postgres

ORGANISATION = "298584b5-92e4-11e3-8bc3-0050568b1678"
CONSTANTS = {
    "Организация_Key": ORGANISATION,
    "Валюта_Key": "9d5c4222-8c4c-11db-a9b0-00055d49b45f",
    "ХозяйственнаяОперация": "РеализацияКлиенту",
    "ЦенаВключаетНДС": "true",
}


def add_orders(
    engine: Engine, n: int, *, offer: str | None = None, number: str | None = None
) -> None:
    product = data.ref("product", 1)
    characteristic = data.ref("char", 0)
    with Session(engine) as session:
        for i in range(n):
            order = models.Order(
                number=number or f"SITE-{10000 + i}",
                customer={"name": "Иван Петров", "email": "ivan@example.ru"},
                total=Decimal("2980.00"),
                currency="RUB",
                created_at=datetime(2025, 1, 21, 7, 14, 2, tzinfo=UTC),
            )
            order.lines = [
                models.OrderLine(
                    line_no=1,
                    offer_onec_id=offer or f"{product}#{characteristic}",
                    product_onec_id=product,
                    name="Мойка кухонная 60 см",
                    quantity=Decimal(2),
                    price=Decimal("1490.00"),
                    total=Decimal("2980.00"),
                )
            ]
            session.add(order)
        session.commit()


def documents(fake: Fake1C) -> list[dict[str, object]]:
    return list(fake.entities[data.ORDERS].values())


def creates(fake: Fake1C) -> list[httpx.Request]:
    return [r for r in fake.sent("POST", data.ORDERS) if not r.url.path.endswith("/Post")]


def is_lookup(request: httpx.Request) -> bool:
    return request.method == "GET" and "НомерПоДаннымКлиента eq" in request.url.params.get(
        "$filter", ""
    )


def is_create(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith(data.ORDERS)


def is_post(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/Post")


def outbox(engine: Engine) -> list[models.OrderOutbox]:
    with Session(engine) as session:
        return list(
            session.execute(select(models.OrderOutbox).order_by(models.OrderOutbox.id)).scalars()
        )


@pytest.fixture
def settings(pg: tuple[str, Engine], make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(pg[0], order_constants=CONSTANTS)


def test_an_order_becomes_a_posted_document_with_its_1c_number_recorded(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    result = push_orders(settings, engine)
    assert (result.outcome, result.created, result.posted) == ("succeeded", 1, 1)

    [document] = documents(fake)
    body = json.loads(creates(fake)[0].content)
    assert body["НомерПоДаннымКлиента"] == "SITE-10000"
    assert body["ДатаПоДаннымКлиента"] == "2025-01-21T10:14:02"  # UTC 07:14 in Moscow time
    assert body["Организация_Key"] == ORGANISATION
    assert body["ЦенаВключаетНДС"] is True
    assert body["Товары"] == [
        {
            "LineNumber": "1",
            "Номенклатура_Key": data.ref("product", 1),
            "Характеристика_Key": data.ref("char", 0),
            "Количество": 2,
            "КоличествоУпаковок": 2,
            "Цена": 1490,
            "Сумма": 2980,
        }
    ]
    assert document["Posted"] is True
    post = next(r for r in fake.requests if is_post(r))
    assert post.url.params["PostingModeOperational"] == "false"

    with Session(engine) as session:
        order = session.execute(select(models.Order)).scalar_one()
        history = [h.details["event"] for h in order.history]
    assert order.onec_id == document["Ref_Key"]
    assert order.onec_number == document["Number"]
    assert order.posted
    assert order.export_state == "exported"  # the exchange protocol must not send it again
    assert history == ["created", "posted"]
    assert [o.state for o in outbox(engine)] == ["posted"]


def test_a_timeout_on_create_is_followed_by_a_lookup_that_finds_the_document(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    fake.fail(After(httpx.ReadTimeout("timed out")), when=is_create)  # 1C made it; we never heard
    result = push_orders(settings, engine)
    assert (result.created, result.found, result.posted) == (0, 1, 1)
    assert len(documents(fake)) == 1
    assert len(creates(fake)) == 1
    assert [r.method for r in fake.requests if is_lookup(r) or is_create(r)] == [
        "GET",
        "POST",
        "GET",
    ]
    with Session(engine) as session:
        order = session.execute(select(models.Order)).scalar_one()
        assert order.onec_id == documents(fake)[0]["Ref_Key"]
        assert [h.details["event"] for h in order.history] == ["found", "posted"]


def test_a_503_on_create_that_did_not_happen_creates_it_on_the_retry(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    fake.fail(httpx.Response(503, text="Service Unavailable"), when=is_create)
    result = push_orders(settings, engine)
    assert (result.created, result.found) == (1, 0)
    assert len(documents(fake)) == 1
    assert len(creates(fake)) == 2


@pytest.mark.slow
def test_a_thousand_orders_make_a_thousand_documents_once(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1_000)
    # Some answers get lost on the way: the documents exist, we did not hear about them.
    for _ in range(25):
        fake.fail(After(httpx.ReadTimeout("timed out")), when=is_create)
    first = push_orders(settings, engine)
    assert first.outcome == "succeeded"
    assert first.created + first.found == 1_000
    assert first.posted == 1_000
    numbers = [d["НомерПоДаннымКлиента"] for d in documents(fake)]
    assert len(numbers) == len(set(numbers)) == 1_000
    assert all(d["Posted"] for d in documents(fake))

    fake.requests.clear()
    second = push_orders(settings, engine)
    assert (second.created, second.found, second.posted, second.updated) == (0, 0, 0, 0)
    assert [r for r in fake.requests if r.method != "GET" or is_lookup(r)] == []
    assert len(documents(fake)) == 1_000
    with Session(engine) as session:
        linked = session.execute(
            select(func.count(func.distinct(models.Order.onec_id))).where(models.Order.posted)
        ).scalar_one()
    assert linked == 1_000


def test_a_business_error_fails_the_order_with_1cs_message_and_the_others_go_on(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 3)
    message = 'Не заполнено поле "Соглашение"'
    fake.fail(odata_error(500, "-1", message), when=is_create)
    result = push_orders(settings, engine)
    assert (result.outcome, result.failed, result.created) == ("failed", 1, 2)
    assert len(creates(fake)) == 3  # the refused create was not retried
    first = outbox(engine)[0]
    assert first.state == "failed"
    assert first.last_error == message
    with Session(engine) as session:
        entry = session.execute(
            select(models.AuditEntry).where(models.AuditEntry.action == "odata.order")
        ).scalar_one()
    assert entry.subject == "SITE-10000"
    assert entry.error == message

    again = push_orders(settings, engine)
    assert again.created == 0  # failed rows wait for a person ...
    retried = push_orders(settings, engine, retry_failed=True)  # ... who fixed the cause
    assert (retried.created, retried.posted) == (1, 1)
    assert len(documents(fake)) == 3


def test_a_lock_conflict_while_posting_is_retried(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    conflict = (
        "Конфликт блокировок при выполнении транзакции: "
        "Превышено максимальное время ожидания предоставления блокировки"
    )
    fake.fail(odata_error(500, "-1", conflict), when=is_post)
    result = push_orders(settings, engine)
    assert (result.outcome, result.posted) == ("succeeded", 1)
    assert len([r for r in fake.requests if is_post(r)]) == 2


def test_1c_unavailable_defers_the_push_and_a_later_run_finishes_it(
    fake: Fake1C, pg: tuple[str, Engine], make_settings: Callable[..., Settings]
) -> None:
    url, engine = pg
    settings = make_settings(url, max_attempts=2, order_constants=CONSTANTS)
    data.fill(fake)
    add_orders(engine, 2)
    fake.fail(httpx.ConnectError("refused"), httpx.ConnectError("refused"), when=is_lookup)
    first = push_orders(settings, engine)
    assert (first.outcome, first.deferred, first.created) == ("deferred", 1, 0)
    assert documents(fake) == []
    second = push_orders(settings, engine)
    assert (second.outcome, second.created, second.posted) == ("succeeded", 2, 2)


def test_a_line_not_from_1c_fails_the_order_without_calling_1c(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1, offer="SITE-ONLY-SKU")
    result = push_orders(settings, engine)
    assert result.failed == 1
    assert "'SITE-ONLY-SKU' is not a 1C reference" in result.errors[0]
    assert fake.requests == []


def test_two_documents_with_the_same_site_number_are_reported_not_guessed(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    for i in range(2):
        fake.put(
            data.ORDERS,
            {
                "Ref_Key": data.ref("doc", i),
                "Number": f"УТ-{i}",
                "Posted": False,
                "DeletionMark": False,
                "НомерПоДаннымКлиента": "SITE-10000",
            },
        )
    result = push_orders(settings, engine)
    assert result.failed == 1
    assert "more than one Document_ЗаказКлиента" in result.errors[0]
    assert creates(fake) == []


def test_a_create_answered_without_a_document_is_found_by_the_lookup(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)

    def created_but_unnamed(request: httpx.Request) -> httpx.Response:
        fake._handle(request)
        return httpx.Response(201, json={})  # a proxy ate the body and the Location header

    fake.fail(created_but_unnamed, when=is_create)
    result = push_orders(settings, engine)
    assert (result.created, result.found, result.posted) == (0, 1, 1)
    assert len(documents(fake)) == 1
