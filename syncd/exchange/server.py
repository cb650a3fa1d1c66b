"""Serving the exchange with waitress: in the daemon's process, or alone (``exchange serve``).

waitress is a pure-Python threaded WSGI server that embeds in a running process without forking:
the exchange's import workers live in the same process as its requests (they share the job table
and the writer lock), which a pre-forking server like gunicorn would split apart.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from config import Settings
from syncd.exchange.app import create_exchange_app, exchange_service

log = logging.getLogger(__name__)


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8081"`` -> (host, port); ``"[::1]:8081"`` for IPv6."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{listen!r} is not host:port")
    return host.strip("[]") or "127.0.0.1", int(port)


def make_server(
    app: Flask, listen: str, *, threads: int, max_body: int, proxy_hops: int = 0
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server bound to ``listen`` (port 0: any free port, see ``effective_port``).

    ``proxy_hops`` (``proxy.hops``): how many reverse proxies append to ``X-Forwarded-For``;
    waitress then takes the client's address from there (0: the socket's peer, and forwarded
    headers are dropped, so no client can name its own address).
    """
    host, port = parse_listen(listen)
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="onec-sync",
        max_request_body_size=max_body,
        channel_timeout=300,
        clear_untrusted_proxy_headers=True,
        **_proxying(proxy_hops),
    )


def _proxying(hops: int) -> dict[str, Any]:
    """waitress's trusted-proxy options for ``proxy.hops`` (none: forwarded headers dropped)."""
    if not hops:
        return {}
    return {
        "trusted_proxy": "*",
        "trusted_proxy_count": hops,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
    }


@dataclass
class RunningExchange:
    """A served exchange: stop it with ``stop()`` (waits for running import batches)."""

    app: Flask
    server: BaseWSGIServer | MultiSocketServer
    thread: threading.Thread | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        """The exchange URL to type into 1C (the bound address, so port 0 shows the real one)."""
        assert isinstance(self.server, BaseWSGIServer), "one listen address"
        sock = self.server.socket
        assert sock is not None
        host, port = sock.getsockname()[:2]
        path = exchange_service(self.app).settings.path
        return f"http://{host}:{port}{path}"

    def serve(self) -> None:
        """Run waitress's loop (in ``thread``) until ``stop()``."""
        try:
            self.server.run()
        except OSError:
            # stop() closes the socket under the loop's select(): expected then, never else.
            if not self.stopping.is_set():
                raise

    def stop(self) -> None:
        self.stopping.set()
        self.server.close()
        self.server.task_dispatcher.shutdown()
        if self.thread is not None:
            self.thread.join(10)
        exchange_service(self.app).close()


def start_exchange(
    settings: Settings, engine: Engine, *, listen: str | None = None
) -> RunningExchange:
    """Serve the exchange from a background thread of this process and resume its imports."""
    running = _build(settings, engine, listen)
    running.thread = threading.Thread(target=running.serve, name="exchange-http", daemon=True)
    running.thread.start()
    exchange_service(running.app).resume()
    return running


def serve_exchange(
    settings: Settings, engine: Engine, *, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM, then let running imports stop cleanly.

    The signal handler only ends waitress's loop (``run()`` returns on ``SystemExit``); the
    socket is closed here afterwards, never under the loop's ``select()``. Returns normally, so
    the command exits 0 on a stop it was asked for.
    """
    running = _build(settings, engine, None)
    exchange_service(running.app).resume()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping the exchange server", signum)
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_ready is not None:
            on_ready(running.url)
        running.server.run()
    except _Stop:
        pass  # the signal came before or after waitress's loop, which catches it itself
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        running.server.close()
        running.server.task_dispatcher.shutdown()
        exchange_service(running.app).close()


class _Stop(SystemExit):
    """Raised by the signal handler: waitress's ``run()`` catches ``SystemExit`` and returns."""

    def __init__(self) -> None:
        super().__init__(0)


def _build(settings: Settings, engine: Engine, listen: str | None) -> RunningExchange:
    app = create_exchange_app(settings, engine)
    server = make_server(
        app,
        listen or settings.daemon.http_listen,
        threads=settings.daemon.http_threads,
        # One request carries at most file_limit bytes (1C splits bigger files); the margin keeps
        # waitress from answering 413 where we want to say failure with a reason.
        max_body=max(settings.exchange.file_limit * 4, 64 * 1024 * 1024),
        proxy_hops=settings.proxy.hops,
    )
    return RunningExchange(app, server)
