"""Import benchmark: the pipeline into PostgreSQL against a reference in the same run.

    python -m bench import [--products 100000] [--variants 0] [--rss-sizes 10000,1000000]
                           [--classifier-references]   # a 2.08+ package (ТипыЦен, Склады in import.xml)
    python -m bench import --scale 100000,1000000 [--server advised|default] [--no-reference]

Generates a package (``bench/gen_package.py``; cached under bench/out), creates a fresh
PostgreSQL database (``ONEC_SYNC_BENCH_PG_URL``, default the test server) and measures, each step
in a child process of its own (wall time, and peak RSS of it and its workers):

* ``first import``   ``onec-sync import`` of the package into the empty, migrated database;
* ``re-import``      the same package again (nothing changed): a replay the pipeline recognises
                     by the files' hashes, with nothing written since;
* ``re-import, rows`` the same again with ``import.skip_identical_files = false``: every record
                     read, hashed and compared with its row;
* ``reference``      a bare parse of the same files (the readers, building every record, writing
                     nothing) plus a COPY of the same rows (taken from the imported tables) into
                     unindexed tables without constraints — the cost of reading the files and
                     moving the bytes, without the pipeline's upserts, hashes, checkpoints and
                     indexes. A bare ``lxml.etree.iterparse`` pass is printed too, for scale.
* ``lxml reference`` the same fields taken out of the files by a bare ``lxml.etree.iterparse``
                     loop and COPYed into tables without indexes (``bench/bare_reference.py``):
                     the floor that counts the cost of reading the files too.

``--classifier-references`` runs on the 2.08+ shape of the package (import.xml lists ТипыЦен and
Склады in its classifier; ``bench/gen_package.py``).

``--scale`` measures how the first import's rate holds as the catalog grows: the first import
at each size, one after another, into a fresh database on one temporary PostgreSQL server the
benchmark starts itself (``bench/pgserver.py``), with the settings ``onec-sync db check``
advises applied (``--server default``: PostgreSQL's defaults), and the lxml reference beside
each. It prints each size's products/s and peak RSS, each rate against the first size's, and
the catalog's index size against ``shared_buffers`` after each import (``bench/scale.py``).

Bars (issue 4): first import >= 60% of the reference's products/s; (issue 21) first import >= 60%
of the lxml reference's products/s on both package shapes; unchanged re-import >= 3x
faster than the first import; peak RSS < 200 MB and flat in the catalog size (``--rss-sizes``
repeats the first import at other sizes and prints its peak RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.gen_package import PackageSpec, generate_package

ROOT = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://127.0.0.1:5432/test"
RSS_BAR_MB = 200.0
COPIED_TABLES = (
    "catalog_groups",
    "properties",
    "property_options",
    "price_types",
    "warehouses",
    "products",
    "product_groups",
    "product_images",
    "product_property_values",
    "offers",
    "prices",
    "stock",
)


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    peak_rss_mb: float
    products: int
    rows: int

    def line(self) -> str:
        return (
            f"  {self.name:18s} {self.seconds:8.1f}s {self.products / self.seconds:9,.0f} products/s "
            f"{self.rows / self.seconds:10,.0f} rows/s  peak RSS {self.peak_rss_mb:6.0f} MB"
        )


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``argv``; (wall seconds, peak RSS in MB, output).

    The peak RSS is that of all of the command's processes together (an import may run a second
    process for a second lane): their RSS summed, sampled every 50 ms, and never below the
    kernel's own high-water mark of the largest one. Summing counts the pages a forked child
    shares with its parent twice, so the figure errs high.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = TreeRss(proc.pid)
    sampler.start()
    assert proc.stdout is not None
    output = proc.stdout.read()
    sampler.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{output}")
    return seconds, max(usage.ru_maxrss / 1024, sampler.peak_mb), output


class TreeRss(threading.Thread):
    """The peak of the summed RSS of a process and its descendants (Linux /proc)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join()

    def run(self) -> None:
        while not self._done.wait(0.05):
            self.peak_mb = max(self.peak_mb, sum(map(_rss_mb, _tree(self.pid))))


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Database:
    """A throw-away PostgreSQL database for one benchmark run."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        self.name = f"onec_bench_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def env_for(db: Database, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": db.url,
        "ONEC_SYNC_PATHS_DATA_DIR": str(data_dir),
        "ONEC_SYNC_LOGGING_FORMAT": "text",
        **extra,
    }


def onec_sync(*args: str) -> list[str]:
    return [sys.executable, "-c", "import cli; cli.main()", *args]


def package(
    products: int, variants: int, *, classifier_references: bool = False
) -> tuple[list[Path], int]:
    shape = "-208" if classifier_references else ""
    out = ROOT / "out" / f"import-{products}-{variants}{shape}"
    spec = PackageSpec(
        products=products, variants=variants, classifier_references=classifier_references
    )
    marker = out / "spec.json"
    wanted = json.dumps(spec.__dict__ if hasattr(spec, "__dict__") else repr(spec), default=str)
    if not (marker.exists() and marker.read_text() == wanted):
        print(f"generating {products:,} products into {out} ...", flush=True)
        marker.unlink(missing_ok=True)
        generate_package(out, spec)
        marker.write_text(wanted)
    files = [out / "import.xml", out / "offers.xml"]
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"package: {products:,} products, {size:,.0f} MB in {len(files)} files", flush=True)
    return files, products


def imported_rows(db: Database) -> int:
    engine = create_engine(db.url)
    with engine.connect() as conn:
        total = sum(
            int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())
            for t in COPIED_TABLES
        )
    engine.dispose()
    return total


def first_import(
    files: list[Path], products: int, server: str, work: Path
) -> tuple[Step, Database]:
    db = Database(server)
    env = env_for(db, work / db.name)
    measure(onec_sync("db", "upgrade"), env)
    seconds, rss, output = measure(onec_sync("import", *map(str, files)), env)
    if "succeeded" not in output:
        raise SystemExit(f"first import did not succeed:\n{output}")
    return Step("first import", seconds, rss, products, imported_rows(db)), db


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench import")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=0)
    parser.add_argument("--rss-sizes", default="", help="e.g. 10000,1000000: first import only")
    parser.add_argument("--pg-url", default=os.environ.get("ONEC_SYNC_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument(
        "--classifier-references",
        action="store_true",
        help="a 2.08+ package: import.xml's Классификатор lists ТипыЦен and Склады too",
    )
    parser.add_argument("--scale", default="", help="e.g. 100000,1000000: see bench/scale.py")
    parser.add_argument("--server", choices=("advised", "default"), default="advised")
    parser.add_argument("--no-reference", action="store_true", help="--scale: no lxml reference")
    args, _ = parser.parse_known_args(argv)
    work = ROOT / "out" / "import-work"
    if args.scale:
        from bench import scale

        sizes = [int(s) for s in args.scale.split(",") if s.strip()]
        scale.run_scale(sizes, args, work)
        return
    files, products = package(
        args.products, args.variants, classifier_references=args.classifier_references
    )

    first, db = first_import(files, products, args.pg_url, work)
    try:
        env = env_for(db, work / db.name)
        again_s, again_rss, out = measure(onec_sync("import", *map(str, files)), env)
        assert "unchanged" in out, out
        again = Step("re-import", again_s, again_rss, products, first.rows)
        rows_env = {**env, "ONEC_SYNC_IMPORT_SKIP_IDENTICAL_FILES": "false"}
        rows_s, rows_rss, out = measure(onec_sync("import", *map(str, files)), rows_env)
        assert "unchanged" in out, out
        by_rows = Step("re-import, rows", rows_s, rows_rss, products, first.rows)
        reference = reference_step(files, products, db, first.rows)
        lxml_reference = lxml_reference_step(files, products, db)
        bare = bare_parse_seconds(files)
    finally:
        db.drop()

    print(f"catalog: {products:,} products, {first.rows:,} rows in {len(COPIED_TABLES)} tables")
    for step in (first, again, by_rows, reference, lxml_reference):
        print(step.line())
    print(f"  (bare lxml iterparse of the same files: {bare:.1f}s)")
    share = (products / first.seconds) / (products / reference.seconds)
    lxml_share = lxml_reference.seconds / first.seconds
    speedup = first.seconds / again.seconds
    speedup_rows = first.seconds / by_rows.seconds
    peak = max(first.peak_rss_mb, again.peak_rss_mb, by_rows.peak_rss_mb)
    print(
        f"  first import / reference throughput: {share:.0%} (bar >= 60%): {_verdict(share >= 0.6)}"
    )
    print(
        f"  first import / lxml reference throughput: {lxml_share:.0%} (bar >= 60%): "
        f"{_verdict(lxml_share >= 0.6)}"
    )
    print(
        f"  re-import {speedup:.1f}x faster than the first (bar >= 3x): {_verdict(speedup >= 3)}; "
        f"row by row {speedup_rows:.1f}x"
    )
    print(f"  peak RSS {peak:.0f} MB (bar < {RSS_BAR_MB:.0f}): {_verdict(peak < RSS_BAR_MB)}")
    for size in filter(None, (s.strip() for s in args.rss_sizes.split(","))):
        sized_files, sized_products = package(
            int(size), args.variants, classifier_references=args.classifier_references
        )
        step, sized_db = first_import(sized_files, sized_products, args.pg_url, work)
        sized_db.drop()
        print(f"  at {sized_products:>9,} products: {step.line().strip()}")


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def reference_step(files: list[Path], products: int, db: Database, rows: int) -> Step:
    """Readers over the files (no writes) + COPY of the imported rows into unindexed tables."""
    parse_s, parse_rss, _ = measure(
        [sys.executable, "-m", "bench.importer", "--parse", *map(str, files)], dict(os.environ)
    )
    engine = create_engine(db.url)
    with tempfile.TemporaryDirectory(prefix="onec-bench-rows-") as spool, engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:  # the rows go to disk, so this process stays small
            for table in COPIED_TABLES:
                with (
                    (Path(spool) / table).open("wb") as out,
                    cursor.copy(f'COPY "{table}" TO STDOUT') as copy,
                ):
                    for chunk in copy:
                        out.write(chunk)
                cursor.execute(
                    f'CREATE TABLE "ref_{table}" AS SELECT * FROM "{table}" WITH NO DATA'
                )
        raw.commit()
        started = time.perf_counter()
        with raw.cursor() as cursor:
            for table in COPIED_TABLES:
                with (
                    (Path(spool) / table).open("rb") as data,
                    cursor.copy(f'COPY "ref_{table}" FROM STDIN') as copy,
                ):
                    while chunk := data.read(1024 * 1024):
                        copy.write(chunk)
        raw.commit()
        copy_s = time.perf_counter() - started
    engine.dispose()
    return Step("reference", parse_s + copy_s, parse_rss, products, rows)


def lxml_reference_step(files: list[Path], products: int, db: Database) -> Step:
    """``bench/bare_reference.py`` in a child of its own: iterparse + COPY into bare tables."""
    seconds, rss, output = measure(
        [sys.executable, "-m", "bench.bare_reference", db.url, *map(str, files)],
        dict(os.environ),
    )
    rows = int(output.strip().rpartition("rows=")[2] or 0)
    return Step("lxml reference", seconds, rss, products, rows)


def bare_parse_seconds(files: list[Path]) -> float:
    """A bare lxml pass, in a child: run here it would grow this process, and every child
    started afterwards inherits its parent's peak RSS in its own rusage (Linux keeps the
    high-water mark across exec)."""
    seconds, _, _ = measure(
        [sys.executable, "-m", "bench.importer", "--bare", *map(str, files)], dict(os.environ)
    )
    return seconds


def _bare_only(paths: list[str]) -> None:
    from lxml import etree

    for path in paths:
        for _, element in etree.iterparse(path, events=("end",)):
            element.clear()


def _parse_only(paths: list[str]) -> None:
    from exchange_formats.commerceml import open_document

    for path in paths:
        for _record in open_document(Path(path)).records():
            pass


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--parse":
        _parse_only(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--bare":
        _bare_only(sys.argv[2:])
    else:
        run(sys.argv[1:])
