"""``onec-sync console serve``: where it listens, what it needs, how it stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from cli import main
from tests.conftest import REPO_ROOT


def test_serving_without_a_secret_key_is_a_one_line_error_naming_the_setting(
    fresh_sqlite_url: str,
) -> None:
    env = {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": fresh_sqlite_url}
    result = CliRunner().invoke(main, ["console", "serve"], env=env)
    assert result.exit_code == 78
    assert "ONEC_SYNC_CONSOLE_SECRET_KEY" in result.output
    assert "Traceback" not in result.output


def test_the_console_serves_its_login_page_on_loopback_and_stops_on_sigterm(
    fresh_sqlite_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": fresh_sqlite_url,
        "ONEC_SYNC_PATHS_DATA_DIR": str(tmp_path),
        "ONEC_SYNC_CONSOLE_SECRET_KEY": "s" * 40,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "console", "serve", "--listen", "127.0.0.1:0"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving the operator console at http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1].strip()
        reply = httpx.get(f"{url}login", timeout=10)
        assert reply.status_code == 200
        assert "csrf_token" in reply.text
        assert "default-src 'none'" in reply.headers["content-security-policy"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_console_unit_is_accepted_by_systemd_and_runs_console_serve(tmp_path: Path) -> None:
    import shutil

    import pytest

    from tests.daemon.test_systemd import read_unit

    service = {k: v[-1] for k, v in read_unit("onec-console.service")["Service"].items()}
    assert service["ExecStart"].endswith("onec-sync console serve")
    assert service["RestartPreventExitStatus"] == "78"
    assert service["LoadCredential"] == "console:/etc/onec-sync/credentials/console"
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze here")
    text = (REPO_ROOT / "systemd" / "onec-console.service").read_text(encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    unit = tmp_path / "onec-console.service"
    unit.write_text(text.replace("/opt/onec-sync/venv/bin/", f"{bin_dir}/"), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
