"""A status update from 1C (``type=sale``) logs one ``order`` event per changed order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from config import Settings
from config.settings import ChangesSettings
from syncd.exchange.app import exchange_service
from syncd.exchange.emulator import updates_document
from syncd.store.models import ChangeEvent
from tests.exchange.conftest import OneC, text
from tests.exchange.test_sale_protocol import place


def order_events(app: Flask) -> list[tuple[str, str, str, dict[str, object] | None]]:
    with exchange_service(app).sessions() as db:
        rows = db.scalars(select(ChangeEvent).order_by(ChangeEvent.position)).all()
        return [(e.kind, e.resource_id, e.action, e.data) for e in rows]


def test_a_1c_status_update_logs_each_changed_order_once_in_order(one_c: OneC, app: Flask) -> None:
    one_c.type = "sale"
    place(app, "E-1", "E-2")
    one_c.start()
    body = updates_document(["E-1", "E-2"], status="Отгружен")
    assert text(one_c.call("file", filename="v8_1.xml", body=body))[0] == "success"
    found = order_events(app)
    assert [(k, i, a) for k, i, a, _ in found] == [
        ("order", "E-1", "status"),
        ("order", "E-2", "status"),
    ]
    data = found[0][3]
    assert data is not None
    assert data["status"] == "Отгружен"
    assert data["changes"]["status"] == "Отгружен"  # type: ignore[index]


def test_a_malformed_update_file_logs_no_event(one_c: OneC, app: Flask) -> None:
    one_c.type = "sale"
    place(app, "F-1")
    one_c.start()
    broken = updates_document(["F-1"]).replace("</Документ>".encode(), b"</Docum>")
    assert text(one_c.call("file", filename="v8_1.xml", body=broken))[0] == "failure"
    assert order_events(app) == []


def test_with_the_change_log_off_a_1c_status_update_logs_no_event(
    exchange_settings: Settings, make_app: Callable[[Settings], Flask]
) -> None:
    off = dataclasses.replace(exchange_settings, changes=ChangesSettings(enabled=False))
    quiet = make_app(off)
    one_c = OneC(quiet.test_client(use_cookies=False), exchange_service(quiet).settings.path)
    one_c.type = "sale"
    place(quiet, "G-1")
    one_c.start()
    body = updates_document(["G-1"], status="Отгружен")
    assert text(one_c.call("file", filename="v8_1.xml", body=body))[0] == "success"
    assert order_events(quiet) == []
