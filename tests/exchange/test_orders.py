"""The sale side's storage rules: pending until confirmed by that exchange; 1C's updates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange_formats.records import Order as OrderRecord
from exchange_formats.records import Requisite
from syncd.exchange import sale
from syncd.importer.order_updates import apply_updates
from syncd.store.models import Order, OrderStatusChange


def add_order(db: Session, number: str, **fields: object) -> Order:
    order = Order(number=number, total=Decimal("100.00"), **fields)
    db.add(order)
    db.flush()
    return order


def update(onec_id: str, *requisites: tuple[str, str], **fields: object) -> OrderRecord:
    return OrderRecord(
        onec_id=onec_id,
        requisites=tuple(Requisite(name=n, value=v) for n, v in requisites),
        **fields,  # type: ignore[arg-type]
    )


def test_handed_out_orders_stay_pending_until_that_exchange_confirms_them(
    db_session: Session,
) -> None:
    add_order(db_session, "A-1")
    add_order(db_session, "A-2")
    add_order(db_session, "A-3", export_state="exported")
    first = sale.orders_to_send(db_session)
    assert [o.number for o in first] == ["A-1", "A-2"]
    sale.hand_out(db_session, first, "session-one")

    again = sale.orders_to_send(db_session)  # no success came: they are sent again
    assert [o.number for o in again] == ["A-1", "A-2"]
    sale.hand_out(db_session, again, "session-two")

    assert sale.confirm(db_session, "session-one") == 0  # an older exchange confirms nothing
    assert sale.confirm(db_session, "session-two") == 2
    db_session.expire_all()
    assert sale.orders_to_send(db_session) == []
    states = db_session.scalars(select(Order.export_state).order_by(Order.number)).all()
    assert states == ["exported", "exported", "exported"]


def test_an_order_changed_on_the_site_after_query_is_not_confirmed_by_success(
    db_session: Session,
) -> None:
    order = add_order(db_session, "B-1")
    sale.hand_out(db_session, [order], "s")
    order.export_state = "new"  # the storefront changed it after 1C took it
    db_session.flush()
    assert sale.confirm(db_session, "s") == 0
    assert [o.number for o in sale.orders_to_send(db_session)] == ["B-1"]


def test_1c_updates_set_number_posting_status_payment_shipment_into_history(
    db_session: Session,
) -> None:
    order = add_order(db_session, "C-1")
    counts = apply_updates(
        db_session,
        [
            update(
                "C-1",
                ("Номер по 1С", "ЗК-000042"),
                ("Проведен", "true"),
                ("Статус заказа", "[N] Принят"),
                ("Номер оплаты по 1С", "ПП-7"),
                ("Отгружен", "false"),
            )
        ],
        {"[N] Принят": "accepted"},
    )
    assert counts.as_dict() == {"updated": 1, "unchanged": 0, "unknown": 0}
    db_session.refresh(order)
    assert (order.onec_number, order.posted, order.status, order.paid, order.shipped) == (
        "ЗК-000042",
        True,
        "accepted",
        True,
        False,
    )
    [change] = db_session.scalars(select(OrderStatusChange)).all()
    assert change.source == "1c-exchange"
    assert change.status == "accepted"
    assert change.details["changes"]["status"] == ["new", "accepted"]


def test_the_same_update_again_changes_nothing_and_adds_no_history(db_session: Session) -> None:
    add_order(db_session, "D-1")
    documents = [update("D-1", ("Проведен", "true"), ("Статус заказа", "Собран"))]
    apply_updates(db_session, documents, {})
    counts = apply_updates(db_session, documents, {})
    assert counts.as_dict() == {"updated": 0, "unchanged": 1, "unknown": 0}
    assert len(db_session.scalars(select(OrderStatusChange)).all()) == 1


def test_cancellation_deletion_and_unknown_orders(db_session: Session) -> None:
    cancelled = add_order(db_session, "E-1")
    deleted = add_order(db_session, "E-2")
    counts = apply_updates(
        db_session,
        [
            update("E-1", ("Отменен", "true")),
            update("E-2", deleted=True),
            update("NOT-OURS", ("Проведен", "true")),
        ],
        {},
    )
    assert counts.unknown == ["NOT-OURS"]
    db_session.refresh(cancelled)
    db_session.refresh(deleted)
    assert cancelled.status == "cancelled"
    assert deleted.is_deleted is True
    assert deleted.status == "new"


def test_number_and_date_from_2_09_elements(db_session: Session) -> None:
    order = add_order(db_session, "F-1")
    when = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
    apply_updates(db_session, [update("F-1", number_1c="ТДЦУ-000001", date_1c=when)], {})
    db_session.refresh(order)
    assert order.onec_number == "ТДЦУ-000001"
    assert order.onec_date is not None
    assert order.onec_date.replace(tzinfo=order.onec_date.tzinfo or UTC) == when


def test_a_document_reaches_the_order_its_id_names_not_one_whose_chosen_number_is_its_number(
    db_session: Session,
) -> None:
    chosen = add_order(db_session, "00001")  # a number a shop chose, equal to 1C's own numbering
    ours = add_order(db_session, "W00000002")
    pushed = add_order(db_session, "W00000003", onec_id="5f0c2b1e-0000-4000-8000-000000000003")
    paid = (("Заказ оплачен", "true"),)
    documents = [
        update("W00000002", *paid, number="00001"),
        update("5f0c2b1e-0000-4000-8000-000000000003", ("Отгружен", "true"), number="W00000002"),
    ]
    counts = apply_updates(db_session, documents, {})
    assert counts.updated == 2
    assert (chosen.paid, ours.paid, ours.shipped, pushed.shipped) == (False, True, False, True)
