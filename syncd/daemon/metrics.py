"""Prometheus metrics of one daemon process, served at ``/metrics``.

Counters (this process since it started; Prometheus sums several daemons):

* ``onec_sync_job_runs_total{job,outcome}`` — every scheduled execution: succeeded, unchanged,
  failed, interrupted, idle, or not run: ``standby`` (another daemon leads it), ``backoff``.
* ``onec_sync_stream_runs_total{stream,outcome}``, ``onec_sync_records_written_total{stream}``,
  ``onec_sync_stream_failures_total{stream}``, ``onec_sync_stream_duration_seconds{stream}``
  (histogram) — per stream: ``folder``, ``odata:<stream>``, ``orders``.

Gauges: ``onec_sync_job_leader{job}`` (1 while this process leads it),
``onec_sync_job_consecutive_failures{job}``, ``onec_sync_job_last_success_timestamp_seconds{job}``;
and, read from the database at each scrape (``syncd.daemon.status``): ``onec_sync_database_up``,
``onec_sync_import_lag_seconds{stream}`` (since the stream's last successful run),
``onec_sync_pending_orders``, ``onec_sync_order_outbox{state}``,
``onec_sync_exchange_sessions{status}``. The process collector adds CPU, memory and open files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from syncd.daemon.jobs import JobReport
from syncd.daemon.status import exchange_overview, last_successes, order_counts, webhook_status

log = logging.getLogger(__name__)
_DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class DaemonMetrics:
    """The registry and the instruments the job guard updates."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.job_runs = Counter(
            "onec_sync_job_runs", "Scheduled job executions", ["job", "outcome"], registry=r
        )
        self.stream_runs = Counter(
            "onec_sync_stream_runs", "Runs per stream", ["stream", "outcome"], registry=r
        )
        self.records_written = Counter(
            "onec_sync_records_written",
            "Rows inserted, updated, deleted or hidden",
            ["stream"],
            registry=r,
        )
        self.stream_failures = Counter(
            "onec_sync_stream_failures", "Failed runs per stream", ["stream"], registry=r
        )
        self.stream_duration = Histogram(
            "onec_sync_stream_duration_seconds",
            "How long a stream's run took",
            ["stream"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.leader = Gauge("onec_sync_job_leader", "1 while this daemon leads the job", ["job"],
                            registry=r)  # fmt: skip
        self.failures_in_row = Gauge(
            "onec_sync_job_consecutive_failures", "Failures in a row", ["job"], registry=r
        )
        self.last_success = Gauge(
            "onec_sync_job_last_success_timestamp_seconds",
            "When the job last succeeded (Unix time)",
            ["job"],
            registry=r,
        )
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        if engine is not None:
            r.register(DatabaseCollector(engine))

    def skipped(self, job: str, reason: str) -> None:
        self.job_runs.labels(job, reason).inc()

    def crashed(self, job: str, failures: int) -> None:
        self.job_runs.labels(job, "failed").inc()
        self.failures_in_row.labels(job).set(failures)

    def observe(self, report: JobReport, failures: int) -> None:
        """Count one finished job run and its streams."""
        self.job_runs.labels(report.job, report.outcome).inc()
        self.failures_in_row.labels(report.job).set(failures)
        if not report.failed and report.outcome != "interrupted":
            self.last_success.labels(report.job).set(time.time())
        for stream in report.streams:
            self.stream_runs.labels(stream.stream, stream.outcome).inc()
            self.records_written.labels(stream.stream).inc(stream.written)
            self.stream_duration.labels(stream.stream).observe(stream.duration_s)
            if stream.outcome == "failed":
                self.stream_failures.labels(stream.stream).inc()

    def set_leading(self, jobs: list[str], leading: list[str]) -> None:
        for job in jobs:
            self.leader.labels(job).set(1 if job in leading else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time; ``onec_sync_database_up`` 0 if it is down."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.clock = clock or (lambda: datetime.now(UTC))

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("onec_sync_database_up", "1 when the database answered the scrape")
        try:
            families = list(self._read())
        except SQLAlchemyError as exc:
            log.debug("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> Iterator[Metric]:
        now = self.clock()
        lag = GaugeMetricFamily(
            "onec_sync_import_lag_seconds",
            "Seconds since the stream's last success",
            labels=["stream"],
        )
        pending = GaugeMetricFamily("onec_sync_pending_orders", "Orders not yet confirmed by 1C")
        outbox = GaugeMetricFamily(
            "onec_sync_order_outbox", "OData order outbox rows by state", labels=["state"]
        )
        sessions = GaugeMetricFamily(
            "onec_sync_exchange_sessions", "1C exchange sessions by status", labels=["status"]
        )
        hooks = GaugeMetricFamily(
            "onec_sync_webhook_endpoints", "Webhook endpoints by state", labels=["state"]
        )
        behind = GaugeMetricFamily(
            "onec_sync_webhook_behind",
            "Feed positions an endpoint has not acknowledged yet",
            labels=["endpoint"],
        )
        with Session(self.engine) as db:
            endpoints = webhook_status(db)
            for stream, finished in last_successes(db):
                lag.add_metric([stream], max((now - finished).total_seconds(), 0.0))
            orders = order_counts(db)
            exchange = exchange_overview(db)
        pending.add_metric([], orders["pending"])
        for state, n in sorted(orders["outbox"].items()):
            outbox.add_metric([state], n)
        for status, n in sorted(exchange["sessions"].items()):
            sessions.add_metric([status], n)
        for state in ("active", "failing"):
            hooks.add_metric([state], sum(1 for e in endpoints if e["state"] == state))
        for endpoint in endpoints:
            behind.add_metric([str(endpoint["id"])], endpoint["behind"])
        yield from (lag, pending, outbox, sessions, hooks, behind)
