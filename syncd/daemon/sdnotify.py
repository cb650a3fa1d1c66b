"""The systemd notify protocol: one datagram of ``KEY=value`` lines to ``$NOTIFY_SOCKET``.

``READY=1`` when serving, ``STATUS=...`` for ``systemctl status``, ``WATCHDOG=1`` at least every
``$WATCHDOG_USEC`` (we ping at half of it), ``STOPPING=1`` on the way out. Outside systemd (no
``$NOTIFY_SOCKET``) every call is a no-op, so callers never need to check. A socket path starting
with ``@`` is in the abstract namespace. See sd_notify(3).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends notify messages for this process; build once, from the environment at start."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_seconds = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send one datagram; False when there is no socket or systemd is gone (never raises)."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall("\n".join(lines).encode("utf-8"))
        except OSError as exc:
            log.debug("sd_notify %s failed: %s", lines, exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={_one_line(status)}"] if status else []))

    @property
    def ping_interval(self) -> float | None:
        """How often to send ``WATCHDOG=1`` (half of ``$WATCHDOG_USEC``); None: no watchdog."""
        return self.watchdog_seconds / 2 if self.watchdog_seconds else None


def _address(raw: str) -> str | None:
    if not raw:
        return None
    return "\0" + raw[1:] if raw.startswith("@") else raw


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """``$WATCHDOG_USEC`` in seconds, if it is meant for this process (``$WATCHDOG_PID``)."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000


def _one_line(text: str) -> str:
    return " ".join(text.split())
