"""The protocol surface through the Flask app: auth, sessions, init, uploads, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from config import Settings
from syncd.exchange.app import exchange_service
from syncd.store.models import ExchangeFile, ExchangeSession
from tests.exchange.conftest import OneC, basic, text, with_exchange


def test_without_any_credentials_the_answer_is_401_with_a_basic_challenge(one_c: OneC) -> None:
    response = one_c.call("checkauth")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="1c"')
    assert response.data.startswith(b"failure\n")


def test_checkauth_answers_success_cookie_name_token_sessid_and_timestamp(one_c: OneC) -> None:
    response = one_c.call("checkauth", auth=basic())
    assert response.headers["Content-Type"] == "text/plain; charset=windows-1251"
    lines = text(response)
    assert lines[0] == "success"
    assert lines[1] == "onec_sync_exchange"
    assert len(lines[2]) >= 32
    assert lines[3].startswith("sessid=")
    assert lines[4].startswith("timestamp=")
    assert int(lines[4].removeprefix("timestamp=")) > 1_600_000_000


def test_a_wrong_password_is_a_failure_with_http_200_and_a_reason_in_cp1251(one_c: OneC) -> None:
    response = one_c.call("checkauth", auth=basic(password="неверный"))
    lines = text(response)
    assert lines == ["failure", "wrong login or password"]


def test_failed_logins_are_rate_limited_per_address_even_for_the_right_password(
    one_c: OneC,
) -> None:
    for _ in range(5):
        assert text(one_c.call("checkauth", auth=basic(password="x")))[0] == "failure"
    lines = text(one_c.call("checkauth", auth=basic()))
    assert lines[0] == "failure"
    assert "too many failed logins" in lines[1]


def test_init_offers_zip_and_the_file_limit_and_negotiates_a_version(one_c: OneC) -> None:
    assert one_c.start() == ["zip=yes", "file_limit=65536"]
    lines = one_c.start(version="2.10")
    assert lines[:2] == ["zip=yes", "file_limit=65536"]
    assert lines[2].startswith("sessid=")
    assert lines[3] == "version=2.10"
    assert one_c.start(version="3.5")[3] == "version=3.1"


def test_requests_after_checkauth_need_only_the_cookie(one_c: OneC) -> None:
    one_c.start()
    assert text(one_c.call("file", filename="import.xml", body=b"<x/>")) == ["success"]


def test_an_unknown_cookie_without_basic_is_refused_but_basic_alone_opens_a_session(
    one_c: OneC,
) -> None:
    lines = text(one_c.call("init", cookie="forged-token"))
    assert lines[0] == "failure"
    assert "expired or is unknown" in lines[1]
    assert text(one_c.call("init", cookie="", auth=basic()))[0] == "zip=yes"


def test_an_idle_session_expires(one_c: OneC, app: Flask) -> None:
    one_c.start()
    service = exchange_service(app)
    with service.sessions() as db:
        session = db.scalars(select(ExchangeSession)).one()
        session.last_seen_at = session.last_seen_at.replace(year=2000)
        db.commit()
    lines = text(one_c.call("file", filename="import.xml", body=b"<x/>"))
    assert lines[0] == "failure"
    assert "expired" in lines[1]
    with service.sessions() as db:
        assert db.scalars(select(ExchangeSession.status)).one() == "expired"


@pytest.mark.parametrize(
    ("type_", "mode", "reason"),
    [
        ("catalog", "upload", "unknown mode 'upload' for type=catalog"),
        ("catalog", "query", "unknown mode 'query' for type=catalog"),
        ("sale", "deactivate", "unknown mode 'deactivate' for type=sale"),
        ("reference", "init", "unknown exchange type 'reference'"),
    ],
)
def test_unknown_commands_get_failure_with_the_reason(
    one_c: OneC, type_: str, mode: str, reason: str
) -> None:
    one_c.type = type_
    lines = text(one_c.call(mode, auth=basic()))
    assert lines[0] == "failure"
    assert reason in lines[1]


def test_chunks_of_one_file_are_appended_in_order(one_c: OneC, app: Flask) -> None:
    one_c.start()
    for chunk in (b"<a>", b"middle", b"</a>"):
        assert text(one_c.call("file", filename="import0_1.xml", body=chunk)) == ["success"]
    with exchange_service(app).sessions() as db:
        row = db.scalars(select(ExchangeFile)).one()
        assert (row.name, row.size, row.chunks, row.status) == ("import0_1.xml", 13, 3, "uploading")
        assert Path(row.stored_path).read_bytes() == b"<a>middle</a>"


def test_two_sessions_uploading_the_same_name_at_once_never_mix(
    one_c: OneC, other_one_c: OneC, app: Flask
) -> None:
    one_c.start()
    other_one_c.start()
    for index in range(3):
        one_c.call("file", filename="import.xml", body=f"first-{index};".encode())
        other_one_c.call("file", filename="import.xml", body=f"second-{index};".encode())
    with exchange_service(app).sessions() as db:
        stored = sorted(Path(p).read_bytes() for p in db.scalars(select(ExchangeFile.stored_path)))
    assert stored == [b"first-0;first-1;first-2;", b"second-0;second-1;second-2;"]


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("../import.xml", "'..'"),
        ("/etc/cron.d/job", "absolute path"),
        ("C:\\Windows\\System32\\x.xml", "absolute Windows path"),
        ("import_files/x.php", "script extension"),
    ],
)
def test_a_refused_file_name_fails_and_its_body_is_kept_in_quarantine(
    one_c: OneC, app: Flask, exchange_settings: Settings, filename: str, reason: str
) -> None:
    one_c.start()
    lines = text(one_c.call("file", filename=filename, body=b"payload to inspect"))
    assert lines[0] == "failure"
    assert reason in lines[1]
    with exchange_service(app).sessions() as db:
        row = db.scalars(select(ExchangeFile)).one()
    assert row.status == "rejected"
    assert Path(row.stored_path).read_bytes() == b"payload to inspect"
    assert Path(row.stored_path).is_relative_to(exchange_settings.paths.quarantine_dir)
    assert not (exchange_settings.paths.data_dir / "etc").exists()


def test_an_upload_over_the_size_limit_fails_and_keeps_what_fitted(
    one_c: OneC, app: Flask, exchange_settings: Settings, make_app: object
) -> None:
    one_c.start()
    assert text(one_c.call("file", filename="import.xml", body=b"a" * 600_000)) == ["success"]
    lines = text(one_c.call("file", filename="import.xml", body=b"b" * 600_000))
    assert lines[0] == "failure"
    assert "larger than exchange.max_upload_bytes" in lines[1]
    with exchange_service(app).sessions() as db:
        row = db.scalars(select(ExchangeFile)).one()
    assert row.status == "failed"
    assert row.size == 1024 * 1024
    assert Path(row.stored_path).read_bytes() == b"a" * 600_000 + b"b" * (1024 * 1024 - 600_000)


def test_replies_in_utf8_when_configured(exchange_settings: Settings, make_app: object) -> None:
    settings = with_exchange(exchange_settings, reply_encoding="utf-8")
    app = make_app(settings)  # type: ignore[operator]
    one_c = OneC(app.test_client(use_cookies=False), settings.exchange.path)
    response = one_c.call("checkauth", auth=basic(password="не тот"))
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data.startswith(b"failure\n")
