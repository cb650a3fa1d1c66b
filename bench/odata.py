"""OData pull benchmark: a large catalog from a synthetic 1C, first pull and incremental pulls.

    python -m bench odata [--products 100000] [--page-size 500] [--changed 10] [--database-url URL]

A synthetic 1C (an ``httpx.MockTransport`` that builds each page on demand, so it costs no
memory of its own) serves ``Catalog_Номенклатура``. In a fresh child process, for peak RSS:

* ``first``: the full pull, page by page, each page committed with its cursor;
* ``changed``: ``--changed`` products edited in 1C: the DataVersion scan plus fetching those;
* ``unchanged``: the same again with nothing changed: the scan only, nothing written.

It prints seconds, products/s, requests and peak RSS of each, and checks the bar: the first pull
writes every product, the second exactly the changed ones, the third none; peak RSS stays under
250 MB at 100,000 products. SQLite in a temporary folder unless ``--database-url`` is given.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import own_peak_rss_mb

RSS_BAR_MB = 250.0
BASE = "https://1c.bench/base/odata/standard.odata/"
ENTITY = "Catalog_Номенклатура"
_NS = uuid.UUID("6f1c0d0e-0000-4000-8000-00000000bec0")
_REF = re.compile(r"guid'([0-9a-f-]{36})'")


@dataclass(frozen=True)
class Pass:
    name: str
    seconds: float
    requests: int
    written: int
    unchanged: int
    peak_rss_mb: float


class Synthetic1C:
    """Products ``0..n-1``, sorted by Ref_Key as 1C would for ``$orderby=Ref_Key``."""

    def __init__(self, products: int, changed: set[int]) -> None:
        self.refs = sorted((str(uuid.uuid5(_NS, str(i))), i) for i in range(products))
        self.index = dict(self.refs)
        self.changed = changed
        self.requests = 0

    def row(self, ref: str, i: int, select: list[str]) -> dict[str, Any]:
        edited = i in self.changed
        full = {
            "Ref_Key": ref,
            "DataVersion": "AAAAAgAAAAA=" if edited else "AAAAAQAAAAA=",
            "DeletionMark": False,
            "IsFolder": False,
            "Code": f"00-{i:08d}",
            "Description": f"Товар {i}" + (" (изменён)" if edited else ""),
            "Артикул": f"ART-{i}",
            "Описание": f"Описание товара {i}, нержавеющая сталь, гарантия 5 лет",
            "Parent_Key": "00000000-0000-0000-0000-000000000000",
        }
        return {key: full[key] for key in select if key in full}

    def __call__(self, request: Any) -> Any:
        import httpx

        self.requests += 1
        params = request.url.params
        select = params.get("$select", "").split(",")
        found = _REF.findall(params.get("$filter", ""))
        if found:
            rows = [self.row(ref, self.index[ref], select) for ref in found if ref in self.index]
        else:
            skip, top = int(params.get("$skip", 0)), int(params.get("$top", len(self.refs)))
            rows = [self.row(ref, i, select) for ref, i in self.refs[skip : skip + top]]
        return httpx.Response(200, json={"value": rows})


def _child(products: int, page_size: int, changed: int, database_url: str, name: str) -> Pass:
    import httpx

    from config import DatabaseSettings, ODataSettings, Settings
    from syncd.odata.sync import run_odata_sync
    from syncd.store import migrate
    from syncd.store.engine import make_engine

    spread = range(0, products, max(products // max(changed, 1), 1))
    edited = set() if name == "first" else set(list(spread)[:changed])  # 1C after the edit
    fake = Synthetic1C(products, edited)
    settings = Settings(
        database=DatabaseSettings(url=database_url),
        odata=ODataSettings(url=BASE, page_size=page_size, check_metadata=False),
    )
    engine = make_engine(settings.database)
    if name == "first":
        migrate.upgrade(engine)
    started = time.perf_counter()
    result = run_odata_sync(
        settings, engine, stream="products", transport=httpx.MockTransport(fake)
    )
    seconds = time.perf_counter() - started
    # product rows (each product also writes its own offer, counted under "offers")
    counts = result.streams[0].counts.by_table.get("products", {})
    assert result.outcome in ("succeeded", "unchanged"), result
    rss = own_peak_rss_mb()
    written = sum(counts.get(k, 0) for k in ("inserted", "updated", "deleted", "hidden"))
    return Pass(name, seconds, fake.requests, written, counts.get("unchanged", 0), rss)


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench odata")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    if args.child:
        result = _child(args.products, args.page_size, args.changed, args.database_url, args.child)
        print(json.dumps(asdict(result)))
        return
    with tempfile.TemporaryDirectory(prefix="onec-bench-odata-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        passes = [_spawn(args, url, name) for name in ("first", "changed", "unchanged")]
    _report(passes, args)


def _spawn(args: argparse.Namespace, url: str, name: str) -> Pass:
    command = [sys.executable, "-m", "bench", "odata", "--child", name,
               "--products", str(args.products), "--page-size", str(args.page_size),
               "--changed", str(args.changed), "--database-url", url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in out.splitlines() if text.startswith("{"))
    return Pass(**json.loads(line))


def _report(passes: list[Pass], args: argparse.Namespace) -> None:
    print(f"{args.products} products, pages of {args.page_size}, {args.changed} changed")
    for p in passes:
        rate = args.products / p.seconds if p.seconds else 0.0
        print(
            f"  {p.name:<9} {p.seconds:7.2f} s  {rate:9.0f} products/s scanned  "
            f"{p.requests:5d} requests  written {p.written:7d}  unchanged {p.unchanged:7d}  "
            f"peak RSS {p.peak_rss_mb:6.1f} MB"
        )
    first, changed, unchanged = passes
    checks = {
        "first pull writes every product": first.written == args.products,
        "second pull writes exactly the changed": changed.written == args.changed,
        "third pull writes nothing": unchanged.written == 0,
        f"peak RSS under {RSS_BAR_MB:.0f} MB": max(p.peak_rss_mb for p in passes) < RSS_BAR_MB,
    }
    for label, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {label}")
