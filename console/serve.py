"""``onec-sync console serve``: the console on waitress, in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from sqlalchemy import Engine
from waitress.server import BaseWSGIServer

from config import Settings
from console.app import create_app
from syncd.exchange.server import make_server

log = logging.getLogger(__name__)


def serve_console(
    settings: Settings,
    engine: Engine,
    *,
    listen: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. Raises ``ConsoleConfigError`` (no secret key) and
    ``ValueError`` (``listen`` is not host:port) before binding; ``OSError`` if it cannot bind."""
    app = create_app(settings, engine=engine)
    address = listen or settings.console.listen
    server = make_server(app, address, threads=settings.console.threads, max_body=64 * 1024)

    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping the console", signum)
        stopping.set()
        server.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if on_ready is not None:
        assert isinstance(server, BaseWSGIServer), "one listen address"
        assert server.socket is not None
        host, port = server.socket.getsockname()[:2]  # the bound port, also for port 0
        on_ready(f"http://{host}:{port}/")
    try:
        server.run()
    except OSError:
        if not stopping.is_set():
            raise
        # closing the socket from the signal handler may interrupt the select() in progress
    finally:
        server.task_dispatcher.shutdown()
