"""The overview's pictures: throughput and duration per run, lag per stream, orders per hour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from console import reads
from console.charts import Bar, bars


def overview_pictures(
    db: Session, *, streams: list[dict[str, Any]], now: datetime
) -> dict[str, Markup]:
    series = reads.run_series(db, now=now)
    return {
        "throughput": bars(
            [Bar(r["per_second"], f"{r['stream']} {r['run_uuid']}: {r['per_second']:.0f} rows/s",
                 r["status"] == "failed") for r in series],
            title="Import throughput per run, last 4 weeks", unit="rows written per second",
        ),
        "durations": bars(
            [Bar(r["seconds"], f"{r['stream']} {r['run_uuid']}: {r['seconds']:.1f} s",
                 r["status"] == "failed") for r in series],
            title="Duration per run, last 4 weeks", unit="seconds",
        ),
        "lag": bars(
            [Bar(s["lag_seconds"] or 0.0, f"{s['stream']}: lag {s['lag_seconds']} s",
                 s["status"] == "failed") for s in streams],
            title="Lag per stream (" + ", ".join(s["stream"] for s in streams) + ")",
            unit="seconds since the last success",
        ),
        "orders_chart": bars(
            [Bar(float(n), f"{hour:%Y-%m-%d %H}:00 UTC: {n} order(s)")
             for hour, n in reads.orders_per_hour(db, now=now)],
            title="Orders per hour, last 48 hours", unit="orders",
        ),
    }  # fmt: skip
