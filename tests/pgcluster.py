"""A PostgreSQL primary and a streaming hot standby of it, started by a test.

Both clusters are made in a temporary folder with the server's own tools (``initdb``,
``pg_basebackup -R``), listen on free loopback ports, and are removed afterwards. PostgreSQL
refuses to run as root, so as root (CI) its commands run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.pgserver import bin_dir, free_port, run_tool

DATABASE = "shop"


class Cluster:
    def __init__(self, pair: ReplicatedPair, name: str) -> None:
        self.pair = pair
        self.data = pair.root / name
        self.port = free_port()
        self.log = pair.root / f"{name}.log"

    def url(self, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def execute(self, sql: str, database: str = DATABASE) -> list[tuple[object, ...]]:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        ) as connection:
            cursor = connection.execute(sql.encode())
            return list(cursor.fetchall()) if cursor.description else []

    def start(self) -> None:
        self.pair.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                      "-o", f"-p {self.port}", "start")  # fmt: skip

    def stop(self) -> None:
        self.pair.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)


class ReplicatedPair:
    """``primary`` with the database ``shop``, and ``replica`` streaming from it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="onec-sync-replica-", dir="/tmp"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = Cluster(self, "primary")
        self.replica = Cluster(self, "replica")

    def run(self, tool: str, *args: str, check: bool = True) -> None:
        run_tool(self.bindir, tool, *args, cwd=self.root, check=check)

    def start(self) -> None:
        self.run("initdb", "-D", str(self.primary.data), "-U", "postgres", "--auth=trust",
                 "--no-sync")  # fmt: skip
        with (self.primary.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nfsync = off\n"
                "shared_buffers = 32MB\n"
            )
        self.primary.start()
        self.primary.execute(f"CREATE DATABASE {DATABASE}", database="postgres")
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U",
                 "postgres", "-D", str(self.replica.data), "-R", "-X", "stream")  # fmt: skip
        self.replica.start()
        deadline = time.monotonic() + 30
        while not self.replica.execute("SELECT pg_is_in_recovery()")[0][0]:
            assert time.monotonic() < deadline, "the replica never entered recovery"
            time.sleep(0.1)

    def close(self) -> None:
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- replay -------------------------------------------------------------------------------

    def primary_position(self) -> int:
        [(position,)] = self.primary.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(str(position))

    def replayed(self) -> int:
        [(position,)] = self.replica.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
        return int(str(position))

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        target = self.primary_position()
        deadline = time.monotonic() + timeout
        while self.replayed() < target:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)

    def pause_replay(self) -> None:
        self.replica.execute("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.replica.execute("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            assert time.monotonic() < deadline, "replay did not pause"
            time.sleep(0.02)

    def resume_replay(self) -> None:
        self.replica.execute("SELECT pg_wal_replay_resume()")


@contextmanager
def replicated_pair() -> Iterator[ReplicatedPair]:
    bindir = bin_dir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")
    pair = ReplicatedPair(bindir)
    try:
        pair.start()
        yield pair
    finally:
        pair.close()
