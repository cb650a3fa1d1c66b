"""The notify protocol against a real datagram socket, as systemd listens on one."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.daemon.sdnotify import Notifier


@pytest.fixture(params=["path", "abstract"])
def listener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        address = str(tmp_path / "notify")
        sock.bind(address)
    else:
        name = f"onec-sync-test-{os.getpid()}-{os.urandom(4).hex()}"
        sock.bind("\0" + name)
        address = "@" + name
    sock.settimeout(2)
    yield sock, address
    sock.close()


def test_ready_status_watchdog_and_stopping_arrive_as_single_datagrams(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    notifier = Notifier({"NOTIFY_SOCKET": address})

    assert notifier.ready("serving http://127.0.0.1:8081; leading folder_scan")
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving http://127.0.0.1:8081; leading folder_scan"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("two\nlines  squeezed")
    assert sock.recv(4096) == b"STATUS=two lines squeezed"
    assert notifier.stopping("stopping: folder_scan")
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=stopping: folder_scan"


def test_without_a_notify_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert not notifier.stopping()
    assert notifier.ping_interval is None


def test_a_vanished_socket_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.enabled
    assert notifier.watchdog() is False


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_pings_at_half_the_interval_systemd_gives(
    env: dict[str, str], interval: float | None
) -> None:
    assert Notifier(env).ping_interval == interval
