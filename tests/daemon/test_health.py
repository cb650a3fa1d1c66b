"""/health, /ready and /metrics as a load balancer and Prometheus see them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from flask import Blueprint, Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from config import DaemonSettings, DatabaseSettings, ExchangeSettings, Secret, Settings
from syncd.daemon.endpoint import start_endpoint
from syncd.daemon.health import ReadinessProbe, make_ops_blueprint, make_public_blueprint
from syncd.daemon.jobs import JobReport, StreamReport
from syncd.daemon.metrics import DaemonMetrics
from syncd.store.engine import make_engine


def client(engine: Engine, *, stopping: bool = False) -> tuple[object, DaemonMetrics]:
    app = Flask("test")
    metrics = DaemonMetrics(engine)
    app.register_blueprint(
        make_ops_blueprint(
            ReadinessProbe(engine, ttl=0), metrics,
            stopping=lambda: stopping, describe=lambda: {"jobs": {}},
        )
    )  # fmt: skip
    return app.test_client(), metrics


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_ready_when_the_database_answers_with_the_newest_schema(
    fresh_database_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    http, _ = client(make_db_engine(fresh_database_url))
    response = http.get("/ready")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.json == {
        "ready": True,
        "database": "ok",
        "schema": "current",
        "stopping": False,
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_not_ready_on_an_old_schema_an_unreachable_database_or_while_stopping(
    empty_pg_url: str, fresh_sqlite_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    http, _ = client(make_db_engine(empty_pg_url))
    old = http.get("/ready")  # type: ignore[attr-defined]
    assert old.status_code == 503
    assert old.json["schema"].startswith("behind")

    gone = make_engine(DatabaseSettings(url="postgresql+psycopg://127.0.0.1:1/x",
                                        connect_timeout_seconds=1))  # fmt: skip
    http, _ = client(gone)
    down = http.get("/ready")  # type: ignore[attr-defined]
    assert down.status_code == 503
    assert down.json["database"].startswith("unreachable")
    assert http.get("/health").status_code == 200  # type: ignore[attr-defined]
    gone.dispose()

    http, _ = client(make_db_engine(fresh_sqlite_url), stopping=True)
    stopping = http.get("/ready")  # type: ignore[attr-defined]
    assert stopping.status_code == 503
    assert stopping.json["stopping"] is True


def test_metrics_parse_and_count_what_a_job_reports(
    fresh_sqlite_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    http, metrics = client(make_db_engine(fresh_sqlite_url))
    before = samples(http.get("/metrics").text)  # type: ignore[attr-defined]
    assert before[("onec_sync_database_up", ())] == 1
    assert before[("onec_sync_pending_orders", ())] == 0

    metrics.observe(
        JobReport(
            job="odata", outcome="succeeded",
            streams=(StreamReport(stream="odata:stock", outcome="succeeded", written=42,
                                  duration_s=1.5),),
        ),
        failures=0,
    )  # fmt: skip
    after = samples(http.get("/metrics").text)  # type: ignore[attr-defined]
    assert after[("onec_sync_records_written_total", (("stream", "odata:stock"),))] == 42
    assert after[("onec_sync_job_runs_total", (("job", "odata"), ("outcome", "succeeded")))] == 1
    assert after[("onec_sync_stream_duration_seconds_sum", (("stream", "odata:stock"),))] == 1.5


def test_metrics_still_answer_when_the_database_is_down() -> None:
    gone = make_engine(DatabaseSettings(url="postgresql+psycopg://127.0.0.1:1/x",
                                        connect_timeout_seconds=1))  # fmt: skip
    http, _ = client(gone)
    response = http.get("/metrics")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert samples(response.text)[("onec_sync_database_up", ())] == 0
    gone.dispose()


def test_the_endpoint_serves_the_exchange_only_when_it_is_enabled(
    fresh_sqlite_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    engine = make_db_engine(fresh_sqlite_url)
    for enabled in (True, False):
        settings = Settings(
            database=DatabaseSettings(url=fresh_sqlite_url),
            daemon=DaemonSettings(http_listen="127.0.0.1:0", ops_listen="127.0.0.1:0"),
            exchange=ExchangeSettings(enabled=enabled),
        )
        endpoint = start_endpoint(settings, engine, *blueprints(engine))
        try:
            checkauth = httpx.get(endpoint.url + "/1c_exchange?type=catalog&mode=checkauth")
            health = httpx.get(endpoint.url + "/health")
        finally:
            endpoint.stop_serving()
            if endpoint.exchange is not None:
                endpoint.exchange.close()
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        if enabled:
            assert checkauth.text.startswith("failure")  # 1C's protocol answers, no login set
        else:
            assert checkauth.status_code == 404


TOKEN = "an operator token 0123456789"


def blueprints(engine: Engine, *, stopping: bool = False) -> tuple[Blueprint, Blueprint]:
    probe, metrics = ReadinessProbe(engine, ttl=0), DaemonMetrics(engine)
    ops = make_ops_blueprint(probe, metrics, stopping=lambda: stopping,
                             describe=lambda: {"jobs": {"odata": {}}, "pid": 1})  # fmt: skip
    public = make_public_blueprint(probe, metrics, stopping=lambda: stopping,
                                   describe=lambda: {"jobs": {"odata": {}}, "pid": 1},
                                   token=TOKEN)  # fmt: skip
    return ops, public


@pytest.mark.parametrize("schema", ["current", "behind"])
def test_the_exchange_port_answers_bare_checks_with_real_codes_and_404_elsewhere(
    schema: str, fresh_sqlite_url: str, empty_pg_url: str, make_db_engine: Callable[..., Engine]
) -> None:
    url = fresh_sqlite_url if schema == "current" else empty_pg_url
    engine = make_db_engine(url)
    settings = Settings(
        database=DatabaseSettings(url=url),
        daemon=DaemonSettings(
            http_listen="127.0.0.1:0", ops_listen="127.0.0.1:0", ops_token=Secret(TOKEN)
        ),
    )
    endpoint = start_endpoint(settings, engine, *blueprints(engine))
    try:
        public = {p: httpx.get(endpoint.url + p) for p in ("/health", "/ready", "/metrics", "/x")}
        operator = httpx.get(
            endpoint.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        wrong = httpx.get(endpoint.url + "/metrics", headers={"Authorization": "Bearer nope"})
        assert endpoint.ops_url is not None
        ops_ready = httpx.get(endpoint.ops_url + "/ready")
        ops_metrics = httpx.get(endpoint.ops_url + "/metrics")
    finally:
        endpoint.stop_serving()
        assert endpoint.exchange is not None
        endpoint.exchange.close()
    ok = schema == "current"
    assert (public["/health"].status_code, public["/health"].json()) == (200, {"status": "ok"})
    assert public["/ready"].json() == {"ready": ok}
    assert public["/ready"].status_code == (200 if ok else 503)
    assert public["/metrics"].status_code == 404
    assert public["/x"].status_code == 404
    assert "pid" not in public["/health"].text
    assert operator.status_code == 200
    assert "onec_sync_database_up" in operator.text
    assert wrong.status_code == 404
    assert ops_ready.status_code == (200 if ok else 503)
    assert "schema" in ops_ready.json()
    assert ops_metrics.status_code == 200


def test_health_answers_503_while_the_daemon_stops(fresh_sqlite_url: str) -> None:
    engine = make_engine(DatabaseSettings(url=fresh_sqlite_url))
    for blueprint in blueprints(engine, stopping=True):
        app = Flask("test")
        app.register_blueprint(blueprint)
        assert app.test_client().get("/health").status_code == 503
    engine.dispose()
