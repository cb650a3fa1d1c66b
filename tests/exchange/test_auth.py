"""1C's Basic credentials: argon2, Cyrillic in UTF-8 or windows-1251, wrong ones refused."""

from __future__ import annotations

import base64

import pytest

from config import ExchangeSettings, Secret
from syncd.exchange.auth import CredentialChecker, hash_password, parse_basic
from syncd.exchange.errors import AuthenticationError


def basic(user: str, password: str, encoding: str = "utf-8") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode(encoding)).decode()


@pytest.fixture(scope="module")
def checker() -> CredentialChecker:
    settings = ExchangeSettings(username="обмен", password_hash=hash_password("Пароль-1С:ё"))
    return CredentialChecker(settings)


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
def test_a_cyrillic_login_and_password_are_accepted_in_either_encoding(
    checker: CredentialChecker, encoding: str
) -> None:
    readings = parse_basic(basic("обмен", "Пароль-1С:ё", encoding))
    assert readings is not None
    assert checker.check(readings) == "обмен"


@pytest.mark.parametrize(
    ("user", "password"),
    [("обмен", "пароль-1С:ё"), ("обмен", ""), ("admin", "Пароль-1С:ё"), ("", "")],
)
def test_wrong_credentials_are_refused(
    checker: CredentialChecker, user: str, password: str
) -> None:
    readings = parse_basic(basic(user, password))
    assert readings is not None
    with pytest.raises(AuthenticationError, match="wrong login or password"):
        checker.check(readings)


def test_no_header_is_missing_credentials_but_garbage_is_wrong_ones() -> None:
    assert parse_basic(None) is None
    assert parse_basic("Bearer abc") is None
    assert parse_basic("Basic %%%not-base64") == []


def test_a_plain_password_from_the_environment_also_works() -> None:
    checker = CredentialChecker(ExchangeSettings(username="1c", password=Secret("s3cret")))
    assert checker.check(parse_basic(basic("1c", "s3cret")) or []) == "1c"
    with pytest.raises(AuthenticationError):
        checker.check(parse_basic(basic("1c", "s3cret ")) or [])


def test_without_configured_credentials_every_login_is_refused() -> None:
    checker = CredentialChecker(ExchangeSettings())
    with pytest.raises(AuthenticationError, match="no credentials configured"):
        checker.check(parse_basic(basic("", "")) or [])


def test_the_stored_hash_is_argon2_and_not_the_password() -> None:
    hashed = hash_password("Пароль")
    assert hashed.startswith("$argon2id$")
    assert "Пароль" not in hashed
