"""The load generator sends what its paths file says: GETs, and POSTs with their JSON bodies and
a header whose value no other request shares (each POST /orders is then a new order)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from bench.loadgen import drive

BODY = {"customer": {"name": "Покупатель"}, "lines": [{"product_id": "p-1", "quantity": "2"}]}


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the bench's server
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        self._record(b"")

    def do_POST(self) -> None:
        self._record(self.rfile.read(int(self.headers["Content-Length"])))

    def _record(self, body: bytes) -> None:
        self.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "key": self.headers.get("Idempotency-Key"),
                "api_key": self.headers.get("X-API-Key"),
                "type": self.headers.get("Content-Type"),
                "body": body.decode("utf-8"),
            }
        )
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_posts_carry_their_body_and_a_key_of_their_own(server: str) -> None:
    line = "POST /api/v1/orders " + json.dumps(BODY, ensure_ascii=False)
    figures = asyncio.run(
        drive([server], [line], 2, 0.5, ["X-API-Key: k-1"], unique_header="Idempotency-Key")
    )
    seen = Recorder.seen
    assert figures["errors"] == 0
    assert seen
    assert {(r["method"], r["path"], r["api_key"], r["type"]) for r in seen} == {
        ("POST", "/api/v1/orders", "k-1", "application/json")
    }
    assert all(json.loads(r["body"]) == BODY for r in seen)
    keys = [r["key"] for r in seen]
    assert len(set(keys)) == len(keys)


def test_paths_are_still_plain_gets_without_a_unique_header(server: str) -> None:
    figures = asyncio.run(drive([server], ["/api/v1/ping"], 1, 0.2, []))
    assert figures["errors"] == 0
    assert {(r["method"], r["path"], r["key"], r["body"]) for r in Recorder.seen} == {
        ("GET", "/api/v1/ping", None, "")
    }
