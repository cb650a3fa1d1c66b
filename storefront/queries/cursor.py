"""Opaque pagination cursors: URL-safe base64 of a small JSON list, checked when read back."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from storefront.errors import BadRequest


def encode_cursor(kind: str, values: list[Any]) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, size: int) -> list[Any]:
    """The values encoded for ``kind``; raises ``BadRequest`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _invalid() from exc
    if not isinstance(data, list) or len(data) != size + 1 or data[0] != kind:
        raise _invalid()
    return data[1:]


def _invalid() -> BadRequest:
    return BadRequest(
        "the cursor is not valid for this listing (pass next_cursor back unchanged, with the "
        "same sort)",
        details=[{"field": "cursor", "message": "invalid cursor"}],
    )
