"""Ctrl-C (or SIGTERM) during `onec-sync import`: the run is recorded as interrupted, the
command says how to resume, and importing the same files again finishes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from syncd.store import models
from tests.cml_builder import catalog, write_package


def _records_done(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            done = conn.execute(select(models.RunFile.records_done)).scalars().all()
    finally:
        engine.dispose()
    return sum(done)


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_import_is_recorded_and_resumes_when_run_again(
    fresh_sqlite_url: str, tmp_path: Path, stop_with: signal.Signals
) -> None:
    package = tmp_path / "package"
    write_package(package, catalog(2000))
    onec_sync = str(Path(sys.executable).with_name("onec-sync"))
    env = {
        **os.environ,
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": fresh_sqlite_url,
        "ONEC_SYNC_PATHS_DATA_DIR": str(tmp_path / "data"),
        "ONEC_SYNC_IMPORT_BATCH_SIZE": "5",  # many small batches: the stop lands mid-file
    }
    process = subprocess.Popen(
        [onec_sync, "import", str(package)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while _records_done(fresh_sqlite_url) == 0 and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(stop_with)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err
    assert "import interrupted" in err
    assert "importing the same files again resumes it" in err

    runs = subprocess.run([onec_sync, "runs"], env=env, capture_output=True, text=True)
    assert "interrupted" in runs.stdout
    assert "`onec-sync import PATHS`" in runs.stdout
    quick = {**env, "ONEC_SYNC_IMPORT_BATCH_SIZE": "2000"}  # the checkpoint counts records
    again = subprocess.run(
        [onec_sync, "import", str(package)], env=quick, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(resumed)" in again.stdout
    with create_engine(fresh_sqlite_url).connect() as conn:
        statuses = conn.execute(select(models.SyncRun.status)).scalars().all()
    assert statuses == ["succeeded"]
