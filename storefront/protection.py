"""Rate limits, CORS, compression, security headers, request size, proxies.

Rate limits (Flask-Limiter, fixed windows): ``storefront.rate_limit`` per verified caller (an
API key that checked out, a person's valid access token), so nobody else can spend a caller's
budget; calls without credentials count per client address (``anon:``), and calls whose
credentials failed count per client address in a bucket of their own (``failed:``), so guessing
keys neither touches a real key's budget nor escapes the limit. The ``X-RateLimit-*`` headers
describe only the bucket of the request they answer. ``storefront.login_rate_limit`` counts per
client address on ``POST /auth/login``. The client address is the socket's peer unless
``proxy.hops`` trusts reverse proxies (``X-Forwarded-For``, werkzeug's ``ProxyFix``). Counters live in Redis, shared by every worker. When
Redis is down or not configured, each worker process counts in its own memory (the same limits,
so the effective limit is multiplied by the number of workers) and Flask-Limiter goes back to
Redis once it answers again (it re-checks with exponential back-off). The counters cost one
Redis round trip per request, headers included (``storefront.ratelimit``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, request
from flask_compress import Compress
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from config import ProxySettings, RedisSettings, StorefrontSettings
from storefront.auth.guard import API_KEY_HEADER, authenticate
from storefront.auth.roles import Principal
from storefront.errors import BadRequest, Unauthorized
from storefront.ratelimit import storage_uri

MAX_PATH_VALUE = 255
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'"
)
EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "Idempotent-Replayed",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]


def rate_limit_key() -> str:
    """The bucket this request counts in: the verified caller's identity, else the client
    address (``anon:`` without credentials, ``failed:`` with credentials that did not verify)."""
    principal: Principal | None = g.get("principal")
    if principal is not None:
        return principal.identity
    kind = "failed" if g.get("onec_auth_failed") else "anon"
    return f"{kind}:{get_remote_address()}"


def _identify_caller() -> None:
    """Verify the request's credentials before the limiter counts it (memoised on ``g`` for the
    view). Refusing is left to the view: public pages stay public. Refresh and logout take
    refresh tokens, which are no access tokens: they count per address."""
    if request.endpoint in _ADDRESS_COUNTED:
        return
    if API_KEY_HEADER not in request.headers and "Authorization" not in request.headers:
        return
    try:
        authenticate()
    except Unauthorized:
        g.onec_auth_failed = True


_ADDRESS_COUNTED = frozenset({"auth.login", "auth.refresh", "auth.logout"})


def make_limiter(app: Flask, settings: StorefrontSettings, redis: RedisSettings) -> Limiter:
    options: dict[str, Any] = {}
    if redis.url:
        options = {
            "socket_timeout": redis.socket_timeout_seconds,
            "socket_connect_timeout": redis.socket_timeout_seconds,
        }
    limiter = Limiter(
        key_func=rate_limit_key,
        default_limits=[settings.rate_limit] if settings.rate_limit else [],
        storage_uri=storage_uri(redis.url) if redis.url else "memory://",
        storage_options=options,
        strategy="fixed-window",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=True,
        key_prefix="onec-sync-limits",
    )
    # Flask runs after-request hooks in reverse order of registration: these two run just
    # before and just after the limiter's, which writes Retry-After on every response.
    app.after_request(_keep_own_retry_after)
    app.before_request(_identify_caller)  # before the limiter's own check
    limiter.init_app(app)
    app.after_request(_remember_retry_after)
    login_view = app.view_functions["auth.login"]
    app.view_functions["auth.login"] = limiter.limit(  # type: ignore[assignment]
        settings.login_rate_limit, key_func=lambda: f"login:{get_remote_address()}"
    )(login_view)
    return limiter


def init_app(app: Flask, settings: StorefrontSettings, proxy: ProxySettings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config.update(
        COMPRESS_MIMETYPES=["application/json"],
        COMPRESS_ALGORITHM=["gzip", "deflate"],
        COMPRESS_MIN_SIZE=500,
    )
    Compress(app)
    if settings.cors_origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": list(settings.cors_origins)}},
            allow_headers=[
                "Authorization",
                "Content-Type",
                API_KEY_HEADER,
                "Idempotency-Key",
                "If-None-Match",
            ],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    if proxy.hops:  # the client address and scheme from X-Forwarded-For/-Proto, hops deep
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy.hops, x_proto=proxy.hops)  # type: ignore[method-assign]
    app.before_request(_check_path_values)
    app.after_request(_security_headers)


def _remember_retry_after(response: Response) -> Response:
    g.onec_retry_after = response.headers.get("Retry-After")
    return response


def _keep_own_retry_after(response: Response) -> Response:
    """Retry-After only where it means something: a 429 keeps the limiter's (the end of its
    window); any other response keeps the value its handler gave (a 503's "1") or has none.
    Flask-Limiter otherwise adds the window's end to every response, and raises a 503's 1 s to
    up to a minute."""
    if response.status_code == 429:
        return response
    own = g.pop("onec_retry_after", None)
    if own is None:
        response.headers.pop("Retry-After", None)
    else:
        response.headers["Retry-After"] = own
    return response


def _check_path_values() -> None:
    """Path parameters are 1C/shop ids: at most 255 characters, never NUL (PostgreSQL refuses it)."""
    values = [str(v) for v in (request.view_args or {}).values()]
    if "\x00" in request.path or any("\x00" in v for v in values):
        raise BadRequest("NUL characters are not allowed in the URL")
    too_long = [
        name for name, v in (request.view_args or {}).items() if len(str(v)) > MAX_PATH_VALUE
    ]
    if too_long:
        raise BadRequest(
            f"path parameters are at most {MAX_PATH_VALUE} characters",
            details=[{"field": name, "message": "too long"} for name in too_long],
        )


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", JSON_CSP)
    headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
