"""The README's "Running it for real" steps work when pasted into a shell.

Its ``sh`` blocks run in order, as one bash script, in a folder that looks like a clone (the
Makefile, setup.cfg, the virtualenv and examples/), against a new PostgreSQL role and database.
Only what must differ on a shared test machine is replaced: the role and database name and the
two listen ports (each replacement must be found in the README, so the test follows it). It ends
with the exchange having accepted the emulator's package and the storefront answering.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from tests.conftest import PG_URL, REPO_ROOT, service_missing

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CLONE_PARTS = ("Makefile", "setup.cfg", "pyproject.toml", ".venv", "examples")


def readme_blocks() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running it for real", 1)[1].split("\n## ", 1)[0]
    section = section.split("\n### ", 1)[0]
    return [
        "\n".join(line.removeprefix("   ") for line in block.splitlines())
        for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def admin() -> Iterator[Engine]:
    engine = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        service_missing("PostgreSQL")
    yield engine
    engine.dispose()


def test_the_readme_steps_end_with_the_exchange_and_the_storefront_working(
    tmp_path: Path, admin: Engine
) -> None:
    script = "\n".join(readme_blocks())
    name = f"onec_sync_readme_{uuid.uuid4().hex[:8]}"
    replacements = {
        "onec_sync": name,  # the role and the database (ONEC_SYNC_ variables are upper case)
        "127.0.0.1:8081": f"127.0.0.1:{free_port()}",
        "127.0.0.1:8000": f"127.0.0.1:{free_port()}",
    }
    for old, new in replacements.items():
        assert old in script, f"the README no longer says {old!r}"
        script = script.replace(old, new)
    clone = tmp_path / "clone"
    clone.mkdir()
    for part in CLONE_PARTS:
        (clone / part).symlink_to(REPO_ROOT / part)
    pg = make_url(PG_URL)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ONEC_SYNC_") and not key.startswith("PG")
    }
    env |= {"PGHOST": pg.host or "127.0.0.1", "PGPORT": str(pg.port or 5432)}
    env |= {"PGDATABASE": pg.database or "postgres"}
    if pg.username:
        env["PGUSER"] = pg.username
    log = tmp_path / "readme.log"
    (tmp_path / "readme.sh").write_text("set -euo pipefail\n" + script + "\n", encoding="utf-8")
    with log.open("wb") as out:
        shell = subprocess.Popen(
            ["bash", str(tmp_path / "readme.sh")],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            status = shell.wait(240)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGTERM)  # the servers it left in the background
            shell.wait(30)
            _drop(admin, name)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert status == 0, output
    assert "Traceback" not in output
    assert "exchange FAILED" not in output
    assert "migrated empty ->" in output
    assert "exchange OK" in output  # the emulator's package went through the exchange
    assert '{"items":[{"id":' in output  # the storefront answered with the imported products


def _drop(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        for _ in range(50):
            alive = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            ).scalar_one()
            if not alive:
                break
            time.sleep(0.2)
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for role in (name, f"{name}_owner"):  # the runtime role and the schema's owner
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
