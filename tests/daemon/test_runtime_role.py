"""The daemon and the 1C exchange endpoint run as the least-privilege runtime role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from syncd.daemon.supervise import wait_until
from syncd.exchange.emulator import emulate
from tests.cml_builder import catalog, write_package
from tests.conftest import PgRoles
from tests.daemon.daemonrun import launch, write_config
from tests.exchange.test_e2e import audits, make_package, options, quiet
from tests.exchange.test_restored import serve

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_the_daemon_imports_from_its_inbox_as_the_runtime_role(
    fresh_pg_url: str, make_pg_roles: Callable[[str], PgRoles], tmp_path: Path
) -> None:
    url = make_pg_roles(fresh_pg_url).runtime_url
    config = write_config(
        tmp_path / "onec-sync.toml", database_url=url, root=tmp_path,
        schedules={"folder_scan": "every 1s", "housekeeping": "every 1s"},
    )  # fmt: skip
    daemon = launch(config)
    try:
        daemon.wait_for("READY=1")
        staging = tmp_path / ".pkg"
        write_package(staging, catalog(20))
        (staging / "complete").touch()
        staging.rename(tmp_path / "inbox" / "pkg")
        assert wait_until(lambda: (tmp_path / "done").exists(), timeout=30), daemon.log_text()
    finally:
        assert daemon.stop() == 0
    assert "permission denied" not in daemon.log_text()


def test_1c_exchanges_a_package_with_the_endpoint_running_as_the_runtime_role(
    fresh_pg_url: str,
    make_pg_roles: Callable[[str], PgRoles],
    make_db_engine: Callable[..., Engine],
    tmp_path: Path,
) -> None:
    url = make_pg_roles(fresh_pg_url).runtime_url
    make_package(tmp_path / "pkg", products=30, images=0)
    server = serve(tmp_path, url, "runtime")
    try:
        report = emulate(options(server), [tmp_path / "pkg"], say=quiet, sale=True)
        assert report.ok, report.failures
    finally:
        server.stop()
    assert [a.outcome for a in audits(make_db_engine(url))] == ["succeeded", "succeeded"]
