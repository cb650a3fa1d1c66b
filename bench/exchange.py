"""Benchmark: a 100,000-product package over the 1C exchange, end to end through real HTTP.

    python -m bench exchange [--products N] [--chunk-size BYTES] [--pg-url URL] [--keep]

Generates a package (``bench/gen_package.py``), starts ``onec-sync exchange serve`` as its own
process on a fresh PostgreSQL database, and lets the 1C emulator upload it zipped in 1 MB chunks
and poll the imports, then runs the sale exchange. Prints every figure the issue's bar names:
the longest single HTTP request (must stay under 2 s), the whole exchange's time, rows landed
against rows sent, and the server's peak memory. The database is dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.gen_package import Package, PackageSpec, generate_package
from config import DatabaseSettings
from syncd.exchange.auth import hash_password
from syncd.exchange.emulator import Options, Report, emulate
from syncd.store import migrate
from syncd.store.engine import make_engine
from syncd.store.models import Offer, Price, Product, Stock

BAR_SECONDS = 2.0
READY = "serving the 1C exchange at "


def run(argv: list[str]) -> None:
    args = _parse(argv)
    work = Path(tempfile.mkdtemp(prefix="onec-bench-exchange-"))
    started = time.perf_counter()
    package = generate_package(work / "package", PackageSpec(products=args.products))
    size = sum(f.stat().st_size for f in package.files)
    print(
        f"exchange: package of {package.products} products, {package.offers} offers, "
        f"{package.prices} prices, {package.stock_rows} stock rows, {size / 2**20:.0f} MiB "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    url, drop = _database(args.pg_url)
    try:
        _exchange(args, work, url, package)
    finally:
        if not args.keep:
            drop()


def _exchange(args: argparse.Namespace, work: Path, url: str, package: Package) -> None:
    password = uuid.uuid4().hex
    config = _config(work, url, password, args)
    server, log = _start(config)
    sampler = _MemorySampler(server.pid)
    try:
        started = time.perf_counter()
        report = emulate(
            Options(
                url=_wait_ready(log, server),
                user="bench",
                password=password,
                zip=True,
                chunk_size=args.chunk_size,
            ),
            [work / "package"],
            say=lambda line: print(f"  {line}"),
        )
        elapsed = time.perf_counter() - started
        sampler.sample()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(120)
    _print_figures(report, elapsed, sampler.peak, url, package)


def _print_figures(report: Report, elapsed: float, peak: int, url: str, package: Package) -> None:
    longest = report.longest()
    modes = Counter(f"{r.type} {r.mode}" for r in report.requests)
    engine = make_engine(DatabaseSettings(url=url))
    with engine.connect() as conn:
        landed = {
            "products": conn.scalar(select(func.count()).select_from(Product)),
            "offers": conn.scalar(select(func.count()).select_from(Offer)),
            "prices": conn.scalar(select(func.count()).select_from(Price)),
            "stock rows": conn.scalar(
                select(func.count()).select_from(Stock).where(Stock.warehouse_onec_id != "")
            ),
        }
    engine.dispose()
    sent = {
        "products": package.products,
        "offers": package.offers,
        "prices": package.prices,
        "stock rows": package.stock_rows,
    }
    print(f"exchange: {'OK' if report.ok else 'FAILED: ' + '; '.join(report.failures)}")
    print(
        f"exchange: {len(report.requests)} requests ({', '.join(f'{k} x{v}' for k, v in sorted(modes.items()))})"
    )
    print(f"exchange: whole exchange {elapsed:.1f} s")
    if longest is not None:
        verdict = "within" if longest.seconds < BAR_SECONDS else "OVER"
        print(
            f"exchange: longest single request {longest.seconds:.3f} s "
            f"({longest.type} {longest.mode} {longest.filename or ''}) - {verdict} the {BAR_SECONDS:.0f} s bar"
        )
    for key in sent:
        mark = "ok" if landed[key] == sent[key] else "MISMATCH"
        print(f"exchange: {key}: {landed[key]} landed of {sent[key]} sent ({mark})")
    print(f"exchange: server peak RSS {peak / 2**20:.0f} MiB")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench exchange", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=1024 * 1024)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("ONEC_SYNC_TEST_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
        help="server to create the benchmark database on",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args, _unknown = parser.parse_known_args(argv)  # options meant for other benchmarks
    return args


def _database(server_url: str) -> tuple[str, Callable[[], None]]:
    name = f"onec_sync_bench_exchange_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    engine.dispose()

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def _config(work: Path, url: str, password: str, args: argparse.Namespace) -> Path:
    path = work / "onec-sync.toml"
    path.write_text(
        "[database]\n"
        f'url = "{url}"\n'
        "[paths]\n"
        f'data_dir = "{work / "data"}"\n'
        "[daemon]\n"
        'http_listen = "127.0.0.1:0"\n'
        "[logging]\n"
        'format = "text"\n'
        "[exchange]\n"
        'username = "bench"\n'
        f'password_hash = "{hash_password(password)}"\n'
        f"file_limit = {args.chunk_size}\n",
        encoding="utf-8",
    )
    return path


def _start(config: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = config.with_suffix(".log")
    command = [
        str(Path(sys.executable).with_name("onec-sync")),
        "--config",
        str(config),
        "exchange",
        "serve",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return process, log


def _wait_ready(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(READY):
                return line[len(READY) :].strip()
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError("the exchange server did not start:\n" + log.read_text(errors="replace"))


class _MemorySampler:
    """Peak RSS of the server, sampled from a background thread every 0.2 s."""

    def __init__(self, pid: int) -> None:
        import threading

        self.peak = 0
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def sample(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return


if __name__ == "__main__":
    run(sys.argv[1:])
