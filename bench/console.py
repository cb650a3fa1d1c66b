"""The operator console's pages with a long history: p50 and p99 of every page.

    make bench BENCH_ARGS="console [--runs 1000] [--audit 100000] [--orders 5000]
                                   [--requests 200] [--reuse]"

Seeds a fresh PostgreSQL database with ``--runs`` sync runs (two files each, a tenth failed),
``--audit`` hash-chained audit entries (``audit verify`` accepts them), ``--orders`` orders with
outbox rows and 200 exchange sessions, plus 100 quarantined files; one commerceml run in 250
holds its hiding (``held_hide`` and its ``import.hide_held`` entry, as the importer leaves them); then logs in to the console
in this process (Flask's test client, so no HTTP client is measured) and asks each page
``--requests`` times. Bar (issue 20): every page's p99 under 300 ms at 1,000 runs and 100,000
audit entries. ``audit verify`` (an action that walks the whole chain) is timed once, apart.

Environment: ``ONEC_SYNC_BENCH_PG_URL`` (server to create the bench database on; default the
test server), ``ONEC_SYNC_BENCH_DATABASE`` (its name; default onec_sync_bench_console).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from config import ConsoleSettings, DatabaseSettings, PathSettings, Secret, Settings
from syncd.store import migrate, models
from syncd.store.audit import GENESIS, entry_digest
from syncd.store.engine import make_engine

PG_URL = os.environ.get("ONEC_SYNC_BENCH_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test")
DATABASE = os.environ.get("ONEC_SYNC_BENCH_DATABASE", "onec_sync_bench_console")
BAR_MS = 300.0
PASSWORD = "bench password 1234"
STREAMS = ("commerceml", "odata:products", "odata:prices", "odata:stock", "odata-orders")


def create_database(reuse: bool) -> str:
    server = make_url(PG_URL)
    url = server.set(database=DATABASE).render_as_string(hide_password=False)
    if reuse:
        return url
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{DATABASE}' AND pid <> pg_backend_pid()"
            )
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}"'))
        connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    engine = make_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    engine.dispose()
    return url


def seed(engine: Engine, *, runs: int, entries: int, orders: int) -> list[str]:
    """Runs, their files, audit entries, orders, sessions and a user; returns the run ids."""
    now = datetime.now(UTC)
    run_uuids = [str(uuid.uuid4()) for _ in range(runs)]
    with engine.begin() as db:
        db.execute(
            insert(models.User),
            [{"username": "bench", "password_hash": PasswordHasher().hash(PASSWORD),
              "role": "admin"}],
        )  # fmt: skip
        for start in range(0, runs, 500):
            chunk = range(start, min(start + 500, runs))
            db.execute(insert(models.SyncRun), [_run(i, run_uuids[i], runs, now) for i in chunk])
        ids = dict(db.execute(text("SELECT run_uuid, id FROM sync_runs")).all())
        files = [
            {"run_id": ids[u], "name": name, "sha256": hashlib.sha256(f"{u}{name}".encode()).hexdigest(), "size": 1000, "kind": kind,
             "status": "done", "counts": {"inserted": 10}, "started_at": now, "finished_at": now}
            for u in run_uuids for name, kind in (("import.xml", "catalog"), ("offers.xml", "offers"))
        ]  # fmt: skip
        for start in range(0, len(files), 1000):
            db.execute(insert(models.RunFile), files[start : start + 1000])
        _seed_orders(db, orders, now)
        db.execute(insert(models.ExchangeSession), [
            {"token": uuid.uuid4().hex, "type": "catalog", "username": "1c", "status": "succeeded",
             "created_at": now - timedelta(hours=i), "last_seen_at": now}
            for i in range(200)
        ])  # fmt: skip
    held = [u for i, u in enumerate(run_uuids) if _held(i)]
    _seed_audit(engine, entries, run_uuids, now, held=held)
    return run_uuids


def _held(i: int) -> bool:
    return i % 250 == 5  # a commerceml run (i % 5 == 0) that succeeded (i % 10 != 0)


def _run(i: int, run_uuid: str, runs: int, now: datetime) -> dict[str, Any]:
    started = now - timedelta(minutes=30 * (runs - i))
    failed = i % 10 == 0
    return {
        "run_uuid": run_uuid, "stream": STREAMS[i % len(STREAMS)],
        "status": "failed" if failed else "succeeded", "source": "bench", "actor": "daemon",
        "counts": {"inserted": i % 50, "updated": i % 7, "unchanged": 100},
        "error": "offers.xml, line 4: bench failure" if failed else None,
        "started_at": started, "finished_at": started + timedelta(seconds=5 + i % 30),
        "held_hide": _HELD if _held(i) else None,
    }  # fmt: skip


_HELD = {
    "products": {"kind": "product", "up_to_id": 20_000, "would_hide": 18_000, "active": 20_000},
    "offers": {"kind": "offer", "up_to_id": 30_000, "would_hide": 27_000, "active": 30_000},
}


def _seed_orders(db: Any, orders: int, now: datetime) -> None:
    rows = [
        {"number": f"B-{i:07d}", "total": Decimal("100.00"), "customer": {}, "delivery": {},
         "export_state": "new" if i % 3 else "exported",
         "created_at": now - timedelta(minutes=3 * i)}
        for i in range(orders)
    ]  # fmt: skip
    for start in range(0, orders, 1000):
        db.execute(insert(models.Order), rows[start : start + 1000])
    ids = [r[0] for r in db.execute(text("SELECT id FROM orders WHERE export_state = 'new'"))]
    boxes = [{"order_id": i, "state": "failed" if i % 5 == 0 else "pending", "attempts": 1,
              "next_attempt_at": now} for i in ids]  # fmt: skip
    for start in range(0, len(boxes), 1000):
        db.execute(insert(models.OrderOutbox), boxes[start : start + 1000])


def _seed_audit(
    engine: Engine, entries: int, run_uuids: list[str], now: datetime, *, held: list[str]
) -> None:
    """A valid chain: each entry hashed by ``syncd.store.audit.entry_digest``; the
    ``import.hide_held`` entries of the ``held`` runs come last."""
    previous = GENESIS
    batch: list[dict[str, Any]] = []
    started = now - timedelta(seconds=entries)
    for i in range(entries + len(held)):
        entry = {
            "created_at": started + timedelta(seconds=i), "actor": "daemon" if i % 4 else "anna",
            "action": "import.file" if i % 3 else "import.run", "source": "bench",
            "subject": f"file-{i}.xml", "run_uuid": run_uuids[i % len(run_uuids)],
            "content_hash": None, "outcome": "succeeded", "counts": {"inserted": i % 9},
            "duration_ms": i % 1000, "error": None, "details": {},
        }  # fmt: skip
        if i >= entries:
            entry.update(action="import.hide_held", outcome="held", subject=None,
                         run_uuid=held[i - entries], details={"held": _HELD})  # fmt: skip
        digest = entry_digest(models.AuditEntry(**entry, prev_hash=previous, entry_hash=""))
        batch.append({**entry, "prev_hash": previous, "entry_hash": digest})
        previous = digest
        if len(batch) == 5000:
            with engine.begin() as db:
                db.execute(insert(models.AuditEntry), batch)
            batch = []
    if batch:
        with engine.begin() as db:
            db.execute(insert(models.AuditEntry), batch)


def quarantine(data_dir: Path, files: int) -> None:
    directory = data_dir / "quarantine"
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        name = f"20260101T0000{i % 60:02d}.{i:06d}Z_offers-{i}.xml"
        (directory / name).write_bytes(b"<broken/>" * 100)
        (directory / f"{name}.reason.txt").write_text(
            f"file: offers-{i}.xml\nreason: offers-{i}.xml, line 4, element <Bad>: broken\n"
        )


def measure(client: Any, path: str, requests: int) -> tuple[float, float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        reply = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if reply.status_code != 200:
            raise SystemExit(f"{path}: HTTP {reply.status_code}")
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench console")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--audit", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    args, _ = parser.parse_known_args(argv)

    from console import create_app

    url = create_database(args.reuse)
    engine = make_engine(DatabaseSettings(url=url))
    if not args.reuse:
        started = time.perf_counter()
        seed(engine, runs=args.runs, entries=args.audit, orders=args.orders)
        print(f"seeded {args.runs:,} runs, {args.audit:,} audit entries, {args.orders:,} orders "
              f"in {time.perf_counter() - started:.0f}s", flush=True)  # fmt: skip
    with engine.connect() as db:
        run_uuid = db.execute(text("SELECT run_uuid FROM sync_runs ORDER BY id LIMIT 1")).scalar()
        held = db.execute(
            text("SELECT run_uuid FROM sync_runs WHERE held_hide IS NOT NULL ORDER BY id LIMIT 1")
        ).scalar()
        middle = db.execute(text("SELECT max(id) / 2 FROM audit_log")).scalar()
    with tempfile.TemporaryDirectory() as work:
        quarantine(Path(work), 100)
        settings = replace(
            Settings(), database=DatabaseSettings(url=url), paths=PathSettings(data_dir=Path(work)),
            console=ConsoleSettings(secret_key=Secret("b" * 48)),
        )  # fmt: skip
        client = create_app(settings, engine=engine).test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        client.post("/login", data={"username": "bench", "password": PASSWORD,
                                    "csrf_token": token.group(1)})  # fmt: skip
        pages = [
            "/", "/runs", "/runs?stream=odata:stock", "/runs?status=failed",
            f"/runs?before={args.runs // 2}", f"/runs/{run_uuid}", f"/runs/{held}", "/quarantine",
            "/exchange", "/orders", "/audit", f"/audit?before={middle}", "/audit?actor=anna",
            "/audit?action=import.run",
        ]  # fmt: skip
        print(f"{'page':<32} {'p50 ms':>8} {'p99 ms':>8}  bar p99 < {BAR_MS:.0f} ms")
        worst = 0.0
        for path in pages:
            p50, p99 = measure(client, path, args.requests)
            worst = max(worst, p99)
            verdict = "ok" if p99 < BAR_MS else "OVER"
            print(f"{path[:32]:<32} {p50:>8.1f} {p99:>8.1f}  {verdict}", flush=True)
        token_page = client.get("/audit").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', token_page)
        assert token is not None
        started = time.perf_counter()
        reply = client.post("/audit/verify", data={"csrf_token": token.group(1)})
        verify_s = time.perf_counter() - started
        intact = "intact" in reply.get_data(as_text=True)
        print(f"audit verify of {args.audit:,} entries: {verify_s:.1f}s (intact: {intact})")
        print(f"worst page p99: {worst:.1f} ms ({'within' if worst < BAR_MS else 'over'} the bar)")
    engine.dispose()
