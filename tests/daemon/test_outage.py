"""PostgreSQL gone for 30 seconds under a running daemon: it logs, reports not ready, keeps
running, and recovers by itself when the database is back.

The shared PostgreSQL server cannot be stopped (other tests use it), so the daemon reaches its
database through a TCP proxy that the test cuts: open connections are reset and new ones are
refused, which is what a stopped or crashed server looks like to a client.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from syncd.daemon.supervise import wait_until
from tests.cml_builder import catalog, write_package
from tests.daemon.daemonrun import get, launch, log_entries, metric, scrape, write_config
from tests.daemon.tcpproxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
OUTAGE_SECONDS = 30


def test_postgresql_down_for_30_seconds_makes_the_daemon_unready_and_it_recovers_alone(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    url = make_url(fresh_pg_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
    config = write_config(
        tmp_path / "onec-sync.toml", database_url=proxied, root=tmp_path,
        schedules={"folder_scan": "every 1s"}, daemon={"backoff_max_seconds": 3.0},
    )  # fmt: skip
    daemon = launch(config)
    try:
        assert wait_until(lambda: get(daemon, "/ready").status_code == 200, timeout=10)
        proxy.cut()
        cut = time.monotonic()

        assert wait_until(lambda: get(daemon, "/ready").status_code == 503, timeout=5)
        assert get(daemon, "/ready").json()["database"].startswith("unreachable")
        package = tmp_path / "inbox" / "sent-during-the-outage"
        write_package(package, catalog(4))
        (package / "complete").touch()
        time.sleep(max(0.0, cut + OUTAGE_SECONDS - time.monotonic()))

        assert daemon.process.poll() is None, "the daemon exited"
        assert get(daemon, "/health").status_code == 200  # alive: systemd must not restart it
        assert get(daemon, "/ready").status_code == 503
        assert metric(scrape(daemon), "onec_sync_database_up") == 0
        assert package.is_dir(), "nothing can be imported while the database is down"

        proxy.restore()
        restored = time.monotonic()
        assert wait_until(lambda: get(daemon, "/ready").status_code == 200, timeout=10)
        assert wait_until(lambda: (tmp_path / "done").exists(), timeout=15), daemon.log_text()
        recovered = time.monotonic() - restored
    finally:
        code = daemon.stop()
        proxy.close()
    assert code == 0

    failures = [
        e for e in log_entries(daemon)
        if e["level"] == "ERROR" and e["message"].startswith("folder_scan failed: OperationalError")
    ]  # fmt: skip
    assert len(failures) >= 3, "each failed run is logged"
    assert "exception" in failures[0], "the first failure is logged with its traceback"
    assert all("exception" not in e for e in failures[1:]), "repeats are one line each"
    # With 1-second runs, the backoff (capped at 3 s) spaces the failures out.
    assert len(failures) < OUTAGE_SECONDS
    assert recovered < 10
