"""Redis stopped under a running API: reads answer from PostgreSQL, revocations hold, limits too."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from tests.conftest import service_missing
from tests.storefront.conftest import PASSWORD, Api, make_settings
from tests.storefront.test_cache import drill_price, set_price

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


class PrivateRedis:
    """A redis-server of this test's own, so it can be stopped without disturbing anyone."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server (to start a private Redis)")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_api(
    pg_seeded: tuple[str, dict[str, str]],
    private_redis: PrivateRedis,
    app_factory: Callable[..., Flask],
) -> Callable[..., Api]:
    url, keys = pg_seeded

    def make(**storefront: str) -> Api:
        return Api(app_factory(make_settings(url, private_redis.url, **storefront)), keys, url)

    return make


def wait_until_deaf(api: Api) -> None:
    """Until the API's event subscription has noticed that Redis is gone (milliseconds)."""
    generations = api.app.extensions["onec_sync_cache"].generations
    deadline = time.monotonic() + 5
    while generations.listening and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not generations.listening


def test_reads_answer_from_the_database_when_redis_stops(
    make_api: Callable[..., Api], private_redis: PrivateRedis
) -> None:
    api = make_api()
    assert drill_price(api) == "5990.00"  # cached now
    private_redis.stop()
    wait_until_deaf(api)
    set_price(api.database_url, "6500")
    assert drill_price(api) == "6500.00"  # not the cached copy: no invalidation without Redis
    for path in ("/api/v1/products", "/api/v1/groups", "/api/v1/search?q=дрель"):
        assert api.get(path).status_code == 200
    link = api.app.extensions["onec_sync_cache"].link
    assert not link.available  # the breaker is open: no more waiting on a dead Redis


def test_revoked_tokens_stay_revoked_while_redis_is_down(
    make_api: Callable[..., Api], private_redis: PrivateRedis
) -> None:
    api = make_api()
    before = api.client.post(
        "/api/v1/auth/login", json={"username": "operator-user", "password": PASSWORD}
    ).get_json()
    api.client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {before['access_token']}"}
    )
    private_redis.stop()
    during = api.client.post(
        "/api/v1/auth/login", json={"username": "admin-user", "password": PASSWORD}
    ).get_json()
    bearer = {"Authorization": f"Bearer {during['access_token']}"}
    assert api.client.get("/api/v1/products", headers=bearer).status_code == 200
    assert api.client.post("/api/v1/auth/logout", headers=bearer).status_code == 200
    assert api.client.get("/api/v1/products", headers=bearer).status_code == 401
    old = {"Authorization": f"Bearer {before['access_token']}"}
    assert api.client.get("/api/v1/products", headers=old).status_code == 401
    assert api.get("/api/v1/products", role="revoked").status_code == 401


def test_rate_limits_hold_in_memory_while_redis_is_down(
    make_api: Callable[..., Api], private_redis: PrivateRedis
) -> None:
    api = make_api(rate_limit="5/minute")
    private_redis.stop()
    statuses = [api.get("/api/v1/groups").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = api.get("/api/v1/groups")
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # a different key has its own budget
    assert api.get("/api/v1/groups", role="admin").status_code == 200


def test_rate_limits_are_shared_through_redis_and_per_key(
    make_api: Callable[..., Api],
) -> None:
    first, second = make_api(rate_limit="4/minute"), make_api(rate_limit="4/minute")
    statuses = [api.get("/api/v1/ping").status_code for api in (first, second) * 3]
    assert statuses == [200, 200, 200, 200, 429, 429]  # two workers, one budget
    assert first.get("/api/v1/ping", role="admin").status_code == 200


def test_caching_resumes_when_redis_comes_back(
    make_api: Callable[..., Api], private_redis: PrivateRedis
) -> None:
    api = make_api()
    link = api.app.extensions["onec_sync_cache"].link
    link.cooldown_seconds = 0.2
    private_redis.stop()
    assert drill_price(api) == "5990.00"
    private_redis.start()
    time.sleep(0.3)
    assert drill_price(api) == "5990.00"  # fills the cache again
    set_price(api.database_url, "6600")
    assert drill_price(api) == "5990.00"  # served from the cache: Redis is back in use
