"""Run ``onec-sync run`` as a child process the way systemd does: with a notify socket.

For ``make demo`` and the tests: ``start_daemon(config)`` starts the daemon, waits for its
``READY=1`` and returns a ``DaemonProcess`` that knows the HTTP address it serves, collects every
notify message (``READY=1``, ``STATUS=...``, ``WATCHDOG=1``, ``STOPPING=1``) and stops it with
SIGTERM like ``systemctl stop``. Its stderr (JSON log lines) goes to a file.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

_URL = re.compile(r"serving (http://\S+?);")


class DaemonFailed(Exception):
    """The daemon exited or did not become ready in time; the message ends with its log."""


class DaemonProcess:
    def __init__(self, process: subprocess.Popen[bytes], notify: socket.socket, log: Path) -> None:
        self.process = process
        self.log = log
        self.messages: list[tuple[float, str]] = []  # (monotonic time, one KEY=value line)
        self._socket = notify
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="notify-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        """``http://host:port`` from the daemon's READY status line."""
        for _at, line in self.messages:
            if line.startswith("STATUS=") and (found := _URL.search(line)):
                return found.group(1)
        raise DaemonFailed("the daemon has not said where it serves")

    def wait_for(self, line: str, *, timeout: float = 30.0, after: float = 0.0) -> float:
        """Wait for a notify line equal to ``line`` (or starting with it if it ends with
        ``=``) received after ``after``; returns when it came."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for at, got in self.messages:
                    matched = got.startswith(line) if line.endswith("=") else got == line
                    if at > after and matched:
                        return at
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise DaemonFailed(f"no {line!r} from the daemon\n{self.log_text()}")
                self._changed.wait(min(left, 0.2))

    def count(self, line: str) -> int:
        with self._changed:
            return sum(1 for _at, got in self.messages if got == line)

    def stop(self, *, timeout: float = 90.0) -> int:
        """SIGTERM, wait up to ``timeout`` (then SIGKILL); returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._socket.close()
        return int(self.process.returncode)

    def kill(self) -> None:
        """SIGKILL: what a crash or ``kill -9`` does."""
        self.process.kill()
        self.process.wait(10)
        self._socket.close()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def _read(self) -> None:
        self._socket.settimeout(0.2)  # so a closed socket ends this loop
        while self._socket.fileno() != -1:
            try:
                datagram = self._socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self._changed:
                for line in datagram.decode("utf-8", "replace").splitlines():
                    self.messages.append((now, line))
                self._changed.notify_all()


def start_daemon(
    config: Path,
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    watchdog_seconds: float | None = None,
    ready_timeout: float = 60.0,
    command: list[str] | None = None,
) -> DaemonProcess:
    """Start ``onec-sync --config CONFIG run`` and wait for READY=1.

    ``env`` is added to this process's environment (``ONEC_SYNC_CONFIG`` is dropped so only
    ``config`` counts). ``watchdog_seconds`` sets ``$WATCHDOG_USEC`` as ``WatchdogSec=`` would.
    Raises ``DaemonFailed`` with the daemon's log if it exits or is not ready in time.
    """
    notify, address = _notify_socket()
    environment = {**os.environ, **(env or {}), "NOTIFY_SOCKET": address, "PYTHONUNBUFFERED": "1"}
    environment.pop("ONEC_SYNC_CONFIG", None)
    if watchdog_seconds:
        environment["WATCHDOG_USEC"] = str(int(watchdog_seconds * 1_000_000))
    argv = command or [_onec_sync(), "--config", str(config), "run"]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=environment)
    daemon = DaemonProcess(process, notify, log)
    try:
        daemon.wait_for("READY=1", timeout=ready_timeout)
    except DaemonFailed:
        daemon.stop(timeout=10)
        raise
    return daemon


def wait_until(check: Callable[[], bool], *, timeout: float, every: float = 0.1) -> bool:
    """Poll ``check`` until it is true or ``timeout`` passed; returns its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)


def _notify_socket() -> tuple[socket.socket, str]:
    """A datagram socket in the abstract namespace, as systemd's ``@...`` notify sockets are."""
    name = f"onec-sync-notify-{os.getpid()}-{next(_counter)}-{os.urandom(4).hex()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind("\0" + name)
        return sock, "@" + name
    except OSError:  # no abstract namespace (not Linux): a path
        path = Path(tempfile.mkdtemp()) / "notify"
        sock.bind(str(path))
        return sock, str(path)


def _onec_sync() -> str:
    return str(Path(sys.executable).with_name("onec-sync"))


_counter = iter(range(1, 1 << 30))
