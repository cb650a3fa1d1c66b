"""Backup, restore and keyed-audit benchmark on PostgreSQL.

    python -m bench backup [--products 100000] [--rounds 2] [--appends 2000]

Imports the generated package (``bench/gen_package.py``) into fresh databases and measures, each
step in a child process of its own:

* ``backup``   ``onec-sync backup`` of the imported database: wall time and size (the RPO's cost);
* ``restore``  ``onec-sync restore`` of it into an empty database: wall time (the RTO's core);
* ``import, unkeyed`` / ``import, keyed``  the first import with ``database.audit_key`` empty and
  set, alternated ``--rounds`` times (the medians are compared);
* ``append``   ``--appends`` audit entries, unkeyed and keyed, in this process: the cost per
  entry, times the entries one import writes, as a share of the import's time.

Bar (issue 16): the keyed chain costs no more than 5% of a 100,000-product import's time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.importer import DEFAULT_PG, ROOT, Database, env_for, measure, onec_sync, package
from config import DatabaseSettings, Secret
from syncd.store import audit, migrate
from syncd.store.engine import make_engine

KEY = "bench-audit-key-0123456789abcdef"
BAR = 0.05


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench backup")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--pg-url", default=os.environ.get("ONEC_SYNC_BENCH_PG_URL", DEFAULT_PG))
    args, _ = parser.parse_known_args(argv)
    files, products = package(args.products, 0)
    work = ROOT / "out" / "backup-work"
    imports: dict[str, list[float]] = {"unkeyed": [], "keyed": []}
    entries = 0
    for _ in range(args.rounds):
        for kind in ("unkeyed", "keyed"):
            db = Database(args.pg_url)
            try:
                env = env_for(
                    db, work / db.name, ONEC_SYNC_DATABASE_AUDIT_KEY=KEY if kind == "keyed" else ""
                )
                measure(onec_sync("db", "upgrade"), env)
                seconds, _rss, output = measure(onec_sync("import", *map(str, files)), env)
                if "succeeded" not in output:
                    raise SystemExit(f"import did not succeed:\n{output}")
                imports[kind].append(seconds)
                entries = _audit_entries(db.url)
                if kind == "keyed" and len(imports["keyed"]) == 1:
                    _backup_and_restore(db, env, args.pg_url, work)
            finally:
                db.drop()
    unkeyed, keyed = (statistics.median(imports[k]) for k in ("unkeyed", "keyed"))
    print(f"catalog: {products:,} products; the import writes {entries} audit entries")
    print(f"  import, unkeyed  {unkeyed:8.1f}s (median of {args.rounds})")
    print(f"  import, keyed    {keyed:8.1f}s (median of {args.rounds}): {keyed / unkeyed - 1:+.1%}")
    plain_us, keyed_us = _append_cost(args.pg_url, args.appends)
    share = entries * max(keyed_us - plain_us, 0.0) / 1e6 / unkeyed
    print(f"  append: unkeyed {plain_us:.0f} µs, keyed {keyed_us:.0f} µs per entry")
    print(
        f"  keyed chain's share of the import: {share:.3%} (bar <= {BAR:.0%}): "
        f"{'PASS' if share <= BAR else 'FAIL'}"
    )


def _backup_and_restore(db: Database, env: dict[str, str], server: str, work: Path) -> None:
    with tempfile.TemporaryDirectory(dir=work.parent) as folder:
        seconds, _rss, output = measure(onec_sync("backup", "--dir", folder), env)
        if "backup " not in output:
            raise SystemExit(f"backup failed:\n{output}")
        dump = next(p for p in Path(folder).iterdir() if p.suffix == ".pgdump")
        size = dump.stat().st_size
        print(f"  backup           {seconds:8.1f}s {size / 1e6:9.1f} MB", flush=True)
        target = Database(server)
        try:
            restore_env = {**env, "ONEC_SYNC_DATABASE_URL": target.url}
            seconds, _rss, output = measure(onec_sync("restore", str(dump)), restore_env)
            if "restored" not in output:
                raise SystemExit(f"restore failed:\n{output}")
            print(f"  restore          {seconds:8.1f}s", flush=True)
        finally:
            target.drop()


def _audit_entries(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())
    engine.dispose()
    return count


def _append_cost(server: str, appends: int) -> tuple[float, float]:
    """Microseconds per appended entry (one transaction each, as the pipeline does)."""
    costs = []
    for key in ("", KEY):
        db = Database(server)
        engine = make_engine(DatabaseSettings(url=db.url, audit_key=Secret(key)))
        try:
            migrate.upgrade(engine)
            started = time.perf_counter()
            for i in range(appends):
                with Session(engine) as session:
                    audit.append(session, action="bench.append", outcome="succeeded",
                                 subject=f"file{i}.xml", counts={"inserted": i})  # fmt: skip
                    session.commit()
            costs.append((time.perf_counter() - started) / appends * 1e6)
        finally:
            engine.dispose()
            db.drop()
    return costs[0], costs[1]
