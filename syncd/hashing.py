"""Content hashes: an unchanged record hashes the same, so its row need not be written again."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024


def record_hash(record: object) -> str:
    """A stable digest of a frozen record (its ``repr``: field order and values, all of them).

    Records are frozen dataclasses of str/Decimal/bool/datetime/tuples, whose ``repr`` is
    deterministic, and far cheaper to build than a canonical JSON document.
    """
    return hashlib.blake2b(repr(record).encode("utf-8"), digest_size=16).hexdigest()


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return stream_sha256(fh)


def stream_sha256(fh: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
