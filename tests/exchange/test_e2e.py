"""End to end through real HTTP: ``onec-sync exchange serve`` as a process, the emulator as 1C.

The bar of issue 5, at test size (the 100,000-product run is ``bench/exchange.py``): a package
zipped and chunked lands whole; the same exchange again changes nothing and the audit says so;
two 1C sessions at once never mix their files; orders go to 1C until confirmed and come back
with 1C's number and status; every bad input gets ``failure`` with a reason, changes nothing in
the catalog and keeps what was uploaded.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bench.gen_package import Package, PackageSpec, generate_package
from syncd.exchange.emulator import ExchangeClient, Options, Report, emulate, updates_document
from syncd.store.models import (
    AuditEntry,
    ExchangeFile,
    ExchangeSession,
    MediaFile,
    Offer,
    Order,
    OrderLine,
    OrderStatusChange,
    Price,
    Product,
    Stock,
)
from tests.exchange.conftest import LOGIN, PASSWORD, PASSWORD_HASH
from tests.exchange.serverproc import ServerProcess, start_server, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CHUNK = 4 * 1024


@pytest.fixture
def engine(fresh_pg_url: str, make_db_engine: Callable[..., Engine]) -> Engine:
    return make_db_engine(fresh_pg_url)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def start(
    tmp_path: Path, fresh_pg_url: str, data_dir: Path
) -> Iterator[Callable[..., ServerProcess]]:
    servers: list[ServerProcess] = []

    def make(**exchange: object) -> ServerProcess:
        settings: dict[str, object] = {
            "username": LOGIN,
            "password_hash": PASSWORD_HASH,
            "file_limit": 64 * 1024,
            "import_wait_seconds": 0.5,
            **exchange,
        }
        config = write_config(
            tmp_path / f"server{len(servers)}.toml",
            database_url=fresh_pg_url,
            data_dir=data_dir,
            exchange=settings,
        )
        server = start_server(config)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(start: Callable[..., ServerProcess]) -> ServerProcess:
    return start()


def make_package(folder: Path, *, products: int = 120, seed: int = 1, images: int = 3) -> Package:
    package = generate_package(folder, PackageSpec(products=products, seed=seed))
    import_xml = package.files[0].read_text(encoding="utf-8-sig")
    for path in sorted(set(_image_paths(import_xml)))[:images]:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\xff\xd8\xff" + hashlib.sha256(path.encode()).digest() * 40)
    return package


def _image_paths(xml: str) -> Iterator[str]:
    for chunk in xml.split("<Картинка>")[1:]:
        yield chunk.split("</Картинка>", 1)[0]


def options(server: ServerProcess, **changes: Any) -> Options:
    return Options(url=server.url, user=LOGIN, password=PASSWORD, **changes)


def quiet(_: str) -> None:
    return None


def count(engine: Engine, model: type[Any], *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def catalog_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every catalog row as it matters to the shop, to compare before and after."""
    with engine.connect() as conn:
        return {
            "products": list(conn.execute(select(Product.onec_id, Product.content_hash, Product.is_deleted, Product.updated_at).order_by(Product.onec_id))),
            "offers": list(conn.execute(select(Offer.onec_id, Offer.content_hash, Offer.is_deleted, Offer.updated_at).order_by(Offer.onec_id))),
            "prices": list(conn.execute(select(Price.offer_onec_id, Price.price_type_onec_id, Price.value, Price.updated_at).order_by(Price.offer_onec_id, Price.price_type_onec_id))),
            "stock": list(conn.execute(select(Stock.offer_onec_id, Stock.warehouse_onec_id, Stock.quantity, Stock.updated_at).order_by(Stock.offer_onec_id, Stock.warehouse_onec_id))),
        }  # fmt: skip


def audits(engine: Engine, action: str = "exchange.catalog") -> list[AuditEntry]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


# --- a package, whole, then again ----------------------------------------------------------


def test_a_zipped_chunked_package_lands_whole_and_the_same_exchange_again_changes_nothing(
    server: ServerProcess, engine: Engine, tmp_path: Path, data_dir: Path
) -> None:
    package = make_package(tmp_path / "pkg")
    report = emulate(
        options(server, zip=True, chunk_size=CHUNK), [tmp_path / "pkg"], say=quiet, sale=False
    )
    assert report.ok, report.failures
    zips = Counter(r.filename for r in report.requests if r.mode == "file")
    assert all(name and name.endswith(".zip") for name in zips)
    assert min(zips.values()) >= 2  # each archive really went in several chunks
    assert count(engine, Product) == package.products
    assert count(engine, Offer) == package.offers
    assert count(engine, Price) == package.prices
    assert count(engine, Stock, Stock.warehouse_onec_id != "") == package.stock_rows
    assert count(engine, MediaFile) == 3
    first = audits(engine)
    assert [a.outcome for a in first] == ["succeeded", "succeeded"]
    assert first[0].details["files"][0]["name"].endswith(".zip")
    before = catalog_state(engine)
    media_before = sorted(p for p in (data_dir / "media").rglob("*") if p.is_file())

    again = emulate(
        options(server, zip=True, chunk_size=CHUNK), [tmp_path / "pkg"], say=quiet, sale=False
    )
    assert again.ok, again.failures
    assert catalog_state(engine) == before
    assert [a.outcome for a in audits(engine)[2:]] == ["unchanged", "unchanged"]
    assert sorted(p for p in (data_dir / "media").rglob("*") if p.is_file()) == media_before


def test_without_zip_images_and_documents_arrive_one_by_one_and_import_the_same(
    server: ServerProcess, engine: Engine, tmp_path: Path
) -> None:
    package = make_package(tmp_path / "pkg", products=40)
    report = emulate(options(server, chunk_size=CHUNK), [tmp_path / "pkg"], say=quiet, sale=False)
    assert report.ok, report.failures
    assert any(r.filename and r.filename.startswith("import_files/") for r in report.requests)
    assert count(engine, Product) == package.products
    assert count(engine, MediaFile) == 3


def test_the_bitrix_module_flow_finishes_the_package_on_complete(
    server: ServerProcess, engine: Engine, tmp_path: Path
) -> None:
    package = make_package(tmp_path / "pkg", products=30)
    report = emulate(
        options(server, zip=True, protocol_version="2.10"),
        [tmp_path / "pkg"],
        say=quiet,
        sale=False,
    )
    assert report.ok, report.failures
    assert [r.mode for r in report.requests][-2:] == ["deactivate", "complete"]
    assert count(engine, Product) == package.products
    [entry] = audits(engine)
    assert entry.outcome == "succeeded"
    documents = [f["name"] for f in entry.details["files"] if f["kind"] == "xml"]
    assert documents == ["import.xml", "offers.xml"]


def test_two_sessions_uploading_at_once_never_mix_their_files(
    server: ServerProcess, engine: Engine, tmp_path: Path
) -> None:
    packages = [
        make_package(tmp_path / f"pkg{i}", products=80, seed=i + 10, images=0) for i in range(2)
    ]
    reports: list[Report] = []

    def run(index: int) -> None:
        reports.append(
            emulate(
                options(server, zip=True, chunk_size=8 * 1024),
                [tmp_path / f"pkg{index}"],
                say=quiet,
                sale=False,
            )
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert [r.ok for r in reports] == [True, True], [r.failures for r in reports]
    assert count(engine, Product) == sum(p.products for p in packages)
    expected = {hashlib.sha256(f.read_bytes()).hexdigest() for p in packages for f in p.files}
    with engine.connect() as conn:
        imported = set(conn.scalars(select(ExchangeFile.sha256).where(ExchangeFile.kind == "xml")))
    assert imported == expected


# --- orders ----------------------------------------------------------------------------------


def place_orders(engine: Engine, numbers: list[str]) -> None:
    from sqlalchemy.orm import Session

    with Session(engine) as db:
        for number in numbers:
            db.add(
                Order(
                    number=number,
                    customer={"name": "Анна Иванова", "email": f"{number}@example.ru"},
                    total=Decimal("1500.00"),
                    created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
                    lines=[
                        OrderLine(
                            line_no=1,
                            offer_onec_id="P-1#V-1",
                            product_onec_id="P-1",
                            name="Сапоги женские",
                            quantity=Decimal(1),
                            price=Decimal("1500.00"),
                            total=Decimal("1500.00"),
                        )
                    ],
                )
            )
        db.commit()


def sale_query(server: ServerProcess) -> tuple[ExchangeClient, list[str]]:
    client = ExchangeClient(options(server))
    assert client.checkauth("sale").status == "success"
    client.init("sale")
    reply = client.request("sale", "query")
    assert reply.status_code == 200
    from zoneinfo import ZoneInfo

    from exchange_formats.commerceml import read_orders

    orders = list(
        read_orders(io.BytesIO(reply.body), name="query.xml", tz=ZoneInfo("Europe/Moscow"))
    )
    return client, [o.onec_id for o in orders]


def test_orders_are_sent_until_1c_confirms_them_and_its_updates_come_back_into_history(
    start: Callable[..., ServerProcess], engine: Engine
) -> None:
    server = start()
    place_orders(engine, ["S-1", "S-2"])
    client, sent = sale_query(server)
    assert sent == ["S-1", "S-2"]
    client.close()  # no success: 1C lost the reply

    client, sent = sale_query(server)
    assert sent == ["S-1", "S-2"]
    assert client.request("sale", "success").status == "success"
    client.close()
    with engine.connect() as conn:
        assert set(conn.scalars(select(Order.export_state))) == {"exported"}

    client, sent = sale_query(server)
    assert sent == []
    reply = client.upload("sale", "v8_1A2B_1.xml", updates_document(["S-1"], status="[N] Принят"))[
        -1
    ]
    assert reply.status == "success", reply.text
    client.close()
    with engine.connect() as conn:
        order = conn.execute(select(Order).where(Order.number == "S-1")).one()
        history = conn.execute(
            select(OrderStatusChange).where(OrderStatusChange.order_id == order.id)
        ).all()
    assert order.onec_number == "ЗК-000001"
    assert order.posted is True
    assert order.status == "[N] Принят"
    assert [h.source for h in history] == ["1c-exchange"]


def test_order_statuses_map_through_configuration_and_a_new_protocol_client_imports(
    start: Callable[..., ServerProcess], engine: Engine, tmp_path: Path
) -> None:
    server = start()
    config = server.config.read_text(encoding="utf-8")
    server.stop()
    server.config.write_text(
        config + '[exchange.status_map]\n"[N] Принят" = "accepted"\n', encoding="utf-8"
    )
    server = start_server(server.config)
    try:
        place_orders(engine, ["M-1"])
        report = emulate(options(server, protocol_version="2.10"), [], say=quiet)
        assert report.ok, report.failures
        assert report.orders_received == ["M-1"]
        assert [r.mode for r in report.requests if r.type == "sale"][-2:] == ["file", "import"]
        with engine.connect() as conn:
            assert conn.scalar(select(Order.status).where(Order.number == "M-1")) == "accepted"
        again = emulate(options(server, protocol_version="2.10"), [], say=quiet)
        assert again.orders_received == []
    finally:
        server.stop()


# --- bad input -------------------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload_then_import(client: ExchangeClient, name: str, data: bytes, document: str) -> list[str]:
    client.checkauth("catalog")
    client.init("catalog")
    reply = client.upload("catalog", name, data)[-1]
    if reply.status != "success":
        return reply.lines
    return client.import_until_done("catalog", document)[0].lines


def wrong_password(client: ExchangeClient, package: Path) -> list[str]:
    client.options = Options(url=client.options.url, user=LOGIN, password="не тот")
    return client.checkauth("catalog").lines


def unknown_mode(client: ExchangeClient, package: Path) -> list[str]:
    client.checkauth("catalog")
    return client.request("catalog", "explode").lines


def named(filename: str) -> Callable[[ExchangeClient, Path], list[str]]:
    def upload(client: ExchangeClient, package: Path) -> list[str]:
        client.checkauth("catalog")
        client.init("catalog")
        return client.upload("catalog", filename, (package / "import.xml").read_bytes())[-1].lines

    return upload


def zip_slip(client: ExchangeClient, package: Path) -> list[str]:
    members = {"import.xml": (package / "import.xml").read_bytes(), "../x.xml": b"<x/>"}
    return upload_then_import(client, "v8_AAAA_1.zip", zip_bytes(members), "import.xml")


def zip_bomb(client: ExchangeClient, package: Path) -> list[str]:
    members = {"import.xml": b" " * (30 * 1024 * 1024)}
    return upload_then_import(client, "v8_BBBB_1.zip", zip_bytes(members), "import.xml")


def truncated_zip(client: ExchangeClient, package: Path) -> list[str]:
    whole = zip_bytes({"import.xml": (package / "import.xml").read_bytes()})
    return upload_then_import(client, "v8_CCCC_1.zip", whole[: len(whole) // 2], "import.xml")


def malformed_xml(client: ExchangeClient, package: Path) -> list[str]:
    text = (package / "import.xml").read_text(encoding="utf-8-sig")
    first = text.index("<Наименование>", text.index("<Товар>"))
    text = text[:first] + "<Наименование>Изменено" + text[first + len("<Наименование>") :]
    broken = text.replace("</Товары>", "</Товр>", 1).encode()
    return upload_then_import(client, "import.xml", broken, "import.xml")


def too_large(client: ExchangeClient, package: Path) -> list[str]:
    data = (package / "offers.xml").read_bytes() + b" " * 500_000
    return upload_then_import(client, "offers.xml", data, "offers.xml")


BAD_INPUTS: dict[str, Callable[[ExchangeClient, Path], list[str]]] = {
    "wrong password": wrong_password,
    "unknown mode": unknown_mode,
    "dot-dot name": named("../import.xml"),
    "absolute name": named("/etc/import.xml"),
    "windows path": named("C:\\Users\\1c\\import.xml"),
    "zip with ../": zip_slip,
    "zip bomb": zip_bomb,
    "truncated zip": truncated_zip,
    "malformed xml": malformed_xml,
    "over the size limit": too_large,
}
REASONS = {
    "wrong password": "wrong login or password",
    "unknown mode": "unknown mode 'explode'",
    "dot-dot name": "'..'",
    "absolute name": "absolute path",
    "windows path": "absolute Windows path",
    "zip with ../": "refused member",
    "zip bomb": "zip bomb",
    "truncated zip": "not a complete zip archive",
    "malformed xml": "line",
    "over the size limit": "larger than exchange.max_upload_bytes",
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_failure_with_a_reason_changes_nothing_and_keeps_the_original(
    case: str, start: Callable[..., ServerProcess], engine: Engine, tmp_path: Path, data_dir: Path
) -> None:
    server = start(max_upload_bytes=400_000)
    make_package(tmp_path / "pkg", products=60, images=0)
    assert emulate(options(server, zip=True), [tmp_path / "pkg"], say=quiet, sale=False).ok
    before = catalog_state(engine)
    client = ExchangeClient(options(server))
    try:
        lines = BAD_INPUTS[case](client, tmp_path / "pkg")
    finally:
        client.close()
    assert lines[0] == "failure", lines
    assert REASONS[case] in " ".join(lines[1:])
    assert catalog_state(engine) == before
    if case in ("wrong password", "unknown mode"):
        return
    with engine.connect() as conn:
        rows = conn.execute(
            select(ExchangeFile)
            .join(ExchangeSession)
            .where(ExchangeFile.status.in_(("failed", "rejected")))
        ).all()
        session_status = conn.scalars(
            select(ExchangeSession.status).order_by(ExchangeSession.id.desc()).limit(1)
        ).one()
    assert rows, "the refused upload is recorded"
    for row in rows:
        kept = Path(row.stored_path)
        assert kept.is_file(), row
        assert kept.stat().st_size > 0, row
        assert kept.is_relative_to(data_dir)
    assert session_status == "failed"
    assert audits(engine)[-1].outcome == "failed"
