"""``make demo``: onec-sync end to end on the embedded default (SQLite), nothing to set up.

1. creates and migrates an SQLite database;
2. imports the example package (``examples/package``, a small catalog written the way 1C
   writes one) with the pipeline, then imports it again (nothing changes), then a mistaken
   "full" export of one product, whose hiding of the other products the guard holds;
3. starts the daemon (``onec-sync run``) as systemd would, lets the 1C emulator upload the
   package over the exchange protocol and run an order round trip, drops the package into the
   daemon's folder inbox, reads /health, /ready and /metrics, and stops it with SIGTERM;
4. asks the storefront API for products, a search and the order's status;
5. verifies the audit log's hash chain.

Everything lands in ``var/demo/`` (recreated on every run), so the commands printed at the end
work as shown.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Secret, Settings, load_settings
from demo.daemon import run_daemon_demo, write_daemon_config
from demo.exchange import play_1c
from syncd.daemon.supervise import DaemonFailed, start_daemon
from syncd.exchange.auth import hash_password
from syncd.exchange.emulator import ExchangeClient, Options, collect_uploads
from syncd.importer.hiding import reject_hide
from syncd.importer.pipeline import RunResult, import_files
from syncd.store import audit, migrate, models
from syncd.store.engine import make_engine

DEMO_DIR = Path("var/demo")
EXAMPLE_PACKAGE = Path(__file__).resolve().parent.parent / "examples" / "package"
EXCHANGE_USER = "1c-demo"


def write_demo_config(demo_dir: Path, password: str) -> Path:
    path = demo_dir / "onec-sync.toml"
    path.write_text(
        "# Written by `make demo`; every key is documented in config/onec-sync.example.toml\n"
        "[database]\n"
        f'url = "sqlite:///{demo_dir / "onec-sync.db"}"\n'
        "[paths]\n"
        f'data_dir = "{demo_dir / "data"}"\n'
        "[exchange]\n"
        f'username = "{EXCHANGE_USER}"\n'
        f'password_hash = "{hash_password(password)}"\n'
        "[logging]\n"
        'format = "text"\n',
        encoding="utf-8",
    )
    return path


def describe(result: RunResult) -> str:
    c = result.counts
    return (
        f"{result.outcome}: {c.inserted} rows inserted, {c.updated} updated, "
        f"{c.unchanged} unchanged, {c.hidden} hidden in {result.duration_s:.2f}s"
    )


def catalog_counts(engine: Engine) -> str:
    with Session(engine) as session:

        def count(model: type[models.Base]) -> int:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

        return (
            f"{count(models.Product)} products, {count(models.Offer)} offers, "
            f"{count(models.Price)} prices, {count(models.Stock)} stock rows, "
            f"{count(models.Group)} groups, {count(models.Property)} properties"
        )


def step_import(settings: Settings, engine: Engine) -> bool:
    files = sorted(EXAMPLE_PACKAGE.glob("*.xml"))
    print(f"\n2. Imported the example package {EXAMPLE_PACKAGE.name}/ ({len(files)} files):")
    first = import_files(engine, files, settings, actor="demo", source=str(EXAMPLE_PACKAGE))
    print(f"   {describe(first)}")
    print(f"   catalog now: {catalog_counts(engine)}")
    again = import_files(engine, files, settings, actor="demo", source=str(EXAMPLE_PACKAGE))
    print(f"   the same package again -> {describe(again)}")
    return first.ok and again.ok and step_mistaken_full_export(settings, engine)


def step_mistaken_full_export(settings: Settings, engine: Engine) -> bool:
    """A "full" export that names one product would hide the other 59: the guard holds it."""
    files = write_one_product_package(DEMO_DIR / "mistaken-full-export")
    held = import_files(engine, files, settings, actor="demo", source="a mistaken full export")
    print(f"   a mistaken full export of 1 product -> {describe(held)}")
    print(f"   | {held.held_hide}")
    if held.held_hide is None:
        return False
    reject_hide(engine, held.run_uuid, actor="demo")
    print(f"   `onec-sync runs reject-hide {held.run_uuid[:8]}...`: catalog still")
    print(f"   {catalog_counts(engine)}")
    return True


def write_one_product_package(folder: Path) -> list[Path]:
    """The example package cut down to its first product and that product's offers."""
    from lxml import etree

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, container, item in (
        ("import.xml", "Товары", "Товар"),
        ("offers.xml", "Предложения", "Предложение"),
    ):
        tree = etree.parse(str(EXAMPLE_PACKAGE / name))
        for parent in tree.iter(f"{{*}}{container}"):
            for extra in parent.findall(f"{{*}}{item}")[1:]:
                parent.remove(extra)
        if name == "offers.xml":  # keep the first product's offers (its Ид, or Ид#variant)
            first = _first_product_id()
            for parent in tree.iter(f"{{*}}{container}"):
                for offer in list(parent):
                    if not offer.findtext("{*}Ид", "").startswith(first):
                        parent.remove(offer)
        tree.write(str(folder / name), xml_declaration=True, encoding="UTF-8")
        written.append(folder / name)
    return written


def _first_product_id() -> str:
    from lxml import etree

    tree = etree.parse(str(EXAMPLE_PACKAGE / "import.xml"))
    return str(next(tree.iter("{*}Товар")).findtext("{*}Ид"))


def step_daemon(settings: Settings, engine: Engine, password: str) -> tuple[bool, str | None]:
    """The daemon as a child process: 1C's exchange with it, then its folder inbox."""
    print("\n3. Started the daemon (`onec-sync run`, as systemd starts it) and played 1C:")
    config = write_daemon_config(settings, DEMO_DIR)
    env = {
        "ONEC_SYNC_EXCHANGE_USERNAME": EXCHANGE_USER,
        "ONEC_SYNC_EXCHANGE_PASSWORD_HASH": settings.exchange.password_hash,
    }
    try:
        daemon = start_daemon(config, log=DEMO_DIR / "onec-syncd.log", env=env)
    except DaemonFailed as exc:
        print(f"   the daemon did not start: {exc}")
        return False, None
    url = daemon.url + settings.exchange.path
    print(f"   | daemon pid {daemon.pid} ready; 1C exchange at {url}")
    client = ExchangeClient(Options(url=url, user=EXCHANGE_USER, password=password, zip=True))
    number = None
    try:
        number = play_1c(
            client, collect_uploads(sorted(EXAMPLE_PACKAGE.glob("*.xml"))), engine, say
        )
    finally:
        client.close()
        code = daemon.stop(timeout=60)
    longest = max((r.seconds for r in client.report.requests), default=0.0)
    print(f"   {len(client.report.requests)} exchange requests, the longest {longest:.2f}s")
    print(f"   the daemon stopped on SIGTERM with exit code {code}")
    folder = run_daemon_demo(settings, DEMO_DIR, EXAMPLE_PACKAGE, say=say, env=env)
    print(
        f"   folder inbox: imported in {folder.seconds_to_import or 0:.1f}s "
        f"({folder.outcome}); /ready {'200' if folder.ready else 'not ready'}; "
        f"{folder.watchdog_pings} watchdog pings; stopped in {folder.seconds_to_stop:.2f}s"
    )
    ok = client.report.ok and code == 0 and folder.ok
    for failure in (*client.report.failures, *folder.failures):
        print(f"   FAILED: {failure}")
    return ok, number


def step_storefront(settings: Settings, engine: Engine, order_number: str | None) -> bool:
    """The API the shop reads, in this process (`onec-sync serve` runs it under gunicorn)."""
    from storefront import create_app
    from storefront.auth.apikeys import create_api_key

    print("\n4. Asked the storefront API (what the shop reads):")
    settings = replace(
        settings,
        storefront=replace(settings.storefront, jwt_secret=Secret(secrets.token_urlsafe(32))),
    )
    with Session(engine) as session:
        _, key = create_api_key(session, name="demo operator", role="operator")
        session.commit()
    client = create_app(settings).test_client()
    headers = {"X-API-Key": key}
    products = client.get("/api/v1/products?limit=3", headers=headers)
    items = products.get_json().get("items", []) if products.status_code == 200 else []
    print(f"   GET /api/v1/products?limit=3 -> {products.status_code}:")
    for item in items:
        price = item.get("price") or {}
        print(f"   | {item['name']}: {price.get('value')} {price.get('currency') or ''}")
    word = items[0]["name"].split()[0] if items else "Товар"
    found = client.get("/api/v1/search", query_string={"q": word}, headers=headers)
    hits = len(found.get_json().get("items", [])) if found.status_code == 200 else 0
    print(f"   GET /api/v1/search?q={word} -> {found.status_code}: {hits} hits")
    ok = products.status_code == 200 and found.status_code == 200 and bool(items)
    if order_number:
        order = client.get(f"/api/v1/orders/{order_number}", headers=headers)
        status = order.get_json().get("status") if order.status_code == 200 else None
        print(f"   GET /api/v1/orders/{order_number} -> {order.status_code}: status {status}")
        ok = ok and order.status_code == 200
    return ok


def say(line: str) -> None:
    print(f"   | {line}")


def main() -> int:
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir(parents=True)
    password = secrets.token_urlsafe(12)
    config_path = write_demo_config(DEMO_DIR, password)
    settings: Settings = load_settings(config_path, env={})
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    print(f"1. Created the SQLite database {settings.database.url.removeprefix('sqlite:///')}")
    print(f"   and migrated it to schema revision {migrate.current_revision(engine)}.")
    imported = step_import(settings, engine)
    exchanged, order_number = step_daemon(settings, engine, password)
    served = step_storefront(settings, engine, order_number)
    with Session(engine) as session:
        verified = audit.verify(session)
    print(f"\n5. Audit log: {verified.checked} entries, hash chain intact: {verified.ok}.")
    engine.dispose()

    cli = f".venv/bin/onec-sync --config {config_path}"
    print("\nLook at the result:")
    print(f"  {cli} status               # streams, pending orders, the last exchange")
    print(f"  {cli} runs                 # what ran, with counts")
    print(f"  {cli} audit                # the audit log; `audit verify` checks it")
    print(f"  {cli} exchange sessions    # the 1C exchange sessions")
    print(f"  {cli} import {EXAMPLE_PACKAGE}   # import again: unchanged")
    print(f"  less {DEMO_DIR / 'onec-syncd.log'}    # the daemon's JSON log")
    ok = imported and exchanged and served and verified.ok
    if not ok:
        print("\ndemo FAILED (see above)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
