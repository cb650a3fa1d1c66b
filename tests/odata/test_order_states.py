"""1C's state of the shop's orders, read back over OData by the push run: applied to the order
its 1C document is (by Ref_Key first, the site number second), never to another order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from config import ExchangeSettings, Settings
from syncd.odata.orders import push_orders
from syncd.store import models
from tests.odata import data
from tests.odata.fake1c import Fake1C
from tests.odata.test_orders import CONSTANTS, add_orders, documents

pytestmark = pytest.mark.postgres

STATUS_MAP = {"Закрыт": "completed", "КОтгрузке": "accepted"}


@pytest.fixture
def settings(pg: tuple[str, Engine], make_settings: Callable[..., Settings]) -> Settings:
    base = make_settings(
        pg[0],
        order_constants=CONSTANTS,
        order_fields={"paid": "Оплачен"},
        order_states_days=36500,  # the test documents are dated 2025
    )
    return dataclasses.replace(base, exchange=ExchangeSettings(status_map=STATUS_MAP))


def order(engine: Engine, number: str) -> models.Order:
    with Session(engine) as session:
        found = session.scalars(select(models.Order).where(models.Order.number == number)).one()
        session.expunge(found)
        return found


def history(engine: Engine, number: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(models.OrderStatusChange)
            .join(models.Order)
            .where(models.Order.number == number)
            .order_by(models.OrderStatusChange.id)
        )
        return [(row.source, row.note) for row in rows]


def order_events(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(models.ChangeEvent)
            .where(models.ChangeEvent.kind == "order")
            .order_by(models.ChangeEvent.position)
        )
        return [{"number": e.resource_id, **(e.data or {})} for e in rows]


def state_audits(engine: Engine) -> list[models.AuditEntry]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(models.AuditEntry).where(models.AuditEntry.action == "odata.order_states")
            )
        )


def document_of(fake: Fake1C, number: str) -> dict[str, Any]:
    return next(d for d in documents(fake) if d["НомерПоДаннымКлиента"] == number)


def change(fake: Fake1C, document: dict[str, Any], **fields: Any) -> None:
    fake.put(data.ORDERS, {**document, **fields})


def stranger(fake: Fake1C, i: int, number: str, **fields: Any) -> str:
    """A document in 1C showing ``number`` that no push made (another channel, a person)."""
    ref = data.ref("stranger", i)
    row = {"Ref_Key": ref, "Number": f"УТ-9{i:07d}", "Date": "2025-01-22T09:00:00"}
    row |= {"Posted": True, "DeletionMark": False, "НомерПоДаннымКлиента": number}
    fake.put(data.ORDERS, row | {"Статус": "Закрыт", "Оплачен": True} | fields)
    return ref


def sent_by_exchange(engine: Engine, number: str) -> None:
    """The order went to 1C in a sale-exchange reply: 1C made the document, we hold no Ref_Key."""
    with Session(engine) as session:
        found = session.scalars(select(models.Order).where(models.Order.number == number)).one()
        found.export_state = "exported"
        session.commit()


def test_1cs_status_payment_and_posting_reach_the_pushed_order_like_the_sale_exchanges(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 2)
    assert push_orders(settings, engine).posted == 2
    change(fake, document_of(fake, "SITE-10000"), Статус="Закрыт", Оплачен=True)

    result = push_orders(settings, engine)

    assert (result.outcome, result.updated, result.refused) == ("succeeded", 1, 0)
    paid = order(engine, "SITE-10000")
    assert (paid.status, paid.paid, paid.posted) == ("completed", True, True)
    assert order(engine, "SITE-10001").status != "completed"
    source, note = history(engine, "SITE-10000")[-1]
    assert source == "1c-odata"
    assert "status=completed" in note
    assert "paid=True" in note
    last = order_events(engine)[-1]
    assert (last["number"], last["status"]) == ("SITE-10000", "completed")
    assert last["changes"] == {"status": "completed", "paid": True}
    [entry] = state_audits(engine)
    assert (entry.outcome, entry.counts) == (
        "succeeded",
        {"updated": 1, "unchanged": 1, "unknown": 0, "refused": 0},
    )

    again = push_orders(settings, engine)  # the same state again changes nothing
    assert again.updated == 0
    assert len(history(engine, "SITE-10000")) == 3  # created, posted, 1C's state
    assert len(state_audits(engine)) == 1


def test_a_document_marked_for_deletion_in_1c_marks_its_order_deleted(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    push_orders(settings, engine)
    change(fake, document_of(fake, "SITE-10000"), DeletionMark=True, Posted=False)
    assert push_orders(settings, engine).updated == 1
    gone = order(engine, "SITE-10000")
    assert (gone.is_deleted, gone.posted) == (True, False)


def test_the_pushed_document_is_found_by_its_ref_even_when_1c_edits_its_site_number(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 2)
    push_orders(settings, engine)
    first = document_of(fake, "SITE-10000")
    change(fake, first, НомерПоДаннымКлиента="SITE-10001", Статус="Закрыт")
    push_orders(settings, engine)
    assert order(engine, "SITE-10000").status == "completed"
    assert order(engine, "SITE-10001").status != "completed"


def test_another_document_showing_a_pushed_orders_number_is_refused_and_audited(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    push_orders(settings, engine)
    pushed_as = order(engine, "SITE-10000").onec_id
    other = stranger(fake, 1, "SITE-10000")

    result = push_orders(settings, engine)

    assert (result.outcome, result.updated, result.refused) == ("succeeded", 0, 1)
    kept = order(engine, "SITE-10000")
    assert (kept.status, kept.paid, kept.onec_id) != ("completed", True, other)
    assert kept.onec_id == pushed_as
    [entry] = state_audits(engine)
    assert entry.outcome == "refused"
    [reason] = entry.details["refused"]
    assert other in reason
    assert f"is 1C's document {pushed_as}" in reason


@pytest.mark.parametrize("first", [0, 1], ids=["listed-first", "listed-second"])
def test_two_documents_showing_one_number_give_it_neither_status_until_one_is_marked_deleted(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings, first: int
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)  # SITE-10000: pushed; gives the run something sent
    add_orders(engine, 1, number="SHOP-7")
    sent_by_exchange(engine, "SHOP-7")
    refs = [
        stranger(fake, first, "SHOP-7", Статус="КОтгрузке", Оплачен=False),
        stranger(fake, 1 - first, "SHOP-7", Статус="Закрыт", Оплачен=True),
    ]

    result = push_orders(settings, engine)

    assert (result.updated, result.refused) == (0, 2)
    untouched = order(engine, "SHOP-7")
    assert (untouched.status, untouched.paid, untouched.onec_id) == ("new", False, None)
    [entry] = state_audits(engine)
    assert all("other documents show site number SHOP-7" in r for r in entry.details["refused"])

    change(fake, fake.entities[data.ORDERS][refs[0]], DeletionMark=True)  # a person chose
    assert push_orders(settings, engine).updated == 1
    chosen = order(engine, "SHOP-7")
    assert (chosen.status, chosen.paid, chosen.onec_id) == ("completed", True, refs[1])
    assert "1C id=" in history(engine, "SHOP-7")[-1][1]


def asks_who_shows_a_number(request: Any) -> bool:
    """The read's question to 1C: which live documents show this site number."""
    params = request.url.params
    return bool(params.get("$select") == "Ref_Key" and params.get("$top") == "2")


def test_1c_is_asked_who_else_shows_a_number_while_no_transaction_of_ours_is_open(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    """1C may take seconds (and retries) to answer: a transaction held open meanwhile would keep
    a connection and PostgreSQL's vacuum horizon for that long."""
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    add_orders(engine, 1, number="SHOP-7")
    sent_by_exchange(engine, "SHOP-7")
    ref = stranger(fake, 0, "SHOP-7", Статус="Закрыт", Оплачен=True)
    open_while_asked: list[int] = []

    def lookup(request: Any) -> Any:
        with engine.connect() as connection:
            open_while_asked.append(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                ).scalar_one()
            )
        return fake._handle(request)

    fake.fail(lookup, when=asks_who_shows_a_number)

    result = push_orders(settings, engine)

    assert open_while_asked == [0]
    assert (result.updated, result.refused) == (1, 0)
    assert order(engine, "SHOP-7").onec_id == ref


def test_an_order_sent_while_1c_is_asked_is_matched_in_the_same_read(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    """The numbers to ask 1C about are gathered before the matching transaction; an order that
    becomes one of them meanwhile (the sale exchange sent it) is asked about in another round."""
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    add_orders(engine, 1, number="SHOP-7")
    add_orders(engine, 1, number="SHOP-8", offer="SITE-ONLY-SKU")  # the push cannot send it
    sent_by_exchange(engine, "SHOP-7")
    refs = {n: stranger(fake, i, n, Статус="Закрыт") for i, n in enumerate(("SHOP-7", "SHOP-8"))}

    def exchange_sends_shop_8(request: Any) -> Any:
        sent_by_exchange(engine, "SHOP-8")
        return fake._handle(request)

    fake.fail(exchange_sends_shop_8, when=asks_who_shows_a_number)

    result = push_orders(settings, engine)

    assert (result.failed, result.updated, result.refused) == (1, 2, 0)
    assert {n: order(engine, n).onec_id for n in refs} == refs
    asked = [r for r in fake.requests if asks_who_shows_a_number(r)]
    assert sorted("SHOP-8" in str(r.url) for r in asked) == [False, True]


def test_a_document_showing_the_number_of_an_order_never_sent_to_1c_is_refused(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1)
    add_orders(engine, 1, number="PO-7", offer="SITE-ONLY-SKU")  # the push cannot send it
    other = stranger(fake, 3, "PO-7")  # a customer's PO number typed into 1C

    result = push_orders(settings, engine)

    assert (result.failed, result.updated, result.refused) == (1, 0, 1)
    never_sent = order(engine, "PO-7")
    assert (never_sent.status, never_sent.paid, never_sent.onec_id) == ("new", False, None)
    [entry] = state_audits(engine)
    assert other in entry.details["refused"][0]
    assert "never sent to 1C" in entry.details["refused"][0]


def test_a_document_dated_before_the_order_was_placed_is_not_that_orders(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    add_orders(engine, 1, number="ABC-1")  # placed 2025-01-21
    sent_by_exchange(engine, "ABC-1")
    older = stranger(fake, 7, "ABC-1", Date="2024-11-05T12:00:00")  # a PO number, typed earlier

    result = push_orders(settings, engine)

    assert (result.updated, result.refused) == (0, 1)
    assert order(engine, "ABC-1").onec_id is None
    [reason] = state_audits(engine)[0].details["refused"]
    assert older in reason
    assert "before that order was placed" in reason


def test_nothing_is_read_back_while_no_order_was_sent(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    data.fill(fake)
    stranger(fake, 4, "SITE-10000")
    push_orders(settings, engine)
    assert fake.requests == []


def test_only_recent_documents_are_read_but_every_other_claimant_of_a_number_counts(
    fake: Fake1C, pg: tuple[str, Engine], settings: Settings
) -> None:
    _, engine = pg
    recent = dataclasses.replace(
        settings, odata=dataclasses.replace(settings.odata, order_states_days=30)
    )
    data.fill(fake)
    add_orders(engine, 1)  # its document is dated 2025: outside the 30 days
    push_orders(recent, engine)
    change(fake, document_of(fake, "SITE-10000"), Статус="Закрыт")
    add_orders(engine, 1, number="SHOP-7")
    sent_by_exchange(engine, "SHOP-7")
    today = datetime.now(ZoneInfo("Europe/Moscow")).replace(microsecond=0, tzinfo=None)
    new = stranger(fake, 5, "SHOP-7", Date=today.isoformat())
    old = stranger(fake, 6, "SHOP-7", Date="2020-03-01T12:00:00")  # a PO number typed long ago

    result = push_orders(recent, engine)

    assert (result.updated, result.refused) == (0, 1)
    assert order(engine, "SITE-10000").status != "completed"
    assert order(engine, "SHOP-7").onec_id is None
    [reason] = state_audits(engine)[0].details["refused"]
    assert new in reason
    assert old in reason
