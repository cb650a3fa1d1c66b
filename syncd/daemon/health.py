"""``/health``, ``/ready`` and ``/metrics`` on the daemon's HTTP port, beside the exchange.

* ``/health`` — liveness: 200 while the process serves, with what the scheduler is doing.
* ``/ready`` — 200 when the database answers and its schema is the newest this code knows, and
  the daemon is not stopping; otherwise 503 with the reason. A load balancer sends 1C to ready
  daemons only. The database is asked at most once a second, however often probes come.
* ``/metrics`` — Prometheus text format (``syncd.daemon.metrics``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify
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

    @ops.get("/health")
    def health() -> Response:
        body = {"status": "stopping" if stopping() else "ok", **describe()}
        return _no_store(jsonify(body))

    @ops.get("/ready")
    def ready() -> tuple[Response, int]:
        state = probe.check()
        ok = state.ready and not stopping()
        body = {
            "ready": ok,
            "database": state.database,
            "schema": state.schema,
            "stopping": stopping(),
        }
        return _no_store(jsonify(body)), 200 if ok else 503

    @ops.get("/metrics")
    def prometheus() -> Response:
        return _no_store(Response(metrics.render(), content_type=CONTENT_TYPE_LATEST))

    return ops


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
