"""``onec-sync serve``: gunicorn in production, Flask's development server with ``--dev``."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from config import Settings
from storefront.app import create_app


def serve(
    settings: Settings, *, dev: bool = False, listen: str | None = None, workers: int | None = None
) -> None:
    """Serve the API until interrupted. Raises ``ConfigurationError`` for unusable settings."""
    address = listen or settings.storefront.listen
    app = create_app(settings, dev=dev)
    if dev:
        host, _, port = address.rpartition(":")
        app.run(host=host or "127.0.0.1", port=int(port), debug=False, threaded=True)
        return
    options = {
        "bind": address,
        "workers": workers or settings.storefront.workers,
        "worker_class": "gthread",
        "threads": settings.storefront.threads,
        "keepalive": 5,
        "graceful_timeout": 30,
        "accesslog": "-",
        "post_fork": _post_fork,
    }
    GunicornServer(app, options).run()


def _post_fork(_server: Any, worker: Any) -> None:
    # Connections opened before fork() must not be shared with the parent.
    worker.app.application.extensions["onec_sync_db"].engine.dispose(close=False)


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running an app object we built (settings are loaded once, by the CLI)."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application
