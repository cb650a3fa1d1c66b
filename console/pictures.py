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
    span = (_day(series[0]["started_at"]), _day(series[-1]["started_at"])) if series else ("", "")
    hours = reads.orders_per_hour(db, now=now)
    return {
        "throughput": bars(
            [Bar(r["per_second"], f"{_day(r['started_at'])} {r['stream']} {r['run_uuid']}: "
                 f"{r['per_second']:.0f} rows/s", r["status"] == "failed") for r in series],
            title=f"Import throughput of the last {len(series)} runs (4 weeks at most)",
            unit="rows written per second",
            axis=span,
        ),
        "durations": bars(
            [Bar(r["seconds"], f"{_day(r['started_at'])} {r['stream']} {r['run_uuid']}: "
                 f"{r['seconds']:.1f} s", r["status"] == "failed") for r in series],
            title=f"Duration of the last {len(series)} runs (4 weeks at most)", unit="seconds",
            axis=span,
        ),
        "lag": bars(
            [Bar(s["lag_seconds"] or 0.0, f"{s['stream']}: lag {s['lag_seconds']} s",
                 s["status"] == "failed") for s in streams],
            title="Lag per stream", unit="seconds since the last success",
            axis=(streams[0]["stream"], streams[-1]["stream"]) if streams else ("", ""),
        ),
        "orders_chart": bars(
            [Bar(float(n), f"{hour:%Y-%m-%d %H}:00 UTC: {n} order(s)") for hour, n in hours],
            title="Orders per hour, last 48 hours", unit="orders",
            axis=(f"{hours[0][0]:%d.%m %H}:00", f"{hours[-1][0]:%d.%m %H}:00"),
        ),
    }  # fmt: skip


def _day(moment: datetime | None) -> str:
    return moment.isoformat(" ", "minutes")[:16] if moment else ""
