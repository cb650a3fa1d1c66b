"""The ``/api/v1`` blueprints. Views are short: authenticate, validate, query, answer JSON."""

from __future__ import annotations

API_PREFIX = "/api/v1"
