"""What an attacker tries next at the exchange's door: lockouts, sessions that outlive their end,
unbounded sessions, lost evidence, success for work not done, server paths in replies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from config import Settings
from syncd.exchange.app import exchange_service
from syncd.exchange.uploads import UploadLimits, receive_chunk
from syncd.importer.errors import UnsafeNameError
from syncd.store.models import ExchangeFile, ExchangeSession
from tests.exchange.conftest import OneC, basic, text, with_exchange
from tests.exchange.test_catalog_jobs import poll

CATALOG_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.05">'
    "<Каталог><Ид>c1</Ид><Наименование>Каталог</Наименование></Каталог>"
    "</КоммерческаяИнформация>"
).encode()
ORDERS_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.05">'
    "<Документ><Ид>o1</Ид><Номер>1</Номер></Документ></КоммерческаяИнформация>"
).encode()


def client_at(app: Flask, address: str) -> OneC:
    client = app.test_client(use_cookies=False)
    client.environ_base["REMOTE_ADDR"] = address
    return OneC(client, exchange_service(app).settings.path)


def session_row(app: Flask) -> ExchangeSession:
    with exchange_service(app).sessions() as db:
        return db.scalars(select(ExchangeSession).order_by(ExchangeSession.id.desc())).first()


# --- the login lockout ----------------------------------------------------------------------------


def test_guessing_other_logins_from_1cs_address_does_not_lock_out_1cs_login(app: Flask) -> None:
    attacker = client_at(app, "198.51.100.7")
    for n in range(8):
        text(attacker.call("checkauth", auth=basic(user=f"admin{n}", password="x")))
    assert client_at(app, "198.51.100.7").login()[0] == "success"


def test_failures_of_1cs_login_elsewhere_do_not_lock_out_1c(app: Flask) -> None:
    attacker = client_at(app, "203.0.113.66")
    for _ in range(8):
        text(attacker.call("checkauth", auth=basic(password="wrong")))
    assert client_at(app, "192.0.2.10").login()[0] == "success"


def test_1cs_allow_listed_address_is_never_locked_out(
    exchange_settings: Settings, make_app: Callable[[Settings], Flask]
) -> None:
    app = make_app(with_exchange(exchange_settings, login_allowlist=("192.0.2.0/24",)))
    one_c = client_at(app, "192.0.2.10")
    for _ in range(8):
        assert text(one_c.call("checkauth", auth=basic(password="wrong")))[1] == (
            "wrong login or password"
        )
    assert one_c.login()[0] == "success"


def test_a_concurrent_burst_of_wrong_passwords_is_checked_no_more_than_the_limit(
    app: Flask,
) -> None:
    replies: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        lines = text(client_at(app, "203.0.113.9").call("checkauth", auth=basic(password="x")))
        with lock:
            replies.append(lines[1])

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies.count("wrong login or password") == 5  # exchange.login_rate_limit
    assert sum("too many failed logins" in r for r in replies) == 11


# --- sessions that outlive their end ----------------------------------------------------------------


def test_a_failed_session_refuses_every_further_request(one_c: OneC, app: Flask) -> None:
    one_c.start()
    assert text(one_c.call("file", filename="../evil", body=b"x"))[0] == "failure"
    for mode, params in (("file", {"filename": "import.xml"}), ("import", {"filename": "a.xml"})):
        lines = text(one_c.call(mode, body=CATALOG_XML if mode == "file" else None, **params))
        assert lines[0] == "failure"
        assert "has failed" in lines[1]
    with exchange_service(app).sessions() as db:
        names = db.scalars(select(ExchangeFile.name)).all()
    assert all(name.startswith("/rejected/") for name in names)


def test_a_session_older_than_its_absolute_lifetime_is_refused_however_busy(
    one_c: OneC, app: Flask
) -> None:
    one_c.start()
    with exchange_service(app).sessions() as db:
        session = db.scalars(select(ExchangeSession)).one()
        session.created_at = session.created_at.replace(year=2000)
        db.commit()
    lines = text(one_c.call("file", filename="import.xml", body=b"<x/>"))
    assert lines[0] == "failure"
    assert "older than exchange.session_max_seconds" in lines[1]
    assert session_row(app).status == "expired"


@pytest.mark.parametrize(
    ("limits", "bodies", "reason"),
    [
        ({"session_max_files": 2}, [b"a", b"b", b"c"], "already holds 2 files"),
        ({"session_max_bytes": 100}, [b"a" * 60, b"b" * 60, b"c"], "session_max_bytes"),
    ],
)
def test_a_session_uploads_no_more_files_or_bytes_than_allowed(
    exchange_settings: Settings,
    make_app: Callable[[Settings], Flask],
    limits: dict[str, int],
    bodies: list[bytes],
    reason: str,
) -> None:
    app = make_app(with_exchange(exchange_settings, **limits))
    one_c = client_at(app, "192.0.2.10")
    one_c.start()
    replies = [
        text(one_c.call("file", filename=f"f{n}.xml", body=body)) for n, body in enumerate(bodies)
    ]
    assert replies[:2] == [["success"], ["success"]]
    assert replies[2][0] == "failure"
    assert reason in replies[2][1]
    assert session_row(app).status == "failed"


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_secure_when_configured(
    exchange_settings: Settings, make_app: Callable[[Settings], Flask], secure: bool
) -> None:
    app = make_app(with_exchange(exchange_settings, cookie_secure=secure))
    response = client_at(app, "192.0.2.10").call("checkauth", auth=basic())
    cookie = response.headers["Set-Cookie"]
    assert ("; Secure" in cookie) is secure


# --- write-once quarantine ----------------------------------------------------------------------------


def test_refused_uploads_are_kept_write_once_each_in_a_file_and_row_of_its_own(
    one_c: OneC, app: Flask, tmp_path: Path
) -> None:
    one_c.start()
    service = exchange_service(app)
    with service.sessions() as db:
        session = db.scalars(select(ExchangeSession)).one()
        for body in (b"first evidence", b"second evidence"):
            with pytest.raises(UnsafeNameError):
                receive_chunk(db, session, "../evil", _Body(body), UploadLimits(1000), tmp_path)
        db.commit()
        rows = db.scalars(select(ExchangeFile).order_by(ExchangeFile.id)).all()
    assert [row.status for row in rows] == ["rejected", "rejected"]
    assert [Path(row.stored_path).read_bytes() for row in rows] == [
        b"first evidence",
        b"second evidence",
    ]
    assert rows[0].stored_path != rows[1].stored_path


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        piece, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return piece


# --- success for work not done ------------------------------------------------------------------------


def test_a_catalog_sent_with_type_sale_is_a_failure_with_the_reason(one_c: OneC) -> None:
    one_c.type = "sale"
    one_c.start()
    lines = text(one_c.call("file", filename="import.xml", body=CATALOG_XML))
    assert lines[0] == "failure"
    assert "a document of catalog sent with type=sale" in lines[1]


def test_an_orders_file_sent_with_type_catalog_is_a_failure_with_the_reason(one_c: OneC) -> None:
    one_c.start()
    assert text(one_c.call("file", filename="orders.xml", body=ORDERS_XML)) == ["success"]
    lines = poll(one_c, "orders.xml")
    assert lines[0] == "failure"
    assert "a document of orders sent with type=catalog" in lines[1]


# --- information disclosure ------------------------------------------------------------------------


def test_replies_name_no_server_paths(one_c: OneC, exchange_settings: Settings, app: Flask) -> None:
    one_c.start()
    text(one_c.call("file", filename="import.xml", body=b"a" * 600_000))
    lines = text(one_c.call("file", filename="import.xml", body=b"b" * 600_000))
    assert lines[0] == "failure"
    assert str(exchange_settings.paths.data_dir) not in "\n".join(lines)
    assert "/" not in lines[1].replace("exchange.max_upload_bytes", "")


def test_an_overlong_file_name_is_refused_with_the_reason_not_an_internal_error(
    one_c: OneC,
) -> None:
    one_c.start()
    lines = text(one_c.call("file", filename="я" * 300 + ".xml", body=b"<x/>"))
    assert lines[0] == "failure"
    assert "longer than 255 bytes" in lines[1]
    assert "internal error" not in lines[1]


@pytest.mark.parametrize("path", ["/", "/admin", "/health/../etc/passwd", "/1c_exchange/x"])
def test_paths_other_than_the_exchange_are_404(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 404
    assert b"failure" not in response.data
