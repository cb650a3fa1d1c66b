"""Opaque pagination cursors: URL-safe base64 of a small JSON list, checked when read back.

A cursor comes back from the client, so it is input like any other: besides its kind and length,
every value must be a string the database can store (no NUL, no lone surrogate, at most
``MAX_TEXT`` characters) or an integer a BIGINT holds (0 to 2**63-1). Anything else (floats,
``NaN``, ``1e999999999``, ``10**30``, nested lists) is a 400 ``invalid cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from storefront.errors import BadRequest

MAX_BIGINT = 2**63 - 1
MAX_TEXT = 1000  # a name or a timestamp; the cursor parameter itself is at most 512 characters


def encode_cursor(kind: str, values: list[Any]) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, size: int) -> list[Any]:
    """The values encoded for ``kind``; raises ``BadRequest`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(data, list) or len(data) != size + 1 or data[0] != kind:
        raise invalid_cursor()
    if not all(_storable(value) for value in data[1:]):
        raise invalid_cursor()
    return data[1:]


def _storable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_BIGINT
    if isinstance(value, str):
        if len(value) > MAX_TEXT or "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    return False


def invalid_cursor() -> BadRequest:
    return BadRequest(
        "the cursor is not valid for this listing (pass next_cursor back unchanged, with the "
        "same sort)",
        details=[{"field": "cursor", "message": "invalid cursor"}],
    )
