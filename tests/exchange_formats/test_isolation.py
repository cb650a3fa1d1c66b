"""exchange_formats stands alone: importing it pulls in nothing else of ours, and no
database, HTTP, web or cache library."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = (
    "sqlalchemy",
    "httpx",
    "flask",
    "redis",
    "psycopg",
    "syncd",
    "storefront",
    "config",
    "cli",
)


def test_importing_exchange_formats_loads_nothing_forbidden() -> None:
    script = (
        "import json, sys\n"
        "import exchange_formats, exchange_formats.records, exchange_formats.commerceml\n"
        "from exchange_formats.commerceml import detect, open_document, read_orders, write_orders\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    offenders = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert "lxml.etree" in loaded  # the check is real: the package itself did load
