"""Change feed benchmark: what the change log costs an import, and how fast one reader reads it.

    python -m bench changes [--products 100000] [--rounds 2]

* ``import, change log on/off``: ``onec-sync import`` of the same generated package (as ``bench
  import``) into a fresh, migrated PostgreSQL database, with ``changes.enabled`` true and false,
  alternating, ``--rounds`` times each (the fastest of each is compared, the machine's noise
  being one-sided). Bar (issue 19): on within 10% of off.
* ``feed``: one reader pages through the whole feed of the last "on" database with
  ``GET /api/v1/changes?after=<next_after>&limit=1000`` over loopback HTTP, against ``onec-sync
  serve`` (gunicorn, one worker) in a process of its own. Bar: at least 5,000 events/s.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from bench.importer import ROOT, Database, env_for, measure, onec_sync, package
from bench.storefront import Server, make_key

IMPORT_BAR = 1.10  # on / off
FEED_BAR = 5000.0  # events/s
DEFAULT_PG = "postgresql+psycopg://127.0.0.1:5432/test"


def import_once(
    files: list[Path], server: str, work: Path, *, enabled: bool
) -> tuple[float, Database]:
    db = Database(server)
    env = env_for(db, work / db.name, ONEC_SYNC_CHANGES_ENABLED=str(enabled).lower())
    measure(onec_sync("db", "upgrade"), env)
    seconds, _, output = measure(onec_sync("import", *map(str, files)), env)
    if "succeeded" not in output:
        raise SystemExit(f"import did not succeed:\n{output}")
    return seconds, db


def read_feed(base: str, key: str) -> tuple[int, float]:
    """Every event, page by page, as one reader would; (events, seconds)."""
    events, after = 0, 0
    started = time.perf_counter()
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
        while True:
            response = client.get("/api/v1/changes", params={"after": after, "limit": 1000})
            response.raise_for_status()
            page = response.json()
            if not page["items"]:
                return events, time.perf_counter() - started
            events += len(page["items"])
            after = page["next_after"]


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench changes")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pg-url", default=os.environ.get("ONEC_SYNC_BENCH_PG_URL", DEFAULT_PG))
    args, _ = parser.parse_known_args(argv)
    work = ROOT / "out" / "changes-work"
    files, products = package(args.products, args.variants)
    times: dict[bool, list[float]] = {True: [], False: []}
    last: Database | None = None
    for _ in range(args.rounds):
        for enabled in (False, True):
            seconds, db = import_once(files, args.pg_url, work, enabled=enabled)
            times[enabled].append(seconds)
            print(f"  import, change log {'on ' if enabled else 'off'} {seconds:8.1f}s", flush=True)
            if enabled:
                if last is not None:
                    last.drop()
                last = db
            else:
                db.drop()
    assert last is not None
    try:
        engine = create_engine(last.url)
        key = make_key(engine)
        engine.dispose()
        server = Server(last.url, cached=False, workers=1, threads=1)
        try:
            events, seconds = read_feed(server.base, key)
        finally:
            server.stop()
    finally:
        last.drop()
    on, off = min(times[True]), min(times[False])
    ratio = on / off
    rate = events / seconds
    print(f"catalog: {products:,} products; {events:,} change events")
    print(
        f"  import with the change log / without: {on:.1f}s / {off:.1f}s = {ratio:.2f} "
        f"(bar <= {IMPORT_BAR:.2f}): {'PASS' if ratio <= IMPORT_BAR else 'FAIL'}"
    )
    print(
        f"  feed to one reader: {rate:,.0f} events/s ({events:,} in {seconds:.1f}s; bar >= "
        f"{FEED_BAR:,.0f}): {'PASS' if rate >= FEED_BAR else 'FAIL'}"
    )
