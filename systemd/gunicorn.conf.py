"""gunicorn settings for ``onec-storefront.service`` (install as /etc/onec-sync/gunicorn.conf.py).

The address, the workers and their threads come from onec-sync's own configuration
(``[storefront] listen``, ``workers`` and ``threads``), as for ``onec-sync serve``. gunicorn tells systemd
READY=1 by itself (``Type=notify``); what it does not do is ping the watchdog, so the arbiter
pings it here (``WatchdogSec=``): every half interval it asks the app's ``/api/v1/ping`` through
the listening socket, and pings systemd only when a worker answered. A storefront whose workers
all hang therefore gets restarted, one with a database outage does not (``/ping`` does not touch
the database).

The workers keep their metrics in prometheus-client's multiprocess mode: the unit sets
``PROMETHEUS_MULTIPROC_DIR`` to its runtime directory (emptied at every start), and a worker that
exits is marked dead here, so ``/metrics`` sums the live and past workers' counters.
"""

from __future__ import annotations

import http.client
import os
import threading
from typing import Any

from config import load_settings
from storefront.serve import worker_options
from syncd.daemon.sdnotify import Notifier

_settings = load_settings()
_storefront = _settings.storefront

bind = [_storefront.listen]
# workers, worker_class (sync for threads = 1, else gthread), threads, keepalive, timeout
globals().update(worker_options(_settings))
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "127.0.0.1,::1"
proc_name = "onec-storefront"
PING_PATH = "/api/v1/ping"

_notifier = Notifier()
_stopping = threading.Event()


def when_ready(server: Any) -> None:
    """Start the watchdog pings once the arbiter has bound its socket and forked workers."""
    interval = _notifier.ping_interval
    if interval is None:
        return
    threading.Thread(target=_watchdog, args=(interval,), name="watchdog", daemon=True).start()


def on_exit(server: Any) -> None:
    _stopping.set()
    _notifier.stopping()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _watchdog(interval: float) -> None:
    while not _stopping.wait(interval):
        if _app_answers(timeout=interval / 2):
            _notifier.watchdog()


def _app_answers(*, timeout: float) -> bool:
    host, _, port = _storefront.listen.rpartition(":")
    try:
        connection = http.client.HTTPConnection(host.strip("[]") or "127.0.0.1", int(port),
                                                timeout=timeout)  # fmt: skip
        connection.request("GET", PING_PATH)
        ok = connection.getresponse().status == 200
        connection.close()
    except (OSError, ValueError, http.client.HTTPException):
        return False
    return ok
