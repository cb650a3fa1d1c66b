"""The Flask side: the blueprint on an app of its own, with the last-resort error reply.

``create_exchange_app`` is what ``onec-sync exchange serve`` and the daemon run; it owns one
``ExchangeService`` (import workers included) found at ``app.extensions["onec_exchange"]``.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException

from config import Settings
from syncd.exchange.package import PackageBackend
from syncd.exchange.replies import failure, to_response
from syncd.exchange.service import ExchangeService
from syncd.exchange.views import make_exchange_blueprint

log = logging.getLogger(__name__)
EXTENSION = "onec_exchange"


def create_exchange_app(
    settings: Settings,
    engine: Engine,
    *,
    backend: PackageBackend | None = None,
    health: bool = True,
) -> Flask:
    """A WSGI app serving the exchange at ``exchange.path`` (plus ``/health`` unless ``health``
    is false: the daemon serves its own, see ``syncd.daemon.health``).

    Call ``exchange_service(app).resume()`` once the process serves, and ``.close()`` on stop.
    """
    app = Flask("onec_sync_exchange")
    service = ExchangeService(settings, engine, backend=backend)
    app.extensions[EXTENSION] = service
    app.register_blueprint(make_exchange_blueprint(service))
    encoding = settings.exchange.reply_encoding

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # The request guard: 1C must read a status keyword even when we broke (a database gone,
        # a full disk); the traceback goes to the log, a bare reason to 1C. Other paths than the
        # exchange's answer with their real HTTP status (404 for an unknown path).
        if isinstance(exc, HTTPException):
            if request.path != settings.exchange.path:
                return Response(f"{exc.code} {exc.name}\n", exc.code, content_type="text/plain")
            return to_response(failure(f"HTTP {exc.code}: {exc.name}"), encoding)
        log.exception("exchange request failed")
        return to_response(failure("internal error; see the onec-sync log"), encoding)

    if health:

        @app.get("/health", endpoint="health")
        def alive() -> Response:
            return Response("ok\n", content_type="text/plain")

    return app


def exchange_service(app: Flask) -> ExchangeService:
    service: ExchangeService = app.extensions[EXTENSION]
    return service
