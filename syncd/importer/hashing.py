"""Content hashes: an unchanged record hashes the same, so its row need not be written again."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import orjson

_CHUNK = 1024 * 1024


def record_hash(record: object) -> str:
    """A stable digest of a frozen record: every field, in declaration order, nested records
    included (orjson serialises dataclasses natively; Decimals as their exact text)."""
    return hashlib.blake2b(orjson.dumps(record, default=_exact), digest_size=16).hexdigest()


def _exact(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot hash a {type(value).__name__}")


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return stream_sha256(fh)


def stream_sha256(fh: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
