"""Readers benchmark: CommerceML readers against a bare lxml pass over the same files.

    python -m bench readers [--products 1000000] [--variants 0] [--out DIR] [--repeat 1]

Generates (once, into bench/out/; reused while its spec is unchanged) a package with
``bench/gen_package.py`` - about 4.7 GB for the default 1,000,000 products -
then for import.xml and offers.xml runs, each in a fresh child process:

* ``bare``: ``lxml.etree.iterparse(path, events=("end",))`` clearing each element - the
  ceiling for anything built on lxml;
* ``readers``: ``open_document(path).records()``, every record built.

It prints MB/s, records/s and peak RSS of each, the readers/bare ratio, and checks the bar:
readers' peak RSS under 150 MB and at least half the bare throughput.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import own_peak_rss_mb
from bench.gen_package import PackageSpec, generate_package

ROOT = Path(__file__).resolve().parent
RSS_BAR_MB = 150.0
RATIO_BAR = 0.5


@dataclass(frozen=True)
class Pass:
    mode: str
    seconds: float
    records: int
    products: int  # Product records (import) or offers (offers.xml)
    peak_rss_mb: float


def _child(mode: str, path: str) -> Pass:
    """One measured pass, run in its own process so peak RSS is its own."""
    started = time.perf_counter()
    records = products = 0
    if mode == "bare":
        from lxml import etree

        for _, element in etree.iterparse(path, events=("end",)):
            element.clear()
            records += 1
    else:
        from exchange_formats.commerceml import open_document
        from exchange_formats.records import Offer, Product

        for record in open_document(path).records():
            records += 1
            if isinstance(record, Product | Offer):
                products += 1
    seconds = time.perf_counter() - started
    peak = own_peak_rss_mb()
    return Pass(mode, seconds, records, products, peak)


def _measure(mode: str, path: Path) -> Pass:
    out = subprocess.run(
        [sys.executable, "-m", "bench.readers", "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
    )
    return Pass(**json.loads(out.stdout.strip().splitlines()[-1]))


def _package(out: Path, spec: PackageSpec) -> list[Path]:
    marker = out / "spec.json"
    wanted = json.dumps(asdict(spec), sort_keys=True)
    if not (marker.exists() and marker.read_text() == wanted):
        print(f"generating {spec.products:,} products into {out} ...", flush=True)
        started = time.perf_counter()
        marker.unlink(missing_ok=True)
        package = generate_package(out, spec)
        marker.write_text(wanted)
        size = sum(path.stat().st_size for path in package.files) / 1e6
        print(f"  {size:,.0f} MB in {time.perf_counter() - started:.0f}s", flush=True)
    return [out / "import.xml", out / "offers.xml"]


def _report(path: Path, bare: Pass, readers: Pass) -> bool:
    size_mb = path.stat().st_size / 1e6
    ratio = bare.seconds / readers.seconds
    what = "products" if path.name.startswith("import") else "offers"
    print(f"{path.name}: {size_mb:,.0f} MB")
    for run in (bare, readers):
        print(
            f"  {run.mode:8s} {run.seconds:7.1f}s {size_mb / run.seconds:7.1f} MB/s "
            f"{run.records / run.seconds:10,.0f} records/s  peak RSS {run.peak_rss_mb:6.1f} MB"
        )
    print(f"  readers: {readers.products / readers.seconds:,.0f} {what}/s")
    rss_ok = readers.peak_rss_mb < RSS_BAR_MB
    ratio_ok = ratio >= RATIO_BAR
    print(
        f"  readers/bare throughput {ratio:.2f} (bar >= {RATIO_BAR}): "
        f"{'PASS' if ratio_ok else 'FAIL'}; peak RSS {readers.peak_rss_mb:.0f} MB "
        f"(bar < {RSS_BAR_MB:.0f}): {'PASS' if rss_ok else 'FAIL'}",
        flush=True,
    )
    return rss_ok and ratio_ok


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench readers")
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--variants", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="best of N passes each")
    args, _ = parser.parse_known_args(argv)
    spec = PackageSpec(products=args.products, variants=args.variants)
    out = args.out or ROOT / "out" / f"readers-{args.products}-{args.variants}"
    passed = True
    for path in _package(out, spec):
        bare = min((_measure("bare", path) for _ in range(args.repeat)), key=lambda p: p.seconds)
        readers = min(
            (_measure("readers", path) for _ in range(args.repeat)), key=lambda p: p.seconds
        )
        passed = _report(path, bare, readers) and passed
    print(f"readers bench: {'PASS' if passed else 'FAIL'}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(asdict(_child(sys.argv[2], sys.argv[3]))))
    else:
        run(sys.argv[1:])
