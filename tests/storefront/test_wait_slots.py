"""The long-poll wait slots: one count per server, shared by its worker processes, never leaked
by a worker that dies, and a served API that keeps answering while long-polls wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from storefront.wait_slots import WaitSlots
from tests.serveproc import serve, served_env
from tests.storefront.conftest import JWT_SECRET, seed

HOLDER = """
import sys
from storefront.wait_slots import WaitSlots
with WaitSlots(2, sys.argv[1]).hold() as taken:
    print("held" if taken else "refused", flush=True)
    sys.stdin.readline()
"""


def _holder(server: str) -> subprocess.Popen[str]:
    """Another process of the same server, holding one slot until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


@pytest.mark.skipif(sys.platform != "linux", reason="slots across processes are Linux's")
def test_a_servers_slots_are_counted_across_its_processes_and_freed_when_one_dies() -> None:
    server = f"127.0.0.1:{uuid.uuid4().hex}"
    other = _holder(server)
    slots = WaitSlots(2, server)
    with slots.hold() as first:
        assert first
        with slots.hold() as second:
            assert not second  # the other process holds the second slot
        with WaitSlots(2, f"127.0.0.1:{uuid.uuid4().hex}").hold() as elsewhere:
            assert elsewhere  # another server's slots are its own
    os.kill(other.pid, signal.SIGKILL)  # a worker killed while it waits
    other.wait(10)
    with slots.hold() as first, slots.hold() as second:
        assert first
        assert second


def test_a_slot_taken_in_one_thread_is_free_again_after_its_request() -> None:
    slots = WaitSlots(1, f"127.0.0.1:{uuid.uuid4().hex}")
    seen: list[bool] = []

    def another_request() -> None:
        with slots.hold() as taken:
            seen.append(taken)

    with slots.hold() as taken:
        assert taken
        worker = threading.Thread(target=another_request)
        worker.start()
        worker.join()
    assert seen == [False]
    with slots.hold() as again:
        assert again


@pytest.mark.postgres
def test_the_served_api_answers_while_long_polls_wait_and_more_are_answered_at_once(
    fresh_pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    keys = seed(fresh_pg_url)
    env = served_env(
        fresh_pg_url,
        redis_url,
        STOREFRONT_JWT_SECRET=JWT_SECRET,
        STOREFRONT_RATE_LIMIT="1000/minute",
    )
    headers = {"X-API-Key": keys["shop"]}
    # Two sync workers (the default: one thread each): one of them may wait on a long-poll.
    with (
        serve(env, tmp_path / "serve.log", workers=2) as base,
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
    ):
        head = client.get("/api/v1/changes?limit=1").json()["head"]
        answered: list[httpx.Response] = []  # in the order they came back

        def long_poll() -> None:
            url = f"{base}/api/v1/changes?after={head}&wait=4"
            answered.append(httpx.get(url, headers=headers, timeout=30))

        polls = [threading.Thread(target=long_poll) for _ in range(2)]
        for poll in polls:
            poll.start()
        try:
            while not answered:
                assert any(p.is_alive() for p in polls)
                time.sleep(0.05)
            # One long-poll was answered at once, while the other still waits ...
            refused = answered[0]
            assert len(answered) == 1
            assert refused.status_code == 200
            assert refused.json() == {"items": [], "next_after": head, "head": head}
            assert refused.headers["Retry-After"] == "1"
            # ... and the other worker serves the catalog meanwhile.
            assert client.get("/api/v1/products").status_code == 200
            assert len(answered) == 1
        finally:
            for poll in polls:
                poll.join()
        waited = answered[1]
        assert waited.status_code == 200
        assert "Retry-After" not in waited.headers
        assert waited.json()["items"] == []
