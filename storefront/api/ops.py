"""``GET /metrics``: the storefront's Prometheus metrics (``storefront.metrics``), for operators.

Only a caller with the ``operator`` or ``admin`` role (an API key in ``X-API-Key``, or a user's
token) gets them; anyone else gets 401 or 403. Not by address: behind a reverse proxy on the same
host every request comes from loopback.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST

from storefront.auth.guard import authenticate, require
from storefront.auth.roles import READS_ALL_ORDERS
from storefront.errors import Forbidden
from storefront.metrics import StorefrontMetrics

blueprint = Blueprint("ops", __name__)
METRICS_EXTENSION = "onec_sync_metrics"


@blueprint.get("/metrics")
@require(None)
def metrics() -> Response:
    principal = authenticate()
    if principal.role not in READS_ALL_ORDERS:
        raise Forbidden(f"role {principal.role!r} may not read the metrics: use an operator's")
    found: StorefrontMetrics = current_app.extensions[METRICS_EXTENSION]
    response = Response(found.render(), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
