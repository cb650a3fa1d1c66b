"""``make demo``: the main jobs end to end on the embedded default (SQLite), nothing to set up.

Everything lands in ``var/demo/`` (recreated on every run): a configuration file, the SQLite
database and the daemon's data folder, so the commands printed at the end work as shown. The
package is ``examples/package`` (a small catalog written the way 1C writes one).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Settings, load_settings
from syncd import audit, migrate, models
from syncd.db import make_engine
from syncd.exchange.demo import run_exchange_demo
from syncd.pipeline import RunResult, import_files

DEMO_DIR = Path("var/demo")
EXAMPLE_PACKAGE = Path(__file__).resolve().parent.parent / "examples" / "package"


def write_demo_config(demo_dir: Path) -> Path:
    path = demo_dir / "onec-sync.toml"
    path.write_text(
        "# Written by `make demo`; every key is documented in config/onec-sync.example.toml\n"
        "[database]\n"
        f'url = "sqlite:///{demo_dir / "onec-sync.db"}"\n'
        "[paths]\n"
        f'data_dir = "{demo_dir / "data"}"\n'
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


def main() -> int:
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir(parents=True)
    config_path = write_demo_config(DEMO_DIR)
    settings: Settings = load_settings(config_path, env={})
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    print(f"1. Created the SQLite database {settings.database.url.removeprefix('sqlite:///')}")
    print(f"   and migrated it to schema revision {migrate.current_revision(engine)}.")

    files = sorted(EXAMPLE_PACKAGE.glob("*.xml"))
    print(f"\n2. Imported the example package {EXAMPLE_PACKAGE.name}/ ({len(files)} files):")
    first = import_files(engine, files, settings, actor="demo", source=str(EXAMPLE_PACKAGE))
    print(f"   {describe(first)}")
    print(f"   catalog now: {catalog_counts(engine)}")
    again = import_files(engine, files, settings, actor="demo", source=str(EXAMPLE_PACKAGE))
    print(f"   the same package again -> {describe(again)}")

    print("\n3. Played 1C against the exchange endpoint (the emulator uploads the package zipped,")
    print("   polls the import, then runs the sale exchange with a shop order):")
    summary = run_exchange_demo(settings, engine, files, say=lambda line: print(f"   | {line}"))
    print(
        f"   {summary.requests} requests, the longest {summary.longest_request_seconds:.2f}s; "
        f"order {summary.order_number}: 1C number {summary.order_number_1c}, "
        f"status {summary.order_status}"
    )
    if summary.order_history:
        print(f"   order history: {' -> '.join(summary.order_history)}")

    with Session(engine) as session:
        verified = audit.verify(session)
    print(f"\n4. Audit log: {verified.checked} entries, hash chain intact: {verified.ok}.")
    engine.dispose()

    cli = f".venv/bin/onec-sync --config {config_path}"
    print("\nLook at the result:")
    print(f"  {cli} runs                 # what ran, with counts")
    print(f"  {cli} audit                # the audit log; `audit verify` checks it")
    print(f"  {cli} exchange sessions    # the 1C exchange sessions")
    print(f"  {cli} import {EXAMPLE_PACKAGE}   # import again: unchanged")
    query = "'select onec_id, name from products limit 5'"  # shown, not run
    print(f"  sqlite3 {DEMO_DIR / 'onec-sync.db'} {query}")
    ok = first.ok and again.ok and summary.ok and verified.ok
    if not ok:
        print("\ndemo FAILED", summary.failures, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
