"""The exchange server as a separate process (``onec-sync exchange serve``), as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

READY = "serving the 1C exchange at "


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    config: Path
    log: Path

    def stop(self) -> str:
        """SIGTERM, wait, and return what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.log.read_text(encoding="utf-8", errors="replace")


def write_config(
    path: Path, *, database_url: str, data_dir: Path, exchange: dict[str, object]
) -> Path:
    lines = [
        "[database]",
        f'url = "{database_url}"',
        "[paths]",
        f'data_dir = "{data_dir}"',
        "[daemon]",
        'http_listen = "127.0.0.1:0"',
        "http_threads = 4",
        "[logging]",
        'format = "text"',
        "[exchange]",
    ]
    for key, value in exchange.items():
        rendered = (
            f'"{value}"'
            if isinstance(value, str)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        lines.append(f"{key} = {rendered}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_server(config: Path, *, timeout: float = 60.0) -> ServerProcess:
    """Start ``onec-sync exchange serve`` on a free port; its output goes to a file beside."""
    command = [
        str(Path(sys.executable).with_name("onec-sync")),
        "--config",
        str(config),
        "exchange",
        "serve",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ONEC_SYNC_CONFIG", None)
    log = config.with_suffix(".log")
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(READY):
                return ServerProcess(process, line[len(READY) :].strip(), config, log)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the exchange server did not start:\n" + log.read_text(errors="replace"))
