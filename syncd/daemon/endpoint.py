"""The daemon's HTTP ports, served by waitress from threads of the daemon's process.

``daemon.http_listen`` (the port 1C and load balancers reach): the 1C exchange (when enabled) and
the bare ``/health`` and ``/ready``; every other path is 404. ``daemon.ops_listen`` (loopback by
default; empty: not served): ``/health``, ``/ready`` and ``/metrics`` in full, for operators and
Prometheus (see ``syncd.daemon.health``).

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
    ops_server: BaseWSGIServer | MultiSocketServer | None = None
    ops_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` actually bound (port 0 in the settings: the one chosen)."""
        return _url(self.server)

    @property
    def ops_url(self) -> str | None:
        """Where ``/metrics`` and the detailed ``/ready`` answer (None: not served apart)."""
        return _url(self.ops_server) if self.ops_server is not None else None

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop_serving(self) -> None:
        """Close the listening sockets and the request threads (running requests finish)."""
        self.closing.set()
        for server, thread in ((self.server, self.thread), (self.ops_server, self.ops_thread)):
            if server is None:
                continue
            server.close()
            server.task_dispatcher.shutdown(timeout=5)
            if thread is not None:
                thread.join(5)


def start_endpoint(
    settings: Settings, engine: Engine, ops: Blueprint, public: Blueprint
) -> Endpoint:
    """Serve ``public`` (and the exchange) on ``daemon.http_listen`` and ``ops`` on
    ``daemon.ops_listen``, from background threads. Raises ``OSError`` when an address cannot be
    bound. Does not touch the database: the caller resumes the exchange's interrupted imports
    (``endpoint.exchange.resume``) once it can."""
    exchange: ExchangeService | None = None
    if settings.exchange.enabled:
        app = create_exchange_app(settings, engine, health=False)
        exchange = exchange_service(app)
    else:
        app = Flask("onec_sync_daemon")
    app.register_blueprint(public)
    ops_server = None
    if settings.daemon.ops_listen:
        ops_app = Flask("onec_sync_ops")
        ops_app.register_blueprint(ops)
        ops_server = make_server(ops_app, settings.daemon.ops_listen, threads=2, max_body=1024)
    server = make_server(
        app,
        settings.daemon.http_listen,
        threads=settings.daemon.http_threads,
        max_body=max(settings.exchange.file_limit * 4, 64 * 1024 * 1024),
        proxy_hops=settings.proxy.hops,
    )
    endpoint = Endpoint(app, server, exchange, ops_server=ops_server)
    endpoint.thread = _start(endpoint, server, "http")
    if ops_server is not None:
        endpoint.ops_thread = _start(endpoint, ops_server, "http-ops")
    return endpoint


def _start(
    endpoint: Endpoint, server: BaseWSGIServer | MultiSocketServer, name: str
) -> threading.Thread:
    thread = threading.Thread(target=_serve, args=(endpoint, server), name=name, daemon=True)
    thread.start()
    return thread


def _url(server: BaseWSGIServer | MultiSocketServer) -> str:
    assert isinstance(server, BaseWSGIServer), "one listen address"
    assert server.socket is not None
    host, port = server.socket.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def _serve(endpoint: Endpoint, server: BaseWSGIServer | MultiSocketServer) -> None:
    try:
        server.run()
    except OSError:
        # stop_serving() closed the sockets under the loop's select(): expected while stopping.
        if not endpoint.closing.is_set():
            raise
