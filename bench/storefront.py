"""Storefront API under load: product list, product page and search, cold and cached; orders.

    make bench BENCH_ARGS="storefront [--products 100000] [--seconds 10] [--workers N]
                                      [--threads N] [--seed pipeline|sql] [--only KIND] [--reuse]
                                      [--instances N]"

Imports a ``bench/gen_package.py`` package of ``--products`` products into a fresh PostgreSQL
database with ``onec-sync import`` (``--seed sql``: a bulk COPY of a catalog with a wider
vocabulary), starts ``onec-sync serve`` (gunicorn; ``[storefront] workers`` and ``threads`` as a
new installation has them unless ``--workers``/``--threads`` say otherwise) on loopback and
drives it from another process
with ``wrk`` when it is installed, else with ``bench/loadgen.py`` (one lean asyncio process):
8 connections, each request a random URL of its kind, built from what is in the database. Each kind runs twice: against a
server with the response cache off (``cold``: every request reads PostgreSQL) and with Redis
caching on and the URLs warmed (``cached``), beside ``/api/v1/ping`` on the same server, the
ceiling, measured right before each kind; the cached-versus-ceiling bar is judged on alternating
2-second runs of the two, since a small machine's speed drifts under sustained load. Bars: cached
reads >= half the ceiling (issue 8); uncached product-list p99 < 50 ms, product-detail p99 < 25
ms, search p99 < 60 ms (issue 21). ``orders``: authenticated ``POST /api/v1/orders`` of small
valid orders (1-3 lines of products priced in the key's price type and in stock, a new
Idempotency-Key each), on the uncached server only (a write is never served from the cache),
always through ``bench/loadgen.py`` (it sends the bodies).

``--instances N`` (N > 1) starts N ``onec-sync serve`` processes on different ports against the
one database and the one Redis, and measures every kind a second time with the connections split
in turn across them (``bench/loadgen.py``, whose latencies are pooled for one p99), reported
beside the run against the first instance alone.

Environment: ``ONEC_SYNC_BENCH_PG_URL`` (server to create the bench database on; default the
test server), ``ONEC_SYNC_BENCH_DATABASE`` (its name; default onec_sync_bench_storefront),
``ONEC_SYNC_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/14; flushed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from config import DatabaseSettings
from config.settings import StorefrontSettings
from storefront.auth.apikeys import create_api_key
from syncd.store import migrate
from syncd.store.engine import make_engine

PG_URL = os.environ.get("ONEC_SYNC_BENCH_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ONEC_SYNC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
DATABASE = os.environ.get("ONEC_SYNC_BENCH_DATABASE", "onec_sync_bench_storefront")
CEILING = "ceiling (ping)"
ORDERS = "orders"  # POST /api/v1/orders: measured on the uncached server only
PAIRED_ROUNDS = 5
PAIRED_SECONDS = 2
CONNECTIONS = 8
NOUNS = [
    "Дрель",
    "Перфоратор",
    "Шуруповёрт",
    "Болгарка",
    "Лобзик",
    "Рубанок",
    "Фрезер",
    "Пила",
    "Молоток",
    "Отвёртка",
    "Ключ",
    "Уровень",
    "Рулетка",
    "Степлер",
    "Паяльник",
    "Краскопульт",
    "Компрессор",
    "Генератор",
    "Насос",
    "Шланг",
    "Лопата",
    "Грабли",
    "Секатор",
    "Триммер",
    "Газонокосилка",
    "Культиватор",
    "Опрыскиватель",
    "Тачка",
    "Лестница",
    "Верстак",
]
ADJECTIVES = [
    "ударная",
    "аккумуляторный",
    "сетевой",
    "профессиональный",
    "бытовой",
    "компактный",
    "мощный",
    "лёгкий",
    "усиленный",
    "садовый",
    "строительный",
    "универсальный",
    "бесщёточный",
    "электрический",
    "ручной",
    "угловой",
    "дисковая",
    "цепная",
    "сабельная",
    "торцовочная",
]
BRANDS = [
    "Bosch",
    "Makita",
    "DeWalt",
    "Metabo",
    "Hitachi",
    "Интерскол",
    "Зубр",
    "Калибр",
    "Ryobi",
    "AEG",
    "Stihl",
    "Husqvarna",
    "Patriot",
    "Вихрь",
    "Elitech",
]
WORDS = [
    "для",
    "работы",
    "по",
    "бетону",
    "металлу",
    "дереву",
    "дома",
    "дачи",
    "сада",
    "мастерской",
    "ремонта",
    "стройки",
    "комплект",
    "кейс",
    "запасной",
    "аккумулятор",
    "гарантия",
    "года",
    "прочный",
    "корпус",
    "быстрый",
    "патрон",
    "регулировка",
    "оборотов",
    "подсветка",
    "защита",
    "перегрева",
]


# --- the catalog ---------------------------------------------------------------------------------


def create_database() -> str:
    """(Re)create the bench database, migrated; returns its URL."""
    server = make_url(PG_URL)
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
    url = server.set(database=DATABASE).render_as_string(hide_password=False)
    engine = make_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    engine.dispose()
    return url


def seed_with_pipeline(url: str, products: int, work: Path) -> None:
    """Import a ``bench/gen_package.py`` package (cached under bench/out) with ``onec-sync
    import``: the catalog exactly as the daemon leaves it (the default)."""
    from bench.gen_package import PackageSpec, generate_package

    out = Path(__file__).resolve().parent / "out" / f"storefront-{products}"
    marker = out / "done"
    if not marker.exists():
        print(f"generating a {products:,}-product package into {out} ...", flush=True)
        generate_package(out, PackageSpec(products=products, variants=0, warehouses=3))
        marker.write_text("ok")
    env = {
        **os.environ,
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": url,
        "ONEC_SYNC_PATHS_DATA_DIR": str(work),
    }
    files = [str(out / "import.xml"), str(out / "offers.xml")]
    done = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", "import", *files],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"onec-sync import failed:\n{done.stdout}\n{done.stderr}")


def seed_catalog(engine: Engine, products: int, rng: random.Random) -> None:
    """Bulk-load a catalog with COPY (``--seed sql``): a wider vocabulary than the package
    generator's (30 product kinds, 15 brands), without going through the pipeline.
    """
    now = datetime.now(UTC)
    raw = engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        with connection.cursor() as cursor:
            _copy(
                cursor,
                "catalog_groups",
                [
                    "onec_id",
                    "parent_onec_id",
                    "name",
                    "sort",
                    "is_deleted",
                    "created_at",
                    "updated_at",
                ],
                _groups(now),
            )
            cursor.execute(
                "INSERT INTO price_types (onec_id, name, currency, is_deleted, created_at, "
                "updated_at) VALUES ('pt-retail', 'Розничная', 'RUB', false, now(), now()), "
                "('pt-wholesale', 'Оптовая', 'RUB', false, now(), now())"
            )
            cursor.execute(
                "INSERT INTO warehouses (onec_id, name, is_deleted, created_at, updated_at) "
                "VALUES ('wh-1', 'Основной', false, now(), now()), "
                "('wh-2', 'Магазин', false, now(), now()), ('wh-3', 'Пункт выдачи', false, "
                "now(), now())"
            )
            cursor.execute(
                "INSERT INTO properties (onec_id, name, is_multiple, is_deleted, created_at, "
                "updated_at) VALUES ('prop-brand', 'Бренд', false, false, now(), now())"
            )
            rows = list(_catalog_rows(products, rng, now))
            for table, columns in TABLES.items():
                _copy(cursor, table, columns, (r[1] for r in rows if r[0] == table))
        connection.commit()
    finally:
        raw.close()
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


TABLES = {
    "products": [
        "onec_id",
        "name",
        "sku",
        "code",
        "group_onec_id",
        "unit",
        "description",
        "brand",
        "requisites",
        "taxes",
        "is_deleted",
        "created_at",
        "updated_at",
    ],
    "product_groups": ["product_onec_id", "group_onec_id"],
    "product_property_values": ["product_onec_id", "property_onec_id", "position", "value"],
    "product_images": ["product_onec_id", "position", "path"],
    "offers": [
        "onec_id",
        "product_onec_id",
        "name",
        "sku",
        "characteristics",
        "property_values",
        "is_deleted",
        "created_at",
        "updated_at",
    ],
    "prices": [
        "offer_onec_id",
        "product_onec_id",
        "price_type_onec_id",
        "value",
        "currency",
        "updated_at",
    ],
    "stock": ["offer_onec_id", "product_onec_id", "warehouse_onec_id", "quantity", "updated_at"],
}


def _groups(now: datetime) -> Iterator[tuple[Any, ...]]:
    for top in range(20):
        yield (f"g-{top}", None, f"{NOUNS[top]} и комплектующие", top, False, now, now)
        for sub in range(10):
            yield (f"g-{top}-{sub}", f"g-{top}", f"{NOUNS[top]} {sub}", sub, False, now, now)


def _catalog_rows(
    count: int, rng: random.Random, now: datetime
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for n in range(count):
        pid = f"p-{n:07d}"
        noun, brand = rng.choice(NOUNS), rng.choice(BRANDS)
        name = f"{noun} {rng.choice(ADJECTIVES)} {brand} {rng.randint(100, 9999)}"
        description = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        group = f"g-{rng.randrange(20)}-{rng.randrange(10)}"
        yield (
            "products",
            (
                pid,
                name,
                f"SKU-{n}",
                str(n),
                group,
                "шт",
                description,
                brand,
                "[]",
                "[]",
                False,
                now,
                now,
            ),
        )
        yield "product_groups", (pid, group)
        yield "product_property_values", (pid, "prop-brand", 0, brand)
        yield "product_images", (pid, 0, f"import_files/{n % 97:02d}/{pid}.jpg")
        variants = [pid] if rng.random() < 0.8 else [f"{pid}#{v}" for v in range(3)]
        base = Decimal(rng.randint(200, 90_000))
        for index, offer in enumerate(variants):
            characteristics = (
                "[]" if offer == pid else f'[{{"name": "Вариант", "value": "{index}"}}]'
            )
            yield (
                "offers",
                (offer, pid, name, f"SKU-{n}-{index}", characteristics, "[]", False, now, now),
            )
            price = base + index * 100
            yield "prices", (offer, pid, "pt-retail", price, "RUB", now)
            yield (
                "prices",
                (
                    offer,
                    pid,
                    "pt-wholesale",
                    (price * Decimal("0.85")).quantize(Decimal("0.01")),
                    "RUB",
                    now,
                ),
            )
            per_warehouse = [rng.choice([0, 0, 1, 3, 12]) for _ in range(3)]
            yield "stock", (offer, pid, "", sum(per_warehouse), now)
            for w, quantity in enumerate(per_warehouse, start=1):
                yield "stock", (offer, pid, f"wh-{w}", quantity, now)


def _copy(cursor: Any, table: str, columns: list[str], rows: Any) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def make_key(engine: Engine) -> str:
    with Session(engine) as session:
        key = create_api_key(session, name="bench", role="shop")[1]
        session.commit()
    return key


# --- the server and the load -------------------------------------------------------------------


def serving(workers: int, threads: int) -> str:
    """How the server runs, e.g. "3 gunicorn workers (sync)"."""
    count = StorefrontSettings(workers=workers, threads=threads).worker_count()
    kind = "sync" if threads == 1 else f"gthread, {threads} threads each"
    return f"{count} gunicorn workers ({kind})"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``onec-sync serve`` (gunicorn) in a process of its own."""

    def __init__(self, database_url: str, *, cached: bool, workers: int, threads: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ONEC_SYNC_CONFIG": "",
            "ONEC_SYNC_DATABASE_URL": database_url,
            "ONEC_SYNC_DATABASE_POOL_SIZE": "8",
            "ONEC_SYNC_REDIS_URL": REDIS_URL,
            "ONEC_SYNC_STOREFRONT_JWT_SECRET": "bench-" + "s" * 40,
            "ONEC_SYNC_STOREFRONT_RATE_LIMIT": "100000000/minute",
            "ONEC_SYNC_STOREFRONT_CACHE_TTL_SECONDS": "600" if cached else "0",
            "ONEC_SYNC_STOREFRONT_THREADS": str(threads),
            "ONEC_SYNC_STOREFRONT_WORKERS": str(workers),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli",
                "serve",
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/ping", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the storefront did not start within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


_LUA = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local key = os.getenv("BENCH_KEY")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["X-API-Key"] = key, ["Accept-Encoding"] = "gzip"})
end
"""


def load(base: str, paths: list[str], key: str, seconds: int, workdir: Path) -> Result:
    """Drive the server with wrk, or (without wrk, for POSTs, or for several servers: ``base``
    is their URLs separated by commas) with ``bench/loadgen.py``."""
    if shutil.which("wrk") is None or "," in base or any(p.startswith("POST ") for p in paths):
        return load_with_loadgen(base, paths, key, seconds, workdir)
    return load_with_wrk(base, paths, key, seconds, workdir)


def load_with_loadgen(base: str, paths: list[str], key: str, seconds: int, workdir: Path) -> Result:
    """``bench/loadgen.py`` in a process of its own: one event loop, ``CONNECTIONS`` keep-alive
    connections, the same random URLs and headers as the wrk script."""
    paths_file = workdir / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            base,
            str(paths_file),
            f"--connections={CONNECTIONS}",
            f"--seconds={seconds}",
            f"--header=X-API-Key: {key}",
            "--header=Accept-Encoding: gzip",
            "--unique-header=Idempotency-Key",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.loadgen failed: {done.stderr or done.stdout}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Result(figures["rps"], figures["p50_ms"], figures["p99_ms"], int(figures["errors"]))


def load_with_wrk(base: str, paths: list[str], key: str, seconds: int, workdir: Path) -> Result:
    paths_file = workdir / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n", encoding="utf-8")
    script = workdir / "bench.lua"
    script.write_text(_LUA, encoding="utf-8")
    done = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        env={**os.environ, "BENCH_PATHS": str(paths_file), "BENCH_KEY": key},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    return _parse(done.stdout)


def _parse(output: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    count = int(errors.group(1)) if errors else 0
    if socket_errors:
        count += sum(int(g) for g in socket_errors.groups())
    return Result(rps, _ms(percentiles["50"]), _ms(percentiles["99"]), count)


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def url_sets_from(engine: Engine, rng: random.Random) -> dict[str, list[str]]:
    """Request URLs built from what is in the database, whichever way it was seeded."""
    with engine.connect() as connection:
        groups = list(connection.scalars(text("SELECT onec_id FROM catalog_groups")))
        ids = list(
            connection.scalars(
                text(
                    "SELECT onec_id FROM products WHERE NOT is_deleted ORDER BY random() LIMIT 2000"
                )
            )
        )
        names = list(
            connection.scalars(
                text("SELECT name FROM products WHERE NOT is_deleted ORDER BY random() LIMIT 60")
            )
        )
        top = connection.execute(text("SELECT max(value) FROM prices")).scalar() or 100_000
    step = max(int(top) // 16, 1)
    lists = (
        ["/api/v1/products"]
        + [
            f"/api/v1/products?{urlencode({'group': g, 'sort': rng.choice(['name', 'price', '-price'])})}"
            for g in groups
        ]
        + [
            f"/api/v1/products?in_stock=true&price_min={m}&price_max={m + step}"
            for m in range(0, int(top), step)
        ]
    )
    details = [f"/api/v1/products/{quote(i, safe='')}" for i in ids]
    # What shoppers type: a kind of product (broad), a kind and a quality, a model name.
    queries = set()
    for name in names:
        words = name.split()
        queries.update({words[0].lower(), " ".join(words[:2]).lower(), " ".join(words[-2:])})
    searches = [f"/api/v1/search?{urlencode({'q': q})}" for q in sorted(queries)]
    return {
        "product-list": lists,
        "product-detail": details,
        "search": searches,
        ORDERS: order_requests(engine, rng),
        CEILING: ["/api/v1/ping"],
    }


def order_requests(engine: Engine, rng: random.Random) -> list[str]:
    """``POST`` lines for loadgen: orders of 1-3 offers that have a price in the bench key's
    price type (the default: the first one) and stock, so that every order is accepted; each
    line carries the price the shop showed, as a shop's checkout sends it (checked against the
    catalog's)."""
    with engine.connect() as connection:
        offers = connection.execute(
            text(
                "SELECT p.product_onec_id, p.offer_onec_id, p.value FROM prices p "
                "JOIN offers o ON o.onec_id = p.offer_onec_id AND NOT o.is_deleted "
                "JOIN products pr ON pr.onec_id = p.product_onec_id AND NOT pr.is_deleted "
                "WHERE p.value > 0 AND p.price_type_onec_id = "
                "(SELECT onec_id FROM price_types WHERE NOT is_deleted ORDER BY id LIMIT 1) "
                "AND EXISTS (SELECT 1 FROM stock s WHERE s.offer_onec_id = p.offer_onec_id "
                "AND s.quantity >= 3) ORDER BY random() LIMIT 600"
            )
        ).all()
    bodies = []
    for n in range(200):
        lines = []
        for product, offer, price in rng.sample(offers, min(len(offers), rng.randint(1, 3))):
            line = {"product_id": product, "quantity": str(rng.randint(1, 3)), "price": str(price)}
            if "#" in offer:
                line["variant_id"] = offer.split("#", 1)[1]
            lines.append(line)
        customer = {"name": f"Покупатель {n}", "email": f"buyer{n}@example.ru"}
        body = json.dumps({"customer": customer, "lines": lines}, ensure_ascii=False)
        bodies.append(f"POST /api/v1/orders {body}")
    return bodies


def warm(base: str, paths: list[str], key: str) -> None:
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as client:
        for path in paths:
            client.get(path).raise_for_status()


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench storefront")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    defaults = StorefrontSettings()
    parser.add_argument("--workers", type=int, default=defaults.workers, help="0: cores + 1")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="1: sync workers")
    parser.add_argument("--only", help="one of: product-list, product-detail, search, orders")
    parser.add_argument("--reuse", action="store_true", help="keep the last run's database")
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="also measure N serve processes on one database and Redis, beside one",
    )
    parser.add_argument(
        "--seed",
        choices=["pipeline", "sql"],
        default="pipeline",
        help="import a generated package (default) or bulk-load with COPY",
    )
    args, _ = parser.parse_known_args(argv)
    generator = "wrk" if shutil.which("wrk") else "bench/loadgen.py (asyncio, one process)"
    rng = random.Random(8)
    started = time.perf_counter()
    if args.reuse:
        url = make_url(PG_URL).set(database=DATABASE).render_as_string(hide_password=False)
        engine = make_engine(DatabaseSettings(url=url))
    else:
        url = create_database()
        engine = make_engine(DatabaseSettings(url=url))
        if args.seed == "sql":
            seed_catalog(engine, args.products, rng)
        else:
            with tempfile.TemporaryDirectory() as work:
                seed_with_pipeline(url, args.products, Path(work))
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE")
                )
    key = make_key(engine)
    print(
        f"seeded {args.products:,} products in {time.perf_counter() - started:.0f}s; "
        f"{CONNECTIONS} connections, {args.seconds}s per run, {serving(args.workers, args.threads)}"
    )
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    with engine.connect() as connection:
        counts = {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("products", "offers", "prices", "stock")
        }
    print("catalog: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
    sets = url_sets_from(engine, rng)
    if args.only:
        sets = {name: paths for name, paths in sets.items() if name in (args.only, CEILING)}
    results: dict[tuple[str, str], Result] = {}
    ceilings: dict[tuple[str, str], Result] = {}
    shares: dict[str, tuple[float, float, float]] = {}
    several: dict[tuple[str, str], Result] = {}
    several_ceilings: dict[tuple[str, str], Result] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("cold", "cached"):
            servers = [
                Server(url, cached=mode == "cached", workers=args.workers, threads=args.threads)
                for _ in range(max(args.instances, 1))
            ]
            server, every = servers[0], ",".join(s.base for s in servers)
            try:
                ping = sets[CEILING]
                for name, paths in sets.items():
                    if name == CEILING or (name == ORDERS and mode == "cached"):
                        continue
                    # Every URL once first, in both modes: the cached runs then read the
                    # response cache, the uncached ones a database whose pages are in memory,
                    # as a running shop's are (a freshly seeded one is partly on disk still).
                    if name != ORDERS:
                        warm(server.base, paths, key)
                    # The ceiling right before each kind: a 2-core machine's speed drifts
                    # under sustained load, and a ceiling measured minutes apart misleads.
                    ceiling = load(server.base, ping, key, args.seconds, Path(tmp))
                    ceilings[(name, mode)] = ceiling
                    results[(name, mode)] = load(server.base, paths, key, args.seconds, Path(tmp))
                    if len(servers) > 1:
                        several[(name, mode)] = load(every, paths, key, args.seconds, Path(tmp))
                        several_ceilings[(name, mode)] = load(
                            every, ping, key, args.seconds, Path(tmp)
                        )
                    if mode == "cached":
                        shares[name] = paired_share(server.base, paths, ping, key, Path(tmp))
            finally:
                for running in servers:
                    running.stop()
    engine.dispose()
    report(results, ceilings, shares)
    if several:
        report_instances(args.instances, results, ceilings, several, several_ceilings)
    print(f"load generator: {generator}")
    print(
        f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} cores (other processes on the machine distort tail latency)"
    )


def paired_share(
    base: str, paths: list[str], ping: list[str], key: str, workdir: Path
) -> tuple[float, float, float]:
    """(kind / ceiling, kind req/s, ceiling req/s) from alternating short runs of each, so that
    both see the same phases of a machine whose speed drifts; the bar is judged on this."""
    kind = ceiling = 0.0
    for _ in range(PAIRED_ROUNDS):
        ceiling += load(base, ping, key, PAIRED_SECONDS, workdir).rps
        kind += load(base, paths, key, PAIRED_SECONDS, workdir).rps
    return kind / ceiling, kind / PAIRED_ROUNDS, ceiling / PAIRED_ROUNDS


def report(
    results: dict[tuple[str, str], Result],
    ceilings: dict[tuple[str, str], Result],
    shares: dict[str, tuple[float, float, float]],
) -> None:
    print(f"{'endpoint':<16} {'mode':<7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for (name, mode), r in results.items():
        if name == CEILING:
            continue
        c = ceilings[(name, mode)]
        print(f"{name:<16} {mode:<7} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>7}")
        print(
            f"  {CEILING:<14} {mode:<7} {c.rps:>9.0f} {c.p50_ms:>8.2f} {c.p99_ms:>8.2f} {c.errors:>7}"
        )
    kinds = [name for name in dict.fromkeys(n for n, _m in results) if name != CEILING]
    for name in (k for k in kinds if k in shares):
        share, kind_rps, ceiling_rps = shares[name]
        verdict = "ok" if share >= 0.5 else "MISSED"
        print(
            f"bar: cached {name} at {share:.0%} of the ceiling (>= 50%): {verdict} "
            f"({kind_rps:,.0f} vs {ceiling_rps:,.0f} req/s, {PAIRED_ROUNDS} alternating "
            f"{PAIRED_SECONDS} s runs of each)"
        )
    for name, bar in (("product-list", 50.0), ("product-detail", 25.0), ("search", 60.0)):
        if (name, "cold") in results:
            p99 = results[(name, "cold")].p99_ms
            verdict = "ok" if p99 < bar else "MISSED"
            print(f"bar: uncached {name} p99 {p99:.1f} ms (< {bar:.0f} ms): {verdict}")


def report_instances(
    count: int,
    one: dict[tuple[str, str], Result],
    one_ceilings: dict[tuple[str, str], Result],
    several: dict[tuple[str, str], Result],
    several_ceilings: dict[tuple[str, str], Result],
) -> None:
    """Each kind against one instance and against ``count`` (connections split across them)."""
    print(f"{count} instances (one database, one Redis) beside one, {CONNECTIONS} connections:")
    print(f"{'endpoint':<16} {'mode':<7} {'instances':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for (name, mode), alone in one.items():
        rows = [
            (name, 1, alone),
            (name, count, several[(name, mode)]),
            (CEILING, 1, one_ceilings[(name, mode)]),
            (CEILING, count, several_ceilings[(name, mode)]),
        ]
        for label, instances, r in rows:
            print(
                f"{label:<16} {mode:<7} {instances:>9} {r.rps:>9.0f} {r.p50_ms:>8.2f} "
                f"{r.p99_ms:>8.2f}"
            )
