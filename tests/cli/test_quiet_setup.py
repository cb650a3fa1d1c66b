"""What a new operator types first works as written: libpq-style URLs, no foreign log lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from cli import main


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_libpq_style_database_url_is_accepted(empty_pg_url: str, scheme: str) -> None:
    url = make_url(empty_pg_url).set(drivername=scheme).render_as_string(hide_password=False)
    env = {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": url}
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    current = CliRunner().invoke(main, ["db", "current"], env=env)
    assert current.exit_code == 0, current.output
    assert "up to date" in current.output


def test_sync_folder_prints_no_alembic_lines(tmp_path: Path, fresh_sqlite_url: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": fresh_sqlite_url,
        "ONEC_SYNC_FOLDER_INBOX": str(inbox),
        "ONEC_SYNC_LOGGING_FORMAT": "text",
    }
    # A process of its own: Alembic announces its plugins once per process, at its first use.
    onec_sync = str(Path(sys.executable).with_name("onec-sync"))
    result = subprocess.run(
        [onec_sync, "sync", "folder"], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "alembic" not in (result.stdout + result.stderr).lower()
    assert result.stdout.startswith("folder_scan")
