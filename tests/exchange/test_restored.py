"""A database restored from a backup takes the next 1C exchange where the backup left off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from config import DatabaseSettings
from syncd.exchange.emulator import emulate
from syncd.store import backup
from tests.exchange.conftest import LOGIN, PASSWORD_HASH
from tests.exchange.serverproc import ServerProcess, start_server, write_config
from tests.exchange.test_e2e import audits, catalog_state, make_package, options, quiet

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def serve(tmp_path: Path, url: str, name: str) -> ServerProcess:
    exchange = {"username": LOGIN, "password_hash": PASSWORD_HASH, "import_wait_seconds": 0.5}
    config = write_config(
        tmp_path / f"{name}.toml", database_url=url, data_dir=tmp_path / name, exchange=exchange
    )
    return start_server(config)


def test_the_same_package_sent_to_a_restored_database_changes_nothing_and_a_new_one_lands(
    fresh_pg_url: str, empty_pg_url: str, make_db_engine: Callable[..., Engine], tmp_path: Path
) -> None:
    make_package(tmp_path / "pkg", products=40, images=0)
    source = serve(tmp_path, fresh_pg_url, "source")
    try:
        assert emulate(options(source), [tmp_path / "pkg"], say=quiet, sale=False).ok
    finally:
        source.stop()
    made = backup.take_backup(DatabaseSettings(url=fresh_pg_url), tmp_path / "backups")
    env = {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": empty_pg_url}
    result = CliRunner().invoke(main, ["restore", str(made.path)], env=env)
    assert result.exit_code == 0, result.output
    restored = make_db_engine(empty_pg_url)
    before = catalog_state(restored)

    server = serve(tmp_path, empty_pg_url, "restored")
    try:
        again = emulate(options(server), [tmp_path / "pkg"], say=quiet, sale=False)
        assert again.ok, again.failures
        assert catalog_state(restored) == before
        outcomes = [a.outcome for a in audits(restored)]
        assert outcomes == ["succeeded", "succeeded", "unchanged", "unchanged"]  # import + offers
        make_package(tmp_path / "pkg2", products=50, seed=2, images=0)
        newer = emulate(options(server), [tmp_path / "pkg2"], say=quiet, sale=False)
        assert newer.ok, newer.failures
        assert audits(restored)[-1].outcome == "succeeded"
    finally:
        server.stop()
