"""How many long-polls may wait at once on one API host, across its worker processes.

A waiting ``GET /changes?wait=`` holds a request slot for up to ``changes.max_wait_seconds``:
a whole process with gunicorn's sync workers, a thread with gthread. Left unbounded, a few
readers (or a caller with a catalog key) could park every slot and starve the catalog, the
orders and the health check alike. At most ``size`` wait at once; any further long-poll is
answered at once, like ``wait=0``.

A slot is a Unix socket bound to a name in Linux's abstract namespace, one name per slot and
server (its listen address): binding is atomic across processes, a second bind of a held name
fails, and the kernel frees the name when its holder closes it or dies, so a killed worker
never leaks a slot. Elsewhere (no abstract namespace) the slots count within one process.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

WAIT_SLOTS_EXTENSION = "onec_sync_wait_slots"


class WaitSlots:
    def __init__(self, size: int, server: str) -> None:
        """``size`` slots shared by every process of the server listening on ``server``."""
        self.size = size
        self._prefix = f"\0onec-sync/{server}/long-poll/"
        self._local = None if sys.platform == "linux" else threading.BoundedSemaphore(size)

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """Take a slot for the ``with`` block; yields False (holding nothing) when all are taken."""
        if self._local is not None:
            taken = self._local.acquire(blocking=False)
            try:
                yield taken
            finally:
                if taken:
                    self._local.release()
            return
        slot = self._bind()
        try:
            yield slot is not None
        finally:
            if slot is not None:
                slot.close()

    def _bind(self) -> socket.socket | None:
        for number in range(self.size):
            slot = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                slot.bind(self._prefix + str(number))
            except OSError:  # EADDRINUSE: another request holds this one
                slot.close()
                continue
            return slot
        return None
