"""Named locks hold across processes and die with their holder."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from syncd.store.locks import LockBusy, named_lock

pytestmark = pytest.mark.postgres

HOLDER = """
import sys, time
from config import DatabaseSettings
from syncd.store.engine import make_engine
from syncd.store.locks import named_lock
engine = make_engine(DatabaseSettings(url=sys.argv[1]))
with named_lock(engine, "job:x"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_lock_held_by_another_process_is_busy_until_that_process_dies(
    fresh_database_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(fresh_database_url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, fresh_database_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy), named_lock(engine, "job:x", wait=False):
            pass
        with named_lock(engine, "job:other", wait=False):
            pass  # other names are independent
        holder.kill()
        holder.wait()
        deadline = time.monotonic() + 10
        while True:
            try:
                with named_lock(engine, "job:x", wait=False):
                    break
            except LockBusy:
                assert time.monotonic() < deadline, "the dead holder's lock was never released"
                time.sleep(0.1)
    finally:
        holder.kill()
