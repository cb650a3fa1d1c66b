"""``bench import --scale 100000,1000000``: does the first import keep its rate as the catalog
grows?

All sizes run on one temporary PostgreSQL server (``bench/pgserver.py``), so they share its
settings: with ``--server advised`` (the default) the settings ``onec-sync db check`` advises for
a large first import are applied to it first (its ``ALTER SYSTEM``/``ALTER ROLE`` statements,
then a restart), and ``db check`` is run again to show it has nothing left to say; with
``--server default`` the server keeps PostgreSQL's defaults. Each size gets a fresh database:
the first import, then the lxml reference (``bench/bare_reference.py``) of the same package.

Bar (issue 21): the largest size's products/s >= 80% of the first size's, peak RSS flat.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from bench.importer import (
    Database,
    Step,
    env_for,
    first_import,
    lxml_reference_step,
    onec_sync,
    package,
)
from bench.pgserver import TemporaryServer, temporary_server
from syncd.store import tuning

RATE_BAR = 0.8
RSS_FLAT = 1.1  # the largest size's peak RSS at most 10% above the first's


def run_scale(sizes: list[int], args: argparse.Namespace, work: Path) -> None:
    with temporary_server() as server:
        print(f"temporary PostgreSQL server on port {server.port} ({args.server} settings)")
        if args.server == "advised":
            advise_and_apply(server, work, max(sizes))
        results: list[tuple[int, Step, Step | None]] = []
        for size in sizes:
            files, products = package(
                size, args.variants, classifier_references=args.classifier_references
            )
            step, db = first_import(files, products, server.url(), work)
            try:
                print(f"  at {products:>9,} products: {step.line().strip()}", flush=True)
                print(f"    {_index_line(db)}", flush=True)
                reference = None if args.no_reference else lxml_reference_step(files, products, db)
                if reference is not None:
                    print(f"    {reference.line().strip()}", flush=True)
            finally:
                db.drop()
            results.append((products, step, reference))
    report(results)


def advise_and_apply(server: TemporaryServer, work: Path, products: int) -> None:
    """Apply what ``onec-sync db check --products N`` (``tuning.advise``) says before a first
    import of ``products``, restart, and show ``db check``'s verdict on the changed server."""
    db = Database(server.url())
    try:
        engine = create_engine(db.url)
        advice = tuning.advise(tuning.measure(engine), products=products)
        engine.dispose()
        for item in advice:
            print(f"  db check: {item.line()}")
            server.apply(item.how)
        server.restart()
        db.admin.dispose()  # its pooled connections ended with the restart
        env = env_for(db, work / db.name)
        done = subprocess.run(
            onec_sync("db", "check", "--products", str(products)),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        print(f"  db check after the change: {done.stdout.strip() or done.stderr.strip()}")
    finally:
        db.drop()


def _index_line(db: Database) -> str:
    engine = create_engine(db.url)
    facts = tuning.measure(engine)
    engine.dispose()
    return (
        f"catalog indexes {tuning.size(facts.catalog_index_size)}, "
        f"database {tuning.size(facts.database_size)}, "
        f"shared_buffers {tuning.size(facts.shared_buffers)}"
    )


def report(results: list[tuple[int, Step, Step | None]]) -> None:
    if len(results) < 2:
        return
    base_products, base, base_ref = results[0]
    for products, step, reference in results[1:]:
        ratio = (products / step.seconds) / (base_products / base.seconds)
        rss = step.peak_rss_mb / base.peak_rss_mb
        print(
            f"  {products:,} vs {base_products:,} products: rate {ratio:.0%} of the smaller's "
            f"(bar >= {RATE_BAR:.0%}): {'PASS' if ratio >= RATE_BAR else 'FAIL'}; peak RSS "
            f"{step.peak_rss_mb:.0f} vs {base.peak_rss_mb:.0f} MB: "
            f"{'flat' if rss <= RSS_FLAT else 'GROWS'}"
        )
        if reference is not None and base_ref is not None:
            print(
                f"    lxml reference rate {base_ref.seconds * products / (reference.seconds * base_products):.0%}"
                f" of the smaller's; first import / lxml reference: "
                f"{reference.seconds / step.seconds:.0%} vs {base_ref.seconds / base.seconds:.0%}"
            )
    sys.stdout.flush()
