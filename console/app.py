"""``create_app(settings)``: the console's Flask app (app factory, blueprints, extensions)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from config import Settings
from console import auth, views
from syncd.exchange.throttle import LoginThrottle
from syncd.store.engine import make_engine

log = logging.getLogger(__name__)
MIN_SECRET_LENGTH = 32
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class ConsoleConfigError(Exception):
    """The console cannot start with these settings (the message names the setting)."""


def create_app(settings: Settings, *, engine: Engine | None = None) -> Flask:
    """The console for ``settings``; raises ``ConsoleConfigError`` without a usable secret key."""
    secret = settings.console.secret_key.reveal()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConsoleConfigError(
            f"console.secret_key must have at least {MIN_SECRET_LENGTH} characters: set "
            "ONEC_SYNC_CONSOLE_SECRET_KEY (e.g. `openssl rand -base64 48`)"
        )
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="onec_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.console.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.console.session_hours),
        WTF_CSRF_TIME_LIMIT=int(settings.console.session_hours * 3600),
        WTF_CSRF_SSL_STRICT=settings.console.cookie_secure,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["console.settings"] = settings
    app.extensions["console.engine"] = engine or make_engine(settings.database)
    app.extensions["console.throttle"] = LoginThrottle(settings.console.login_rate_limit)
    CSRFProtect(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["duration"] = _duration
    app.before_request(_open_session)
    app.teardown_request(_close_session)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SQLAlchemyError, _database_down)
    return app


def _open_session() -> None:
    from flask import current_app

    g.db = Session(current_app.extensions["console.engine"])
    g.person = auth.current_person(g.db)


def _close_session(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _csrf_refused(exc: CSRFError) -> tuple[str, int]:
    return render_template("error.html", code=400, message=f"Refused: {exc.description}"), 400


def _http_error(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    return render_template("error.html", code=code, message=exc.description), code


def _database_down(exc: SQLAlchemyError) -> tuple[str, int]:
    log.error("console: the database cannot be read: %s", exc)
    message = "The database cannot be reached right now; nothing was changed. Try again shortly."
    return render_template("error.html", code=503, message=message), 503


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "—"
    s = float(seconds)
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"
