"""A full package over HTTP is journaled like one given to the folder inbox or the CLI: a bad file
anywhere in it leaves the catalog exactly as it was, earlier files' rows put back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from config import Settings
from config.settings import ImportSettings
from syncd.exchange.app import exchange_service
from syncd.store.models import ExchangeSession, RunUndo, SyncRun
from tests.catalog_dump import dump
from tests.cml_builder import P, catalog, write_package
from tests.exchange.conftest import OneC, text

OLD, NEW = 30, 45


@pytest.fixture
def app(exchange_settings: Settings, make_app: Callable[[Settings], Flask]) -> Flask:
    # Small batches: the bad file's own first batches are committed before its error is read.
    return make_app(replace(exchange_settings, import_=ImportSettings(batch_size=5)))


@pytest.fixture
def engine(exchange_settings: Settings, make_db_engine: Callable[..., Engine]) -> Engine:
    return make_db_engine(exchange_settings.database.url)


def changed_catalog() -> list[P]:
    products = catalog(NEW)
    for p in products[:OLD]:
        p.name += " (новое имя)"
        p.prices = {pt: str(int(v) + 7) for pt, v in p.prices.items()}
        p.stock = {w: str(int(q) + 3) for w, q in p.stock.items()}
    products[3].deleted = True
    return products


def break_near_the_end(path: Path) -> None:
    text_ = path.read_text(encoding="utf-8")
    last = f"<Ид>P-{NEW - 2:05d}</Ид>"
    assert last in text_
    path.write_text(text_.replace(last, last[:-1], 1), encoding="utf-8")


def send(one_c: OneC, files: list[Path]) -> list[list[str]]:
    """A Bitrix-module session (one session for the package): each file uploaded and imported."""
    one_c.start(version="2.10")
    replies = []
    for path in files:
        assert text(one_c.call("file", filename=path.name, body=path.read_bytes()))[0] == "success"
        replies.append(poll(one_c, path.name))
        if replies[-1][0] != "success":
            break
    return replies


def poll(one_c: OneC, name: str, mode: str = "import") -> list[str]:
    deadline = time.monotonic() + 60
    while True:
        lines = text(one_c.call(mode, filename=name))
        if lines[0] != "progress" or time.monotonic() > deadline:
            return lines


def complete(one_c: OneC) -> list[str]:
    lines = text(one_c.call("complete"))
    while lines[0] == "progress":
        lines = text(one_c.call("complete"))
    return lines


def test_a_full_package_over_http_whose_second_file_is_bad_leaves_the_catalog_as_before(
    one_c: OneC, app: Flask, engine: Engine, tmp_path: Path
) -> None:
    first = write_package(tmp_path / "a", catalog(OLD))
    assert [r[0] for r in send(one_c, first)] == ["success", "success"]
    assert complete(one_c)[0] == "success"
    before = dump(engine)

    second = write_package(tmp_path / "b", changed_catalog())
    break_near_the_end(second[1])
    replies = send(one_c, second)

    assert [r[0] for r in replies] == ["success", "failure"]
    assert "offers.xml" in replies[1][1]
    assert dump(engine) == before
    with exchange_service(app).sessions() as db:
        runs = db.scalars(select(SyncRun).order_by(SyncRun.id)).all()
        assert [run.status for run in runs] == ["succeeded", "failed"]
        assert (runs[-1].counts or {}).get("updated", 0) > 0  # import.xml had written
        assert db.scalars(select(RunUndo)).all() == []
        session = db.scalars(select(ExchangeSession).order_by(ExchangeSession.id.desc())).first()
        assert session is not None
        assert session.status == "failed"
    assert complete(one_c)[0] == "failure"  # the package already ended, with its reason

    # The same package, fixed, lands whole.
    fixed = write_package(tmp_path / "c", changed_catalog())
    assert [r[0] for r in send(one_c, fixed)] == ["success", "success"]
    assert complete(one_c)[0] == "success"
    assert dump(engine) != before
