"""1C's credentials: HTTP Basic checked against the configured login and argon2 hash.

1C sends ``Authorization: Basic base64(login:password)``; with a Cyrillic login or password the
bytes are UTF-8 from current platforms but windows-1251 from older ones, and nothing in the header
says which. We try UTF-8 first and then windows-1251, so both work. Every comparison is constant
time, and a wrong login costs as much as a wrong password (no user enumeration by timing).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config import ExchangeSettings
from syncd.exchange.errors import AuthenticationError

_HASHER = PasswordHasher()
# Verified when the login is wrong, so that a wrong login takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("onec-sync: not a password")
_ENCODINGS = ("utf-8", "windows-1251")
# argon2 takes 64 MiB a check: at most this many run at once, however many requests arrive.
_CONCURRENT_CHECKS = threading.BoundedSemaphore(2)


def hash_password(password: str) -> str:
    """The argon2id hash to put into ``exchange.password_hash``."""
    return _HASHER.hash(password)


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    username: str
    password: str


def parse_basic(header: str | None) -> list[BasicCredentials] | None:
    """The readings of a Basic ``Authorization`` header (UTF-8, then windows-1251).

    ``None`` when the request carries no Basic credentials at all; an empty list when the header
    is there but cannot be decoded (that counts as wrong credentials, not missing ones).
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return []
    readings: list[BasicCredentials] = []
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        username, sep, password = text.partition(":")
        candidate = BasicCredentials(username, password)
        if sep and candidate not in readings:
            readings.append(candidate)
    return readings


class CredentialChecker:
    """Checks Basic credentials against ``exchange.username`` and its password (hash or plain)."""

    def __init__(self, settings: ExchangeSettings) -> None:
        self._username = settings.username.encode("utf-8")
        self._hash = settings.password_hash
        self._plain = settings.password.reveal().encode("utf-8")

    @property
    def configured(self) -> bool:
        return bool(self._username) and bool(self._hash or self._plain)

    def bucket(self, readings: list[BasicCredentials]) -> str:
        """The throttle bucket of an attempt: ``"login"`` when a reading names the configured
        login, else ``"other"`` (every wrong login shares one, so guessing logins gains nothing)."""
        named = any(
            hmac.compare_digest(r.username.encode("utf-8"), self._username) for r in readings
        )
        return "login" if named and self._username else "other"

    def check(self, readings: list[BasicCredentials]) -> str:
        """The login of the first reading that matches; raises ``AuthenticationError`` otherwise."""
        if not self.configured:
            raise AuthenticationError(
                "the exchange has no credentials configured (exchange.username and "
                "exchange.password_hash); it refuses every login"
            )
        for reading in readings:
            if self._matches(reading):
                return reading.username
        raise AuthenticationError("wrong login or password")

    def _matches(self, reading: BasicCredentials) -> bool:
        login_ok = hmac.compare_digest(reading.username.encode("utf-8"), self._username)
        password_ok = self._password_matches(reading.password, real_login=login_ok)
        return login_ok and password_ok

    def _password_matches(self, password: str, *, real_login: bool) -> bool:
        if self._hash:
            try:
                with _CONCURRENT_CHECKS:
                    return _HASHER.verify(self._hash if real_login else _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return False
        return hmac.compare_digest(password.encode("utf-8"), self._plain)
