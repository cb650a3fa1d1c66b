"""Prometheus metrics of the storefront, served at ``/metrics`` to operators and admins.

* ``onec_sync_storefront_replica_skips_total{replica,reason}`` — catalog reads that could not go
  to a replica and went elsewhere: ``down`` (unreachable, skipped for a few seconds) or
  ``behind`` (it has not replayed the last sync's commit, or lags more than
  ``database.replica_max_lag_seconds``).
* ``onec_sync_storefront_replica_lag_seconds{replica}`` — the replay lag last measured (only
  measured when no sync position is known: without Redis, or before the first sync).
* ``onec_sync_storefront_replica_behind_bytes{replica}`` — how far the replica's replay was
  behind the last sync's commit when last asked (0 once it has caught up).

Under gunicorn every worker is a process of its own; ``onec-sync serve`` runs them in
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, see ``storefront.serve``),
so a scrape answered by any worker counts the skips of all of them. One instance reports its own
workers: with several instances, scrape each (the counters add up across instances).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, multiprocess

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class StorefrontMetrics:
    """The registry and the instruments the replica set updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.replica_skips = Counter(
            "onec_sync_storefront_replica_skips",
            "Catalog reads a replica did not serve, by reason (down, behind)",
            ["replica", "reason"],
            registry=r,
        )
        self.replica_lag = Gauge(
            "onec_sync_storefront_replica_lag_seconds",
            "Replay lag of the replica when last measured",
            ["replica"],
            multiprocess_mode="mostrecent",
            registry=r,
        )
        self.replica_behind = Gauge(
            "onec_sync_storefront_replica_behind_bytes",
            "WAL bytes the replica had still to replay of the last sync's commit when last asked",
            ["replica"],
            multiprocess_mode="mostrecent",
            registry=r,
        )

    def render(self) -> bytes:
        """The text exposition: of every worker in multiprocess mode, else of this process."""
        if os.environ.get(MULTIPROCESS_DIR):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
