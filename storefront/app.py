"""``create_app()``: the storefront Flask app (API under ``/api/v1``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from config import Settings, load_settings
from storefront import protection
from storefront.api import API_PREFIX, admin, auth, catalog, changes, meta, ops, orders, search
from storefront.auth import tokens
from storefront.auth.guard import KEY_CACHE_EXTENSION
from storefront.auth.key_cache import KeyCache
from storefront.cache import ResponseCache
from storefront.context import SETTINGS_EXTENSION
from storefront.database import Database
from storefront.errors import ApiError, error_body
from storefront.feed_waker import FEED_WAKER_EXTENSION, FeedWaker
from storefront.metrics import StorefrontMetrics
from storefront.queries.search import SQLITE_FOLD
from storefront.redis_link import RedisLink
from storefront.responses import CACHE_EXTENSION, json_response
from storefront.wait_slots import WAIT_SLOTS_EXTENSION, WaitSlots

log = logging.getLogger(__name__)
_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
}


def create_app(
    settings: Settings | None = None,
    test_config: Mapping[str, Any] | None = None,
    *,
    dev: bool = False,
) -> Flask:
    """The app for ``settings`` (default: ``load_settings()``).

    ``test_config`` is applied to ``app.config`` first (``TESTING=True`` allows running without
    a JWT secret, as does ``dev``). Raises ``ConfigurationError`` for unusable settings.
    """
    settings = settings if settings is not None else load_settings()
    app = Flask(__name__, static_folder=None)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.config.update(test_config or {})
    app.extensions[SETTINGS_EXTENSION] = settings
    metrics = StorefrontMetrics()
    app.extensions[ops.METRICS_EXTENSION] = metrics
    db = Database(settings.database, metrics, change_log=settings.changes.enabled)
    db.init_app(app)
    if db.engine.dialect.name == "sqlite":
        _add_sqlite_fold(db)
    link = RedisLink(settings.redis.url, timeout_seconds=settings.redis.socket_timeout_seconds)
    cache = ResponseCache(link, ttl_seconds=settings.storefront.cache_ttl_seconds)
    app.extensions[CACHE_EXTENSION] = cache
    db.commit_position = cache.commit_position
    app.extensions[FEED_WAKER_EXTENSION] = FeedWaker(
        link, recheck_seconds=float(app.config.get("FEED_RECHECK_SECONDS", 1.0))
    )
    # Half the host's request slots, rounded down: a single worker of one thread keeps its slot.
    waiting = settings.changes.max_waiting or settings.storefront.request_slots() // 2
    app.extensions[WAIT_SLOTS_EXTENSION] = WaitSlots(waiting, settings.storefront.listen)
    app.extensions[KEY_CACHE_EXTENSION] = KeyCache(
        link, max_age_seconds=settings.storefront.key_cache_seconds
    )
    tokens.init_app(app, settings.storefront, allow_ephemeral_secret=dev or app.testing)
    for module in (meta, catalog, search, orders, auth, admin, changes):
        app.register_blueprint(module.blueprint, url_prefix=API_PREFIX)
    app.register_blueprint(ops.blueprint)
    protection.init_app(app, settings.storefront, settings.proxy)
    app.extensions["onec_sync_limiter"] = protection.make_limiter(
        app, settings.storefront, settings.redis
    )
    _register_error_handlers(app)
    return app


def close_app(app: Flask) -> None:
    """Stop the app's background thread and close its pools (tests, clean shutdown)."""
    cache: ResponseCache = app.extensions[CACHE_EXTENSION]
    cache.close()
    app.extensions[KEY_CACHE_EXTENSION].close()
    app.extensions[FEED_WAKER_EXTENSION].close()
    app.extensions["onec_sync_db"].dispose()


def _add_sqlite_fold(db: Database) -> None:
    @event.listens_for(db.engine, "connect")
    def _fold(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function(
            SQLITE_FOLD, 1, lambda s: s.casefold() if isinstance(s, str) else s, deterministic=True
        )


def _register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(DBAPIError, _database_error)


def _api_error(error: ApiError) -> Response:
    return json_response(error.body(), error.status, {**error.headers, "Cache-Control": "no-store"})


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_CODES.get(status, "error")
    message = error.description or error.name
    response = json_response(error_body(status, code, message), status)
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    if status == 429 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = "60"
    return response


def _database_error(error: DBAPIError) -> Response:
    """A lost database connection is a 503 the client may retry; anything else is a bug."""
    if not error.connection_invalidated:
        raise error
    log.warning("database connection lost (%s); the pool is renewed", error.orig)
    body = error_body(503, "unavailable", "the database connection was lost; retry")
    return json_response(body, 503, {"Retry-After": "1", "Cache-Control": "no-store"})


def _internal_error(error: InternalServerError) -> Response:
    original = error.original_exception
    log.error("unhandled error", exc_info=original or error)
    body = error_body(500, "internal_error", "something went wrong on our side; it is logged")
    return json_response(body, 500)
