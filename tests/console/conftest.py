"""The console under test: a database with an admin and an operator, a folder exchange with a
failed package, the Flask test client, and a real browser (Debian's chromium + chromedriver,
headless) against the console served by waitress on loopback."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import ConsoleSettings, Secret, Settings
from console import create_app
from syncd.daemon import jobs
from syncd.exchange.server import make_server
from syncd.importer.pipeline import import_files
from syncd.store import models
from tests.cml_builder import catalog, write_package
from tests.daemon.conftest import backdate, drop_package, folder_settings

PASSWORD = "correct horse battery"
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)


@pytest.fixture
def settings(fresh_database_url: str, tmp_path: Path) -> Settings:
    base = folder_settings(fresh_database_url, tmp_path)
    return replace(base, console=ConsoleSettings(secret_key=Secret("k" * 48)))


@pytest.fixture
def db_engine(settings: Settings, make_db_engine: Callable[..., Engine]) -> Engine:
    engine = make_db_engine(settings.database.url)
    with Session(engine) as db:
        hasher = PasswordHasher()
        for name, role in (("alice", "admin"), ("oscar", "operator")):
            db.add(models.User(username=name, password_hash=hasher.hash(PASSWORD), role=role))
        db.commit()
    return engine


@pytest.fixture
def app(settings: Settings, db_engine: Engine) -> Flask:
    return create_app(settings, engine=db_engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: FlaskClient, username: str) -> None:
    token = csrf_token(client)
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)


def failed_package(settings: Settings, engine: Engine, name: str = "night-export") -> Path:
    """A package that the folder job refused (a broken offers.xml): it lies in failed/."""
    assert settings.folder.inbox is not None
    package = drop_package(settings.folder.inbox, name)
    offers = package / "offers.xml"
    offers.write_bytes(offers.read_bytes().replace(b"</\xd0\x9f\xd1\x80", b"</Broken", 1))
    backdate(package, 60)
    report = jobs.folder_scan(jobs.JobContext(settings=settings, engine=engine, actor="daemon"))
    assert report.outcome == "failed"
    assert settings.folder.failed_path is not None
    [kept] = [p for p in settings.folder.failed_path.iterdir() if p.is_dir()]
    return kept


def fix_package(package: Path) -> None:
    offers = package / "offers.xml"
    offers.write_bytes(offers.read_bytes().replace(b"</Broken", b"</\xd0\x9f\xd1\x80", 1))


def held_hide(settings: Settings, engine: Engine, tmp_path: Path, products: int = 100) -> str:
    """The run of a small "full" package imported after a big one: the guard holds its hiding
    of the products it does not mention (all but a tenth)."""
    import_files(engine, write_package(tmp_path / "all", catalog(products)), settings)
    few = write_package(tmp_path / "few", catalog(products)[: products // 10])
    result = import_files(engine, few, settings)
    assert result.held_hide is not None, result
    return result.run_uuid


def visible_products(engine: Engine) -> int:
    with Session(engine) as db:
        return len(
            db.scalars(select(models.Product.id).where(models.Product.is_deleted.is_(False))).all()
        )


def order_with_failed_push(engine: Engine, number: str = "S-1001") -> None:
    with Session(engine) as db:
        order = models.Order(number=number, total=Decimal("1500.00"), customer={}, delivery={})
        db.add(order)
        db.flush()
        db.add(
            models.OrderOutbox(
                order_id=order.id,
                state="failed",
                attempts=3,
                last_error="1C refused the document: the warehouse is closed",
            )
        )
        db.commit()


def outbox_state(engine: Engine, number: str = "S-1001") -> str:
    with Session(engine) as db:
        return db.execute(
            select(models.OrderOutbox.state)
            .join(models.Order, models.Order.id == models.OrderOutbox.order_id)
            .where(models.Order.number == number)
        ).scalar_one()


def audit_entries(engine: Engine, action_prefix: str = "console.") -> list[tuple[str, str]]:
    """(action, actor) of the audit entries whose action starts with ``action_prefix``."""
    with Session(engine) as db:
        rows = db.execute(
            select(models.AuditEntry.action, models.AuditEntry.actor).order_by(models.AuditEntry.id)
        ).all()
    return [(a, actor or "") for a, actor in rows if a.startswith(action_prefix)]


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture
def live_console(app: Flask) -> Iterator[str]:
    """The console served by waitress on a free loopback port, as ``console serve`` does."""
    server = make_server(app, "127.0.0.1:0", threads=4, max_body=64 * 1024)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    host, port = server.socket.getsockname()[:2]  # type: ignore[union-attr]
    yield f"http://{host}:{port}"
    server.close()
    server.task_dispatcher.shutdown()
    thread.join(5)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium through chromedriver, with a fresh profile of its own."""
    if not CHROMEDRIVER.exists():
        pytest.fail("/usr/bin/chromedriver is missing: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="onec-console-chrome-")
    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if Path("/usr/bin/chromium").exists():
        options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
