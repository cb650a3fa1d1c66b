"""``onec-sync serve``: gunicorn in production, Flask's development server with ``--dev``.

gunicorn's workers keep their metrics in prometheus-client's multiprocess mode: each worker
writes its counters to files in ``PROMETHEUS_MULTIPROC_DIR`` (a new temporary directory unless the
environment names one; its ``*.db`` files are removed at start, as prometheus-client requires),
and ``/metrics`` sums them, whichever worker answers. The mode is chosen when prometheus-client is
first imported, so this module imports the app only after setting it.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from config import Settings

log = logging.getLogger(__name__)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def serve(
    settings: Settings, *, dev: bool = False, listen: str | None = None, workers: int | None = None
) -> None:
    """Serve the API until interrupted. Raises ``ConfigurationError`` for unusable settings."""
    # The app sizes its long-poll slots by the address and workers it is really served with.
    storefront = dataclasses.replace(
        settings.storefront,
        listen=listen or settings.storefront.listen,
        workers=workers or settings.storefront.worker_count(),
    )
    settings = dataclasses.replace(settings, storefront=storefront)
    if not dev:
        _prepare_multiprocess_metrics()
    from storefront.app import create_app

    app = create_app(settings, dev=dev)
    if dev:
        host, _, port = storefront.listen.rpartition(":")
        app.run(host=host or "127.0.0.1", port=int(port), debug=False, threaded=True)
        return
    options = {
        "bind": storefront.listen,
        **worker_options(settings),
        "graceful_timeout": 30,
        "accesslog": "-",
        "post_fork": _post_fork,
        "child_exit": _child_exit,
    }
    GunicornServer(app, options).run()


def worker_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's worker settings for ``[storefront] workers`` and ``threads``.

    One thread: gunicorn's sync workers. Each process serves one request at a time and takes
    the next connection from the listening socket only when it is free, so requests wait in one
    queue for whichever worker frees first, and no request shares a process (and its GIL) with
    another; keep-alive is off (nginx in front keeps the clients' connections). Under load this
    cut the catalog's p99 well below gthread's at the same throughput (README, ``bench
    storefront``). More threads: gthread workers, keep-alive 5 s.
    A waiting long-poll holds its worker, so ``timeout`` (how long a sync worker may be busy
    before gunicorn replaces it) stays above the longest ``wait``.
    """
    storefront = settings.storefront
    options: dict[str, Any] = {
        "workers": storefront.worker_count(),
        "timeout": max(30, int(settings.changes.max_wait_seconds) + 30),
    }
    if storefront.threads == 1:
        return {**options, "worker_class": "sync"}
    return {**options, "worker_class": "gthread", "threads": storefront.threads, "keepalive": 5}


def _post_fork(_server: Any, worker: Any) -> None:
    # Connections opened before fork() must not be shared with the parent.
    worker.app.application.extensions["onec_sync_db"].engine.dispose(close=False)


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _prepare_multiprocess_metrics() -> None:
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        created = tempfile.mkdtemp(prefix="onec-sync-metrics-")
        os.environ[MULTIPROCESS_DIR] = created
        atexit.register(shutil.rmtree, created, ignore_errors=True)
    if "prometheus_client" in sys.modules:
        log.warning("prometheus-client was imported before serve: /metrics shows one worker")


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
