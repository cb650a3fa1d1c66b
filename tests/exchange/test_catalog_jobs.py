"""Catalog imports in the workers: polling, resume after a restart, finishing idle sessions."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from bench.gen_package import Package, PackageSpec, generate_package
from config import Settings
from syncd.exchange.app import exchange_service
from syncd.exchange.pipeline_backend import PipelineBackend
from syncd.store.models import AuditEntry, ExchangeFile, ExchangeSession, MediaFile, Product
from tests.exchange.conftest import OneC, text


@pytest.fixture
def package(tmp_path: Path) -> Package:
    return generate_package(tmp_path / "pkg", PackageSpec(products=25))


def poll(one_c: OneC, name: str, *, limit: float = 60) -> list[str]:
    deadline = time.monotonic() + limit
    while True:
        lines = text(one_c.call("import", filename=name))
        if lines[0] != "progress" or time.monotonic() > deadline:
            return lines


def products(app: Flask) -> int:
    with exchange_service(app).sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Product)) or 0)


def test_a_zip_split_in_chunks_is_unpacked_at_the_first_import_and_imported(
    one_c: OneC, app: Flask, package: Package
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(package.files[0], "import.xml")
        archive.writestr("import_files/ab/ab01.jpg", b"\xff\xd8 an image")
    data = buffer.getvalue()
    one_c.start()
    for start in range(0, len(data), 1000):
        assert text(one_c.call("file", filename="v8_1065_3a.zip", body=data[start : start + 1000]))
    lines = poll(one_c, "import.xml")
    assert lines[0] == "success", lines
    assert "inserted" in lines[1]
    assert products(app) == package.products
    with exchange_service(app).sessions() as db:
        assert db.scalars(select(MediaFile.path)).all() == ["import_files/ab/ab01.jpg"]
        session = db.scalars(select(ExchangeSession)).one()
        assert session.status == "succeeded"  # the standard client's last document: finished
    assert text(one_c.call("import", filename="import.xml"))[0] == "success"  # asked again


def test_the_last_document_is_success_only_once_the_package_is_finished(
    one_c: OneC, app: Flask, package: Package, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For the standard client the last document's import also finishes the package (hiding,
    closing the session). The file is marked imported first: a poll arriving in between must
    still wait for the finish, not answer success for a package that is not done."""
    finish = PipelineBackend.finish

    def slow_finish(self: PipelineBackend, run_uuid: str, *, hide: bool) -> object:
        time.sleep(1.5)  # three of the tests' 0.5 s polling budgets
        return finish(self, run_uuid, hide=hide)

    monkeypatch.setattr(PipelineBackend, "finish", slow_finish)
    one_c.start()
    assert text(one_c.call("file", filename="import.xml", body=package.files[0].read_bytes()))
    lines = poll(one_c, "import.xml")
    assert lines[0] == "success", lines
    with exchange_service(app).sessions() as db:
        assert db.scalars(select(ExchangeSession.status)).one() == "succeeded"


def test_the_same_documents_again_are_audited_unchanged(
    one_c: OneC, app: Flask, package: Package
) -> None:
    for _ in range(2):
        for path in package.files:
            one_c.start()
            one_c.call("file", filename=path.name, body=path.read_bytes())
            assert poll(one_c, path.name)[0] == "success"
    with exchange_service(app).sessions() as db:
        outcomes = db.scalars(
            select(AuditEntry.outcome)
            .where(AuditEntry.action == "exchange.catalog")
            .order_by(AuditEntry.id)
        ).all()
    assert outcomes == ["succeeded", "succeeded", "unchanged", "unchanged"]


def test_an_import_left_running_by_a_stopped_daemon_resumes_when_it_starts_again(
    one_c: OneC,
    app: Flask,
    package: Package,
    exchange_settings: Settings,
    make_app: Callable[[Settings], Flask],
) -> None:
    one_c.start()
    one_c.call("file", filename="import.xml", body=package.files[0].read_bytes())
    service = exchange_service(app)
    with service.sessions() as db:
        row = db.scalars(select(ExchangeFile)).one()
        row.status = "importing"  # the daemon died here
        db.commit()
    service.close()

    restarted = make_app(exchange_settings)
    keys = exchange_service(restarted).resume()
    assert [name for _, name in keys] == ["import.xml"]
    job = exchange_service(restarted).runner.get(keys[0])
    assert job is not None
    outcome = job.wait(60)
    assert outcome is not None
    assert outcome.ok, outcome.message
    assert products(restarted) == package.products
    one_c.client = restarted.test_client(use_cookies=False)
    assert text(one_c.call("import", filename="import.xml"))[0] == "success"


def test_importing_a_file_never_uploaded_fails_with_the_reason(one_c: OneC) -> None:
    one_c.start()
    lines = poll(one_c, "offers0_1.xml")
    assert lines == ["failure", "offers0_1.xml was not uploaded"]


def test_an_abandoned_session_is_finished_when_it_expires(
    one_c: OneC, app: Flask, package: Package
) -> None:
    one_c.start(version="2.10")  # a Bitrix-module client: it would say complete
    one_c.call("file", filename="import.xml", body=package.files[0].read_bytes())
    assert poll(one_c, "import.xml")[0] == "success"
    service = exchange_service(app)
    with service.sessions() as db:
        session = db.scalars(select(ExchangeSession)).one()
        assert session.status == "open"
        session.last_seen_at = session.last_seen_at.replace(year=2000)
        db.commit()
    assert service.sweep() == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with service.sessions() as db:
            if db.scalars(select(ExchangeSession.status)).one() != "open":
                break
        time.sleep(0.1)
    with service.sessions() as db:
        assert db.scalars(select(ExchangeSession.status)).one() == "succeeded"
        assert db.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "exchange.catalog")
        ).all()


def visible_products(app: Flask) -> int:
    with exchange_service(app).sessions() as db:
        return int(
            db.scalar(
                select(func.count()).select_from(Product).where(Product.is_deleted.is_(False))
            )
            or 0
        )


def test_a_full_package_hides_the_unmentioned_only_when_its_session_was_clean(
    one_c: OneC, app: Flask, tmp_path: Path
) -> None:
    first = generate_package(tmp_path / "a", PackageSpec(products=10, seed=1))
    second = generate_package(tmp_path / "b", PackageSpec(products=7, seed=2))
    one_c.start()
    one_c.call("file", filename="import.xml", body=first.files[0].read_bytes())
    assert poll(one_c, "import.xml")[0] == "success"
    assert visible_products(app) == 10

    # A Bitrix-module session sends a full catalog, then an upload we refuse: nothing is hidden
    # and what the package wrote is put back (its seven new products are gone again).
    one_c.start(version="2.10")
    one_c.call("file", filename="import.xml", body=second.files[0].read_bytes())
    assert poll(one_c, "import.xml")[0] == "success"
    assert text(one_c.call("file", filename="../evil.xml", body=b"x"))[0] == "failure"
    assert text(one_c.call("complete"))[0] == "failure"
    runs = _wait_runs_finished(app)
    assert runs[-1] == "failed"
    assert visible_products(app) == 10
    assert products(app) == 10

    # The same full catalog in a clean session hides the ten it does not mention.
    one_c.start(version="2.10")
    one_c.call("file", filename="import.xml", body=second.files[0].read_bytes())
    assert poll(one_c, "import.xml")[0] == "success"
    lines = text(one_c.call("complete"))
    while lines[0] == "progress":
        lines = text(one_c.call("complete"))
    assert lines[0] == "success", lines
    assert "hidden 10" in lines[1]
    assert visible_products(app) == 7


def _wait_runs_finished(app: Flask) -> list[str]:
    from syncd.store.models import SyncRun

    deadline = time.monotonic() + 30
    while True:
        with exchange_service(app).sessions() as db:
            statuses = list(db.scalars(select(SyncRun.status).order_by(SyncRun.id)))
        if "running" not in statuses or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)
