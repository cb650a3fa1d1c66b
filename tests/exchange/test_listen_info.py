"""``type=listen`` (1C's long-poll for new orders), ``type=sale&mode=info`` (the reference book of
statuses, payment systems and delivery services) and the refusal of ``type=get_catalog``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from flask import Flask
from lxml import etree

from config import Settings
from syncd.exchange.app import exchange_service
from syncd.store.models import Order
from tests.exchange.conftest import OneC, basic, text, with_exchange


@pytest.fixture
def app(exchange_settings: Settings, make_app: Callable[[Settings], Flask]) -> Flask:
    settings = with_exchange(
        exchange_settings,
        listen_seconds=3.0,
        listen_max_waiting=1,
        status_map={"[N] Принят": "accepted", "Отгружен": "shipped"},
        payment_systems={"cash": "Наличные", "card": "Картой онлайн"},
        delivery_services={"courier": "Курьер"},
    )
    return make_app(settings)


def place(app: Flask, number: str, *, export_state: str = "new") -> None:
    with exchange_service(app).sessions() as db:
        db.add(Order(number=number, total=Decimal("100.00"), export_state=export_state))
        db.commit()


def listen(one_c: OneC) -> tuple[int, bytes]:
    response = one_c.client.get(
        one_c.path, query_string={"type": "listen"}, headers={"Authorization": basic()}
    )
    return response.status_code, response.data


def test_listen_answers_within_a_second_of_an_order_being_committed(
    one_c: OneC, app: Flask
) -> None:
    answered: dict[str, object] = {}

    def wait() -> None:
        answered["reply"] = listen(one_c)
        answered["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert "reply" not in answered  # nothing new yet: it waits
    place(app, "L-1")
    committed = time.monotonic()
    waiter.join(5)

    assert answered["reply"] == (200, "success\nnew orders\n".encode("windows-1251"))
    assert float(answered["at"]) - committed < 1.0  # type: ignore[arg-type]


def test_listen_times_out_cleanly_with_304_when_no_order_comes(one_c: OneC, app: Flask) -> None:
    place(app, "OLD-1", export_state="exported")  # already in 1C: not new
    place(app, "PENDING-1", export_state="pending")  # handed out, awaiting success: not new
    started = time.monotonic()
    status, body = listen(one_c)
    assert (status, body) == (304, b"")
    assert time.monotonic() - started >= 3.0


def test_listen_answers_at_once_when_a_new_order_already_waits(one_c: OneC, app: Flask) -> None:
    place(app, "W-1")
    started = time.monotonic()
    assert listen(one_c)[0] == 200
    assert time.monotonic() - started < 3.0


def test_listen_needs_credentials_and_refuses_wrong_ones(one_c: OneC) -> None:
    anonymous = one_c.client.get(one_c.path, query_string={"type": "listen"})
    assert anonymous.status_code == 401
    wrong = one_c.client.get(
        one_c.path,
        query_string={"type": "listen"},
        headers={"Authorization": basic(password="не тот")},
    )
    assert text(wrong)[0] == "failure"


def test_listen_beyond_the_waiting_limit_is_refused_at_once(one_c: OneC, app: Flask) -> None:
    first = threading.Thread(target=listen, args=(one_c,))
    first.start()
    time.sleep(0.3)
    started = time.monotonic()
    response = one_c.client.get(
        one_c.path, query_string={"type": "listen"}, headers={"Authorization": basic()}
    )
    lines = text(response)
    assert lines[0] == "failure"
    assert "already wait" in lines[1]
    assert time.monotonic() - started < 3.0  # not made to wait its turn
    place(app, "END-1")  # lets the first one go
    first.join(5)


def test_listen_with_the_cookie_of_a_sale_session_opens_no_session(one_c: OneC, app: Flask) -> None:
    one_c.type = "sale"
    one_c.start()
    place(app, "C-1")
    response = one_c.client.get(
        one_c.path,
        query_string={"type": "listen"},
        headers={"Cookie": f"onec_sync_exchange={one_c.cookie}"},
    )
    assert text(response)[0] == "success"
    from sqlalchemy import func, select

    from syncd.store.models import ExchangeSession

    with exchange_service(app).sessions() as db:
        assert db.scalar(select(func.count()).select_from(ExchangeSession)) == 1


def test_info_lists_statuses_payment_systems_and_delivery_services_as_bitrix_does(
    one_c: OneC, app: Flask
) -> None:
    place(app, "I-1")
    with exchange_service(app).sessions() as db:
        db.add(Order(number="I-2", total=Decimal(1), status="Собран"))
        db.commit()
    one_c.type = "sale"
    one_c.start()
    response = one_c.call("info")

    assert response.status_code == 200
    assert response.mimetype_params["charset"] == "windows-1251"
    assert response.data.startswith(b"<?xml version='1.0' encoding='windows-1251'?>")
    root = etree.fromstring(response.data)
    assert root.tag == "Справочник"
    assert [child.tag for child in root] == ["Cтатусы", "ПлатежныеСистемы", "СлужбыДоставки"]
    assert root[0].tag[0] == "C"  # Latin C, as in Bitrix: 1C looks for that spelling

    def entries(element: etree._Element) -> list[tuple[str | None, str | None]]:
        return [(e.findtext("Ид"), e.findtext("Название")) for e in element]

    statuses = [onec_id for onec_id, _name in entries(root[0])]
    assert statuses == ["new", "accepted", "shipped", "cancelled", "Собран"]
    assert entries(root[1]) == [("cash", "Наличные"), ("card", "Картой онлайн")]
    assert entries(root[2]) == [("courier", "Курьер")]


@pytest.mark.parametrize("mode", ["init", "query", "checkauth"])
def test_get_catalog_is_refused_with_its_reason(one_c: OneC, mode: str) -> None:
    one_c.type = "get_catalog"
    lines = text(one_c.call(mode, auth=basic()))
    assert lines[0] == "failure"
    assert "type=get_catalog is refused" in lines[1]
