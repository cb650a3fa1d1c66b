"""A stand-in WSGI app for the storefront in the gunicorn/systemd test (the storefront's own app
lives in its package): it answers the liveness path the watchdog asks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/api/v1/ping":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
