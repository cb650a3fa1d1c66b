"""Signal handlers that only the process which installed them obeys.

The import pipeline runs its second lane in a forked process (``syncd.importer.lanes``), and a
forked child inherits its parent's Python signal handlers. A signal sent to the process group
reaches the lane too; a child running the daemon's handler would announce the daemon's stop
(log lines, ``STOPPING=1`` to systemd) and keep running. Handlers installed here act only in
their own process; in a forked child the signal does what it does by default (SIGTERM ends it).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from types import FrameType

Handler = Callable[[int, FrameType | None], None]


def install(handler: Handler, signals: Iterable[signal.Signals]) -> Callable[[], None]:
    """Install ``handler`` for ``signals`` in this process; returns a function restoring the
    previous handlers."""
    owner = os.getpid()

    def guarded(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        handler(signum, frame)

    previous = {sig: signal.signal(sig, guarded) for sig in signals}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
