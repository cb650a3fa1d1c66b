"""Login attempts are limited per login bucket and client address, before the password is
checked; other addresses and 1C's allow-listed address are not affected."""

from __future__ import annotations

import pytest

from syncd.exchange.throttle import LoginThrottle


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_an_address_is_refused_after_its_attempts_and_others_are_not(
    storage: str, request: pytest.FixtureRequest
) -> None:
    uri = request.getfixturevalue("redis_url") if storage == "redis" else "memory://"
    throttle = LoginThrottle("3/minute", uri)
    for _ in range(3):
        assert throttle.attempt("login", "10.0.0.1") is None
    wait = throttle.attempt("login", "10.0.0.1")
    assert wait is not None
    assert 1 <= wait <= 61
    assert throttle.attempt("login", "10.0.0.2") is None
    assert throttle.attempt("other", "10.0.0.1") is None


def test_a_correct_login_empties_its_bucket() -> None:
    throttle = LoginThrottle("3/minute")
    for _ in range(2):
        assert throttle.attempt("login", "10.0.0.1") is None
    throttle.succeeded("login", "10.0.0.1")
    for _ in range(3):
        assert throttle.attempt("login", "10.0.0.1") is None


def test_allow_listed_addresses_are_never_locked_out() -> None:
    throttle = LoginThrottle("1/minute", allowlist=["192.0.2.0/28", "2001:db8::1"])
    for address in ("192.0.2.5", "2001:db8::1"):
        for _ in range(5):
            assert throttle.attempt("login", address) is None
    throttle.attempt("login", "192.0.2.99")
    assert throttle.attempt("login", "192.0.2.99") is not None
