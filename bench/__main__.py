"""``python -m bench [name ...] [--option ...]``: run the named benchmarks (default: all).

Each benchmark is a module ``bench/<name>.py`` with ``run(argv: list[str]) -> None`` that prints
its figures. Options after the names are passed to every named benchmark, which reads the ones
it knows (``argparse.parse_known_args``) - e.g. ``make bench BENCH_ARGS="readers --products
100000"``.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = ["readers", "import", "exchange", "odata", "storefront", "backup", "console", "changes"]
MODULES = {"import": "importer"}  # `import` is a keyword: its module has another name


def split(argv: list[str]) -> tuple[list[str], list[str]]:
    """Benchmark names (leading words) and the options that follow them."""
    for index, arg in enumerate(argv):
        if arg.startswith("-"):
            return argv[:index], argv[index:]
    return argv, []


def main(argv: list[str]) -> int:
    names, options = split(argv)
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}")
        return 2
    for name in names or BENCHES:
        print(f"=== bench {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{MODULES.get(name, name)}").run(options)
        print(f"=== bench {name}: {time.perf_counter() - started:.0f}s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
