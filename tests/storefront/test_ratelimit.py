"""Rate limits in Redis: the counting and the X-RateLimit headers, at one round trip a request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis
from flask import Flask

from tests.storefront.conftest import Api, make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def limited_api(
    pg_seeded: tuple[str, dict[str, str]], redis_url: str, app_factory: Callable[..., Flask]
) -> Api:
    url, keys = pg_seeded
    settings = make_settings(url, redis_url, rate_limit="5/minute", cache_ttl_seconds=0)
    return Api(app_factory(settings), keys, url)


class Monitor:
    """The commands Redis runs on the rate limiter's keys while it is open (MONITOR)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self._monitor = self.client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            while True:
                command = self._monitor.next_command()["command"]
                if "onec-sync-limits" in command:
                    self.commands.append(command.split()[0].lower())
        except (redis.RedisError, OSError, ValueError):
            return

    def close(self) -> list[str]:
        time.sleep(0.3)  # let the last commands arrive
        self._monitor.connection.disconnect()
        self._thread.join(timeout=5)
        self.client.close()
        return self.commands


def test_the_headers_count_down_and_the_sixth_call_is_refused(limited_api: Api) -> None:
    remaining = []
    for _ in range(5):
        response = limited_api.get("/api/v1/groups")
        assert response.status_code == 200
        assert "Retry-After" not in response.headers  # only a refusal says when to retry
        assert response.headers["X-RateLimit-Limit"] == "5"
        reset = float(response.headers["X-RateLimit-Reset"])
        assert time.time() < reset <= time.time() + 61
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    refused = limited_api.get("/api/v1/groups")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # Another key has a window of its own.
    assert limited_api.get("/api/v1/groups", role="operator").status_code == 200


def test_a_request_costs_one_redis_round_trip_for_its_limit_and_headers(
    limited_api: Api, redis_url: str
) -> None:
    limited_api.get("/api/v1/groups")  # scripts loaded, connections open
    monitor = Monitor(redis_url)
    response = limited_api.get("/api/v1/groups")
    commands = monitor.close()
    assert response.headers["X-RateLimit-Remaining"] == "3"
    # One script call (the increment, returning the window's TTL; Redis also lists the
    # commands the script runs); no separate GET or TTL for the headers.
    scripts = [c for c in commands if c in ("evalsha", "eval")]
    assert len(scripts) == 1, commands
    assert "get" not in commands, commands
    assert "ttl" not in commands, commands
