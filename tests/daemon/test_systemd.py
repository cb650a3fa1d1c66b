"""The systemd units: `systemd-analyze verify` accepts them, they carry what an operator
expects, and gunicorn with our configuration speaks the notify protocol as Type=notify needs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config import DaemonSettings
from syncd.daemon.supervise import start_daemon

REPO = Path(__file__).resolve().parents[2]
UNITS = ["onec-syncd.service", "onec-storefront.service"]
VENV_BIN = Path(sys.executable).parent


def read_unit(name: str) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value (keys may repeat in unit files)."""
    sections: dict[str, dict[str, list[str]]] = {}
    section = ""
    for line in (REPO / "systemd" / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            sections[section] = {}
            continue
        key, _, value = line.partition("=")
        sections[section].setdefault(key, []).append(value)
    return sections


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verify_accepts_both_units(tmp_path: Path) -> None:
    for name in UNITS:  # the executables must exist: point them at this checkout's venv
        text = (REPO / "systemd" / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/onec-sync/venv/bin/", f"{VENV_BIN}/"))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # no warnings either


@pytest.mark.parametrize("name", UNITS)
def test_units_are_notify_services_with_a_watchdog_and_the_usual_hardening(name: str) -> None:
    service = read_unit(name)["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["Type"] == "notify"
    assert int(one["WatchdogSec"]) > 0
    assert one["Restart"] == "on-failure"
    assert one["User"] == "onec-sync"
    assert one["ProtectSystem"] == "strict"
    for flag in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert one[flag] == "true", flag
    assert "/var/lib/onec-sync" in one["ReadWritePaths"]
    assert one["EnvironmentFile"].startswith("-/etc/onec-sync/")
    assert service["LoadCredential"]
    assert one["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_the_daemon_unit_gives_the_daemon_time_to_stop_and_does_not_loop_on_config_errors() -> None:
    service = {k: v[-1] for k, v in read_unit("onec-syncd.service")["Service"].items()}
    assert int(service["TimeoutStopSec"]) > DaemonSettings().stop_timeout_seconds
    assert service["RestartPreventExitStatus"] == "78"
    assert service["ExecStart"].endswith("onec-sync run")
    credentials = read_unit("onec-syncd.service")["Service"]["LoadCredential"]
    # <id>:<directory> loads <directory>/<file> as <id>_<file>: the loader's <table>_<key>
    assert "exchange:/etc/onec-sync/credentials/exchange" in credentials


def test_gunicorn_runs_the_storefront_as_the_unit_does_says_ready_and_pings_the_watchdog(
    fresh_sqlite_url: str, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service = {k: v[-1] for k, v in read_unit("onec-storefront.service")["Service"].items()}
    exec_start = service["ExecStart"].split()
    assert exec_start[1:3] == ["--config", "/etc/onec-sync/gunicorn.conf.py"]
    gunicorn = [  # the unit's command, with this checkout's paths
        str(VENV_BIN / "gunicorn"), "--config", str(REPO / "systemd" / "gunicorn.conf.py"),
        "--chdir", str(REPO), *exec_start[3:],
    ]  # fmt: skip
    env = {
        "ONEC_SYNC_STOREFRONT_LISTEN": f"127.0.0.1:{port}",
        "ONEC_SYNC_STOREFRONT_WORKERS": "2",
        "ONEC_SYNC_STOREFRONT_JWT_SECRET": "x" * 48,
        "ONEC_SYNC_DATABASE_URL": fresh_sqlite_url,
        "PYTHONPATH": str(REPO),
    }
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    server = start_daemon(
        config, log=tmp_path / "gunicorn.log", env=env, watchdog_seconds=1, command=gunicorn
    )
    try:
        ready = server.wait_for("READY=1")
        server.wait_for("WATCHDOG=1", after=ready, timeout=5)
    finally:
        code = server.stop(timeout=30)
    assert code == 0, server.log_text()
    assert server.count("STOPPING=1") == 1
