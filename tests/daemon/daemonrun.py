"""Running ``onec-sync run`` as a real process in tests: its configuration, HTTP and metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from syncd.daemon.supervise import DaemonProcess, start_daemon


def write_config(
    path: Path,
    *,
    database_url: str,
    root: Path,
    schedules: dict[str, str],
    daemon: dict[str, Any] | None = None,
    folder: dict[str, Any] | None = None,
    extra: str = "",
) -> Path:
    """A configuration with a folder inbox under ``root`` and the given schedules."""
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[str, Any]] = {
        "database": {"url": database_url},
        "paths": {"data_dir": str(root / "data")},
        "folder": {
            "inbox": str(root / "inbox"),
            "settle_seconds": 0.5,
            "recheck_seconds": 0.2,
            **(folder or {}),
        },
        "daemon": {
            "http_listen": "127.0.0.1:0",
            "ops_listen": "127.0.0.1:0",
            "http_threads": 4,
            "stop_timeout_seconds": 20.0,
            "backoff_max_seconds": 3.0,
            **(daemon or {}),
        },
        "daemon.schedules": schedules,
        "logging": {"format": "json", "level": "INFO"},
    }
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


# The details of /health, /ready and /metrics answer this token on the daemon's port.
OPS_TOKEN = "tests-operator-token-0123456789"


def launch(config: Path, **kw: Any) -> DaemonProcess:
    kw["env"] = {"ONEC_SYNC_DAEMON_OPS_TOKEN": OPS_TOKEN, **(kw.get("env") or {})}
    return start_daemon(config, log=config.with_suffix(f".{_next()}.log"), **kw)


def get(daemon: DaemonProcess, path: str) -> httpx.Response:
    """``path`` as an operator sees it (with the ops token)."""
    return httpx.get(
        daemon.url + path, headers={"Authorization": f"Bearer {OPS_TOKEN}"}, timeout=10
    )


def health(daemon: DaemonProcess) -> dict[str, Any]:
    body: dict[str, Any] = get(daemon, "/health").json()
    return body


def scrape(daemon: DaemonProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, parsed by prometheus_client: (name, labels) -> value."""
    response = get(daemon, "/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:  # fmt: skip
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= set(lab))


def log_entries(daemon: DaemonProcess) -> list[dict[str, Any]]:
    entries = []
    for line in daemon.log_text().splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


_launches = iter(range(1, 1000))


def _next() -> int:
    return next(_launches)
