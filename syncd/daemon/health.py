"""``/health``, ``/ready`` and ``/metrics``: in full on the operators' address, bare beside the
exchange.

* ``/health`` — liveness: 200 while the process serves (503 once it is stopping), with what the
  scheduler is doing.
* ``/ready`` — 200 when the database answers and its schema is the newest this code knows, and
  the daemon is not stopping; otherwise 503 with the reason. A load balancer sends 1C to ready
  daemons only. The database is asked at most once a second, however often probes come.
* ``/metrics`` — Prometheus text format (``syncd.daemon.metrics``).

``make_ops_blueprint`` serves all three in full, on ``daemon.ops_listen`` (loopback by default).
``make_public_blueprint`` is what the exchange's port (``daemon.http_listen``, the one the world
reaches) answers: ``/health`` and ``/ready`` with their real status codes and nothing more; the
details and ``/metrics`` only to ``Authorization: Bearer <daemon.ops_token>`` (404 otherwise, and
always when no token is configured).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from syncd.daemon.metrics import DaemonMetrics
from syncd.store import migrate


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    database: str  # "ok" or the error
    schema: str  # "current", "behind (...)" or "unknown"


class ReadinessProbe:
    """Checks the database and its schema; caches the answer for ``ttl`` seconds."""

    def __init__(self, engine: Engine, *, ttl: float = 1.0) -> None:
        self.engine, self.ttl = engine, ttl
        self._cached: tuple[float, Readiness] | None = None
        self._lock = threading.Lock()

    def check(self) -> Readiness:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.ttl:
                self._cached = (now, self._probe())
            return self._cached[1]

    def _probe(self) -> Readiness:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current, head = migrate.current_revision(self.engine), migrate.head_revision()
        except SQLAlchemyError as exc:
            reason = (str(getattr(exc, "orig", None) or exc).splitlines() or ["?"])[0]
            return Readiness(False, f"unreachable: {reason}", "unknown")
        if current != head:
            return Readiness(False, "ok", f"behind: at {current}, newest is {head}")
        return Readiness(True, "ok", "current")


def make_ops_blueprint(
    probe: ReadinessProbe,
    metrics: DaemonMetrics,
    *,
    stopping: Callable[[], bool],
    describe: Callable[[], dict[str, Any]],
) -> Blueprint:
    """``describe()`` gives /health its body (uptime, jobs, leaders)."""
    ops = Blueprint("ops", __name__)
    handlers = _Handlers(probe, metrics, stopping, describe)
    ops.add_url_rule("/health", "health", handlers.health)
    ops.add_url_rule("/ready", "ready", handlers.ready)
    ops.add_url_rule("/metrics", "metrics", handlers.prometheus)
    return ops


def make_public_blueprint(
    probe: ReadinessProbe,
    metrics: DaemonMetrics,
    *,
    stopping: Callable[[], bool],
    describe: Callable[[], dict[str, Any]],
    token: str,
) -> Blueprint:
    """The bare checks for the exchange's port; the full answers for a caller with ``token``."""
    public = Blueprint("public_ops", __name__)
    handlers = _Handlers(probe, metrics, stopping, describe)

    def operator() -> bool:
        presented = request.headers.get("Authorization", "")
        return bool(token) and hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())

    @public.get("/health")
    def health() -> tuple[Response, int]:
        if operator():
            return handlers.health()
        return _no_store(jsonify({"status": "stopping" if stopping() else "ok"})), _code(
            not stopping()
        )

    @public.get("/ready")
    def ready() -> tuple[Response, int]:
        if operator():
            return handlers.ready()
        ok = probe.check().ready and not stopping()
        return _no_store(jsonify({"ready": ok})), _code(ok)

    @public.get("/metrics")
    def prometheus() -> Response:
        if not operator():
            abort(404)
        return handlers.prometheus()

    return public


@dataclass(frozen=True, slots=True)
class _Handlers:
    probe: ReadinessProbe
    metrics: DaemonMetrics
    stopping: Callable[[], bool]
    describe: Callable[[], dict[str, Any]]

    def health(self) -> tuple[Response, int]:
        body = {"status": "stopping" if self.stopping() else "ok", **self.describe()}
        return _no_store(jsonify(body)), _code(not self.stopping())

    def ready(self) -> tuple[Response, int]:
        state = self.probe.check()
        ok = state.ready and not self.stopping()
        body = {
            "ready": ok,
            "database": state.database,
            "schema": state.schema,
            "stopping": self.stopping(),
        }
        return _no_store(jsonify(body)), _code(ok)

    def prometheus(self) -> Response:
        return _no_store(Response(self.metrics.render(), content_type=CONTENT_TYPE_LATEST))


def _code(ok: bool) -> int:
    return 200 if ok else 503


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
