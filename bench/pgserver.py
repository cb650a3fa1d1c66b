"""A throw-away PostgreSQL server for a benchmark that must choose the server's settings.

``temporary_server()`` makes a cluster with the installed server's own ``initdb`` in a
temporary folder, starts it on a free loopback port with PostgreSQL's default settings, and
stops and removes it afterwards. ``apply`` runs statements such as ``onec-sync db check``
prints (``ALTER SYSTEM SET ...``) and ``restart`` makes the ones that need a restart
(``shared_buffers``) take effect. PostgreSQL refuses to run as root, so as root its commands
run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def bin_dir() -> Path | None:
    """The newest installed server's bin folder with initdb and pg_basebackup, if any."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_basebackup").exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_tool(bindir: Path, tool: str, *args: str, cwd: Path, check: bool = True) -> None:
    """Run one of the server's tools, as the ``postgres`` user when this process is root."""
    argv = [str(bindir / tool), *args]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    subprocess.run(argv, check=check, capture_output=True, cwd=cwd, timeout=600)


class TemporaryServer:
    """One cluster in a temporary folder; ``url()`` reaches it as the superuser ``postgres``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="onec-sync-bench-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        run_tool(self.bindir, tool, *args, cwd=self.root, check=check)

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n")
        self.start()

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "300",
                  "-o", f"-p {self.port}", "start")  # fmt: skip

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "600", "stop")
        self.start()

    def apply(self, statements: str) -> None:
        """``statements`` separated by ``;``, each on its own (ALTER SYSTEM refuses to run in
        a transaction block, which a multi-statement string would be)."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            for statement in filter(None, (s.strip() for s in statements.split(";"))):
                connection.execute(statement.encode())

    def remove(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def temporary_server() -> Iterator[TemporaryServer]:
    bindir = bin_dir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries under /usr/lib/postgresql (initdb)")
    server = TemporaryServer(bindir)
    try:
        server.create()
        yield server
    finally:
        server.remove()
