"""Signed webhooks against a real HTTP receiver on loopback: order, signatures, outages, slowness."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cli import main
from config import Settings
from config.settings import ChangesSettings, ImportSettings, PathSettings
from syncd.daemon.housekeeping import prune_change_events
from syncd.daemon.metrics import DaemonMetrics
from syncd.daemon.status import collect_status, format_status
from syncd.daemon.webhooks import (
    SIGNATURE_HEADER,
    add_endpoint,
    backoff,
    deliver_all,
    list_endpoints,
    redeliver,
)
from syncd.importer.pipeline import import_files
from syncd.store import models
from tests.cml_builder import catalog, write_package

pytestmark = pytest.mark.postgres

CHANGES = ChangesSettings(
    webhook_batch=5,
    webhook_timeout_seconds=5,
    webhook_backoff_initial_seconds=1,
    webhook_backoff_max_seconds=60,
    webhook_failing_after=3,
)


class Receiver:
    """A webhook receiver: verifies each signature, records the events, can be slowed."""

    def __init__(self, secret: str = "", port: int = 0) -> None:
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.entered.set()
                owner.gate.wait(30)
                if not verify(owner.secret, self.headers[SIGNATURE_HEADER], body):
                    owner.bad_signatures += 1
                    self.send_response(400)
                else:
                    owner.events.extend(json.loads(body)["events"])
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What the README shows a receiver doing."""
    import time

    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - int(fields["t"])) < tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), fields["v1"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        paths=PathSettings(data_dir=tmp_path / "data"),
        import_=ImportSettings(batch_size=4),
        changes=CHANGES,
    )


def positions(engine: Engine) -> list[int]:
    with Session(engine) as session:
        stmt = select(models.ChangeEvent.position).order_by(models.ChangeEvent.position)
        return list(session.execute(stmt).scalars())


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_every_event_arrives_signed_in_order_and_once_acknowledged_is_not_sent_again(
    engine: Engine, settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    _, receiver.secret = add_endpoint(engine, receiver.url, [])
    assert import_files(engine, write_package(tmp_path / "a", catalog(5)), settings).ok
    report = deliver_all(engine, CHANGES)
    assert report.failed == []
    assert [e["position"] for e in receiver.events] == positions(engine)
    assert receiver.bad_signatures == 0
    assert report.delivered == len(positions(engine))
    assert deliver_all(engine, CHANGES).delivered == 0


def test_a_forged_or_stale_signature_does_not_verify(receiver: Receiver) -> None:
    from syncd.daemon.webhooks import sign

    body = b'{"events": []}'
    assert verify("s3cret", sign("s3cret", int(datetime.now(UTC).timestamp()), body), body)
    assert not verify("other", sign("s3cret", int(datetime.now(UTC).timestamp()), body), body)
    assert not verify("s3cret", sign("s3cret", 1_000_000_000, body), body)
    assert not verify("s3cret", sign("s3cret", int(datetime.now(UTC).timestamp()), body), b"{}")


def test_kinds_choose_the_events_an_endpoint_hears(
    engine: Engine, settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    _, receiver.secret = add_endpoint(engine, receiver.url, ["offer"])
    assert import_files(engine, write_package(tmp_path / "a", catalog(3)), settings).ok
    deliver_all(engine, CHANGES)
    assert {e["kind"] for e in receiver.events} == {"offer"}
    assert len(receiver.events) == 4  # P-00000 has two variants: two offers


def test_a_receiver_down_then_up_gets_every_event_in_order_and_none_is_removed_meanwhile(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    first = Receiver()
    described, first.secret = add_endpoint(engine, first.url, [])
    assert import_files(engine, write_package(tmp_path / "a", catalog(3)), settings).ok
    deliver_all(engine, CHANGES)
    port, secret = first.port, first.secret
    first.stop()  # the receiver goes down
    changed = catalog(6)
    changed[1].prices = {"PT-RETAIL": "555", "PT-OPT": "91"}
    assert import_files(engine, write_package(tmp_path / "b", changed), settings).ok
    for attempt in range(1, 4):
        report = deliver_all(engine, CHANGES, now=lambda n=attempt: later(n * 2))
        assert len(report.failed) == 1
    endpoint = list_endpoints(engine)[0]
    assert endpoint["state"] == "failing"
    assert endpoint["attempts"] == 3
    status = collect_status(engine)
    assert status["webhooks"][0]["state"] == "failing"
    assert "failing" in format_status(status)
    metrics = DaemonMetrics(engine).render().decode()
    assert 'onec_sync_webhook_endpoints{state="failing"} 1.0' in metrics
    assert f'onec_sync_webhook_behind{{endpoint="{endpoint["id"]}"}}' in metrics
    # Retention keeps what the endpoint has not received, however old.
    prune_change_events(engine, later(60 * 24 * 365))
    assert positions(engine)[0] == endpoint["position"] + 1
    # Waiting for its next try: nothing is sent before it is due.
    back = Receiver(secret, port=port)
    try:
        assert deliver_all(engine, CHANGES).delivered == 0
        deliver_all(engine, CHANGES, now=lambda: later(60))
        received = [e["position"] for e in first.events + back.events]
        assert received == sorted(set(received))
        assert set(positions(engine)) <= set(received)  # none lost
        assert ("price", "P-00001") in {(e["kind"], e["id"]) for e in back.events}
        assert list_endpoints(engine)[0]["state"] == "active"
    finally:
        back.stop()
    assert described["id"] == endpoint["id"]


def test_a_slow_receiver_does_not_hold_up_an_import(
    engine: Engine, settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    _, receiver.secret = add_endpoint(engine, receiver.url, [])
    assert import_files(engine, write_package(tmp_path / "a", catalog(3)), settings).ok
    receiver.gate.clear()  # the receiver takes its time answering
    delivery = threading.Thread(target=deliver_all, args=(engine, CHANGES))
    delivery.start()
    assert receiver.entered.wait(10)
    result = import_files(engine, write_package(tmp_path / "b", catalog(8)), settings)
    assert result.ok  # the import committed while the delivery still waits for its answer
    assert delivery.is_alive()
    receiver.gate.set()
    delivery.join(10)
    deliver_all(engine, CHANGES)
    assert [e["position"] for e in receiver.events] == positions(engine)


def test_redeliver_sends_the_events_after_a_position_again(
    engine: Engine, settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    described, receiver.secret = add_endpoint(engine, receiver.url, [])
    assert import_files(engine, write_package(tmp_path / "a", catalog(2)), settings).ok
    deliver_all(engine, CHANGES)
    first = [e["position"] for e in receiver.events]
    redeliver(engine, described["id"], after=first[2])
    deliver_all(engine, CHANGES)
    assert [e["position"] for e in receiver.events] == first + first[3:]


def test_backoff_grows_with_jitter_up_to_its_bound() -> None:
    waits = [backoff(CHANGES, n) for n in range(1, 12)]
    assert 1 <= waits[0] <= 2
    assert 8 <= waits[3] <= 9
    assert all(w <= 60 for w in waits)
    assert waits[-1] == 60


# --- the command line ------------------------------------------------------------------------


def run(url: str, *args: str) -> Any:
    env = {"ONEC_SYNC_DATABASE_URL": url, "ONEC_SYNC_CONFIG": ""}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_webhooks_commands_add_list_test_and_remove(
    fresh_database_url: str, engine: Engine, receiver: Receiver
) -> None:
    added = run(fresh_database_url, "webhooks", "add", receiver.url, "--events", "price")
    assert added.exit_code == 0, added.output
    receiver.secret = added.stdout.strip()
    assert receiver.secret.startswith("whsec_")
    listed = run(fresh_database_url, "webhooks", "list", "--json")
    (endpoint,) = json.loads(listed.stdout)
    assert endpoint["kinds"] == ["price"]
    assert "secret" not in listed.stdout
    tested = run(fresh_database_url, "webhooks", "test", str(endpoint["id"]))
    assert tested.exit_code == 0, tested.output
    assert receiver.bad_signatures == 0
    assert run(fresh_database_url, "webhooks", "remove", str(endpoint["id"])).exit_code == 0
    missing = run(fresh_database_url, "webhooks", "remove", str(endpoint["id"]))
    assert missing.exit_code == 1
    assert "there is no webhook" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "ftp://x/hooks"], "not an http(s) URL"),
        (["add", "https://x/h", "--events", "customer"], "Invalid value"),
        (["redeliver", "1", "--after", "-1"], "--after must be a position"),
        (["test", "999"], "there is no webhook 999"),
    ],
)
def test_bad_webhook_commands_are_one_line_errors(
    fresh_database_url: str, engine: Engine, args: list[str], message: str
) -> None:
    result = run(fresh_database_url, "webhooks", *args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
