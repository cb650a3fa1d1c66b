"""The daemon part of ``make demo``: ``onec-sync run`` as a child process, fed through its inbox.

``run_daemon_demo`` writes a configuration beside the demo's (same database and data folder, a
folder inbox, ``folder_scan`` every second), starts the daemon the way systemd does (a notify
socket, a watchdog), drops a package into the inbox, waits until the daemon has imported it and
moved it to ``done/``, reads /health, /ready and /metrics, then stops it with SIGTERM.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from config import Settings
from syncd.daemon.supervise import DaemonFailed, start_daemon, wait_until


@dataclass(frozen=True, slots=True)
class DaemonDemoSummary:
    ok: bool
    url: str
    config: Path
    log: Path
    seconds_to_import: float | None  # from dropping the package to it being in done/
    outcome: str | None  # the folder_scan job's last outcome
    ready: bool
    records_written: float  # onec_sync_records_written_total{stream="folder"}
    watchdog_pings: int
    exit_code: int
    seconds_to_stop: float
    failures: tuple[str, ...]


def write_daemon_config(settings: Settings, demo_dir: Path) -> Path:
    """A configuration for the demo daemon on ``settings``' database and data folder."""
    path = demo_dir / "onec-syncd.toml"
    tables: dict[str, dict[str, object]] = {
        "database": {"url": settings.database.url},
        "paths": {"data_dir": str(settings.paths.data_dir)},
        "folder": {
            "inbox": str(demo_dir / "inbox"),
            "settle_seconds": 1.0,
            "recheck_seconds": 0.2,
        },
        "daemon": {
            "http_listen": "127.0.0.1:0",
            "ops_listen": "127.0.0.1:0",
            "stop_timeout_seconds": 20.0,
        },
        "daemon.schedules": {"folder_scan": "every 1s", "housekeeping": "every 1h"},
        "logging": {"format": "json"},
    }
    lines = ["# Written by `make demo`: the daemon's part (see config/onec-sync.example.toml)"]
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (demo_dir / "inbox").mkdir(parents=True, exist_ok=True)
    return path


def run_daemon_demo(
    settings: Settings,
    demo_dir: Path,
    package: Path,
    *,
    say: Callable[[str], None] = print,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> DaemonDemoSummary:
    """Run the daemon on ``settings``' (migrated) database and import ``package`` (a folder)
    through its inbox; never raises for the daemon's failures, the summary says them."""
    config = write_daemon_config(settings, demo_dir)
    log = demo_dir / "onec-syncd.log"
    failures: list[str] = []
    # The details of /health, /ready and /metrics answer an operator's token on the daemon's port.
    token = secrets.token_urlsafe(24)
    env = {**(env or {}), "ONEC_SYNC_DAEMON_OPS_TOKEN": token}
    operator = {"Authorization": f"Bearer {token}"}
    try:
        daemon = start_daemon(config, log=log, env=env, watchdog_seconds=2, ready_timeout=timeout)
    except DaemonFailed as exc:
        return _failed(config, log, f"the daemon did not start: {exc}")
    say(f"daemon pid {daemon.pid} ready, serving {daemon.url} (log: {log})")
    dropped = time.monotonic()
    _drop(package, demo_dir / "inbox" / package.name)
    say(f"dropped {package.name}/ into {demo_dir / 'inbox'} with a 'complete' marker")
    done = demo_dir / "done"
    imported = wait_until(lambda: done.exists() and any(done.iterdir()), timeout=timeout)
    took = time.monotonic() - dropped if imported else None
    if not imported:
        failures.append(f"the package was not imported within {timeout:.0f}s")
    health = httpx.get(daemon.url + "/health", headers=operator, timeout=10).json()
    ready = httpx.get(daemon.url + "/ready", timeout=10).status_code == 200
    metrics = httpx.get(daemon.url + "/metrics", headers=operator, timeout=10).text
    written = _metric(metrics, stream="folder")
    outcome = health["jobs"]["folder_scan"]["last_outcome"]
    asked = time.monotonic()
    code = daemon.stop(timeout=60)
    stopped = time.monotonic() - asked
    if not ready:
        failures.append("/ready did not answer 200")
    if code != 0:
        failures.append(f"the daemon exited with {code} on SIGTERM")
    return DaemonDemoSummary(
        ok=not failures, url=daemon.url, config=config, log=log, seconds_to_import=took,
        outcome=outcome, ready=ready, records_written=written,
        watchdog_pings=daemon.count("WATCHDOG=1"), exit_code=code, seconds_to_stop=stopped,
        failures=tuple(failures),
    )  # fmt: skip


def _drop(package: Path, target: Path) -> None:
    """Copy beside the inbox, then move in with the marker: the daemon never sees half of it."""
    staging = target.with_name(f".{target.name}")
    shutil.copytree(package, staging)
    (staging / "complete").touch()
    staging.rename(target)


def _metric(text: str, *, stream: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "onec_sync_records_written_total" and (
                sample.labels.get("stream") == stream
            ):
                return float(sample.value)
    return 0.0


def _failed(config: Path, log: Path, reason: str) -> DaemonDemoSummary:
    return DaemonDemoSummary(
        ok=False, url="", config=config, log=log, seconds_to_import=None, outcome=None,
        ready=False, records_written=0.0, watchdog_pings=0, exit_code=-1, seconds_to_stop=0.0,
        failures=(reason,),
    )  # fmt: skip
