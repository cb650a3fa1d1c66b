"""The daemon's one HTTP port: the 1C exchange (when enabled) and ``/health``, ``/ready``,
``/metrics``, served by waitress from a thread of the daemon's process.

The exchange's import workers live in this process too (see ``syncd.exchange.server``); the
endpoint owns them: ``stop()`` asks them to stop at their next batch boundary.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from flask import Blueprint, Flask
from sqlalchemy import Engine
from waitress.server import BaseWSGIServer, MultiSocketServer

from config import Settings
from syncd.exchange.app import create_exchange_app, exchange_service
from syncd.exchange.server import make_server
from syncd.exchange.service import ExchangeService

log = logging.getLogger(__name__)


@dataclass
class Endpoint:
    app: Flask
    server: BaseWSGIServer | MultiSocketServer
    exchange: ExchangeService | None
    thread: threading.Thread | None = None
    closing: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        """``http://host:port`` actually bound (port 0 in the settings: the one chosen)."""
        assert isinstance(self.server, BaseWSGIServer), "one listen address"
        assert self.server.socket is not None
        host, port = self.server.socket.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop_serving(self) -> None:
        """Close the listening socket and the request threads (running requests finish)."""
        self.closing.set()
        self.server.close()
        self.server.task_dispatcher.shutdown(timeout=5)
        if self.thread is not None:
            self.thread.join(5)


def start_endpoint(settings: Settings, engine: Engine, ops: Blueprint) -> Endpoint:
    """Serve from a background thread. Does not touch the database: the caller resumes the
    exchange's interrupted imports (``endpoint.exchange.resume``) once it can."""
    exchange: ExchangeService | None = None
    if settings.exchange.enabled:
        app = create_exchange_app(settings, engine, health=False)
        exchange = exchange_service(app)
    else:
        app = Flask("onec_sync_daemon")
    app.register_blueprint(ops)
    server = make_server(
        app,
        settings.daemon.http_listen,
        threads=settings.daemon.http_threads,
        max_body=max(settings.exchange.file_limit * 4, 64 * 1024 * 1024),
    )
    endpoint = Endpoint(app, server, exchange)
    endpoint.thread = threading.Thread(target=_serve, args=(endpoint,), name="http", daemon=True)
    endpoint.thread.start()
    return endpoint


def _serve(endpoint: Endpoint) -> None:
    try:
        endpoint.server.run()
    except OSError:
        # stop_serving() closed the sockets under the loop's select(): expected while stopping.
        if not endpoint.closing.is_set():
            raise
