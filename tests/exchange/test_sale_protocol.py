"""``type=sale`` through the app: query renders pending orders, success confirms, updates apply."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from config import Settings
from exchange_formats.commerceml import read_orders
from syncd.exchange.app import exchange_service
from syncd.exchange.emulator import updates_document
from syncd.store.models import ExchangeFile, ExchangeSession, Order, OrderLine, OrderStatusChange
from tests.exchange.conftest import OneC, text, with_exchange

MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
def sale_one_c(one_c: OneC) -> OneC:
    one_c.type = "sale"
    return one_c


def place(app: Flask, *numbers: str) -> None:
    with exchange_service(app).sessions() as db:
        for number in numbers:
            db.add(
                Order(
                    number=number,
                    customer={"name": "Ольга", "email": "olga@example.ru", "phone": "+7 900"},
                    delivery={"method": "Курьер", "price": "300", "address": "Москва, Тверская 1"},
                    total=Decimal("2300.00"),
                    lines=[
                        OrderLine(
                            line_no=1,
                            offer_onec_id="PROD-1#VAR-2",
                            product_onec_id="PROD-1",
                            name="Сапоги женские, 38",
                            quantity=Decimal(2),
                            price=Decimal("1000.00"),
                            total=Decimal("2000.00"),
                        )
                    ],
                )
            )
        db.commit()


def query(one_c: OneC) -> tuple[bytes, list[str]]:
    response = one_c.call("query")
    assert response.status_code == 200
    orders = list(read_orders(io.BytesIO(response.data), name="query.xml", tz=MSK))
    return response.data, [o.onec_id for o in orders]


def test_query_sends_new_orders_as_utf8_with_bom_with_lines_delivery_and_contractor(
    sale_one_c: OneC, app: Flask
) -> None:
    place(app, "W-1")
    sale_one_c.start()
    response = sale_one_c.call("query")
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf<?xml")
    [order] = read_orders(io.BytesIO(response.data), name="query.xml", tz=MSK)
    assert (order.onec_id, order.number, order.total) == ("W-1", "W-1", Decimal("2300.00"))
    assert order.lines is not None
    assert [(line.onec_id, line.quantity) for line in order.lines] == [
        ("PROD-1#VAR-2", Decimal(2)),
        ("ORDER_DELIVERY", Decimal(1)),
    ]
    assert order.contractors[0].name == "Ольга"


def test_query_in_windows_1251_when_configured(
    exchange_settings: Settings, make_app: object
) -> None:
    app = make_app(with_exchange(exchange_settings, query_encoding="windows-1251"))  # type: ignore[operator]
    place(app, "W-2")
    one_c = OneC(app.test_client(use_cookies=False), exchange_settings.exchange.path, type="sale")
    one_c.start()
    response = one_c.call("query")
    assert response.data.startswith(b'<?xml version="1.0" encoding="windows-1251"')
    assert "Сапоги".encode("cp1251") in response.data


def test_orders_repeat_until_success_and_success_confirms_only_that_exchange(
    sale_one_c: OneC, app: Flask
) -> None:
    place(app, "R-1", "R-2")
    sale_one_c.start()
    assert query(sale_one_c)[1] == ["R-1", "R-2"]
    sale_one_c.start()  # 1C lost the reply and starts over
    assert query(sale_one_c)[1] == ["R-1", "R-2"]
    assert text(sale_one_c.call("success")) == ["success", "2 order(s) confirmed"]
    sale_one_c.start()
    assert query(sale_one_c)[1] == []
    with exchange_service(app).sessions() as db:
        assert set(db.scalars(select(Order.export_state))) == {"exported"}
        statuses = db.scalars(select(ExchangeSession.status).order_by(ExchangeSession.id)).all()
    assert statuses[1] == "succeeded"


def test_an_empty_query_is_the_root_element_only(sale_one_c: OneC) -> None:
    sale_one_c.start()
    body, numbers = query(sale_one_c)
    assert numbers == []
    assert (
        b"<\xd0\x94\xd0\xbe\xd0\xba\xd1\x83\xd0\xbc\xd0\xb5\xd0\xbd\xd1\x82" not in body
    )  # <Документ


def test_old_protocol_applies_the_update_file_in_the_file_request(
    sale_one_c: OneC, app: Flask
) -> None:
    place(app, "U-1")
    sale_one_c.start()
    lines = text(
        sale_one_c.call("file", filename="C:\\v8_8789_c.xml", body=updates_document(["U-1"]))
    )
    assert lines[0] == "success"
    assert "updated 1" in lines[1]
    with exchange_service(app).sessions() as db:
        order = db.scalars(select(Order)).one()
        assert (order.onec_number, order.posted, order.status) == ("ЗК-000001", True, "[N] Принят")
        assert len(db.scalars(select(OrderStatusChange)).all()) == 1


def test_new_protocol_stores_the_file_and_imports_it_on_mode_import(
    sale_one_c: OneC, app: Flask
) -> None:
    place(app, "N-1")
    assert sale_one_c.start(version="2.10")[3] == "version=2.10"
    body = updates_document(["N-1"], status="Отгружен")
    assert text(sale_one_c.call("file", filename="documents___1.xml", body=body)) == ["success"]
    with exchange_service(app).sessions() as db:
        assert db.scalars(select(Order.status)).one() == "new"
    lines = text(sale_one_c.call("import", filename="documents___1.xml"))
    assert lines[0] == "success"
    with exchange_service(app).sessions() as db:
        assert db.scalars(select(Order.status)).one() == "Отгружен"


def test_a_malformed_update_file_fails_with_its_line_changes_no_order_and_is_kept(
    sale_one_c: OneC, app: Flask
) -> None:
    place(app, "X-1")
    sale_one_c.start()
    broken = updates_document(["X-1"]).replace("</Документ>".encode(), b"</Docum>")
    lines = text(sale_one_c.call("file", filename="v8_1.xml", body=broken))
    assert lines[0] == "failure"
    assert "line" in lines[1]
    with exchange_service(app).sessions() as db:
        order = db.scalars(select(Order)).one()
        assert (order.status, order.posted, order.onec_number) == ("new", False, None)
        row = db.scalars(select(ExchangeFile)).one()
        assert row.status == "failed"
        assert Path(row.stored_path).read_bytes() == broken
        assert db.scalars(select(ExchangeSession.status)).one() == "failed"


@pytest.mark.parametrize(("asked", "written"), [("2.04", "2.05"), ("2.10", "2.10"), ("3.5", "3.1")])
def test_query_is_written_in_the_version_1c_asked_for_when_the_writer_speaks_it(
    sale_one_c: OneC, app: Flask, asked: str, written: str
) -> None:
    place(app, f"V-{asked}")
    sale_one_c.start(version=asked)
    body = sale_one_c.call("query").data
    assert f'ВерсияСхемы="{written}"'.encode() in body


def test_order_line_changes_from_1c_replace_the_lines_and_total_with_their_history_entry(
    sale_one_c: OneC, app: Flask
) -> None:
    place(app, "L-1")  # one line: PROD-1#VAR-2 × 2 at 1000, delivery 300, total 2300
    sale_one_c.start()
    changed = updates_document(
        ["L-1"],
        lines={
            "L-1": [
                ("PROD-1#VAR-2", "Сапоги женские, 38", "3", "900.00"),  # quantity and price
                ("PROD-7", "Стельки", "1", "150.00"),  # a line added
                ("ORDER_DELIVERY", "Курьер", "1", "300.00"),  # the delivery, not a good
            ]
        },
    )
    lines = text(sale_one_c.call("file", filename="C:\\v8_1.xml", body=changed))
    assert lines[0] == "success", lines

    with exchange_service(app).sessions() as db:
        order = db.scalars(select(Order)).one()
        stored = [(x.line_no, x.offer_onec_id, x.quantity, x.price, x.total) for x in order.lines]
        assert stored == [
            (1, "PROD-1#VAR-2", Decimal(3), Decimal(900), Decimal(2700)),
            (2, "PROD-7", Decimal(1), Decimal(150), Decimal(150)),
        ]
        assert order.lines[1].product_onec_id == "PROD-7"
        assert order.total == Decimal("3150.00")  # goods 2850 + delivery 300
        (entry,) = db.scalars(select(OrderStatusChange)).all()
        assert "lines +1 -0 ~1" in (entry.note or "")
        assert entry.details["changes"]["total"] == ["2300.0000", "3150.0000"]

    # 1C drops the added line again: it is removed; the same document twice changes nothing.
    dropped = updates_document(
        ["L-1"], lines={"L-1": [("PROD-1#VAR-2", "Сапоги женские, 38", "3", "900.00")]}
    )
    for _ in range(2):
        sale_one_c.start()
        assert text(sale_one_c.call("file", filename="C:\\v8_2.xml", body=dropped))[0] == "success"
    with exchange_service(app).sessions() as db:
        order = db.scalars(select(Order)).one()
        assert [x.offer_onec_id for x in order.lines] == ["PROD-1#VAR-2"]
        assert order.total == Decimal("2700.00") + Decimal(300)
        notes = [row.note for row in db.scalars(select(OrderStatusChange))]
        assert len(notes) == 2
        assert "lines +0 -1 ~0" in (notes[1] or "")


def test_a_status_only_update_keeps_the_order_lines(sale_one_c: OneC, app: Flask) -> None:
    place(app, "K-1")
    sale_one_c.start()
    body = updates_document(["K-1"], status="Отгружен")
    assert text(sale_one_c.call("file", filename="C:\\v8_3.xml", body=body))[0] == "success"
    with exchange_service(app).sessions() as db:
        order = db.scalars(select(Order)).one()
        assert [(x.offer_onec_id, x.quantity) for x in order.lines] == [("PROD-1#VAR-2", 2)]
        assert order.total == Decimal("2300.00")
