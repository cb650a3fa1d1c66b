"""Failed logins are limited per client address; other addresses are not affected."""

from __future__ import annotations

import pytest

from syncd.exchange.throttle import LoginThrottle


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_an_address_is_refused_after_its_failed_logins_and_others_are_not(
    storage: str, request: pytest.FixtureRequest
) -> None:
    uri = request.getfixturevalue("redis_url") if storage == "redis" else "memory://"
    throttle = LoginThrottle("3/minute", uri)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.failed("10.0.0.1")
    wait = throttle.retry_after("10.0.0.1")
    assert wait is not None
    assert 1 <= wait <= 61
    assert throttle.retry_after("10.0.0.2") is None
