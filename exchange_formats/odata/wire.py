"""OData JSON on the wire: decoding 1C's answers and encoding our request bodies."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from exchange_formats.errors import FormatError

_BOM = b"\xef\xbb\xbf"
# Above this many significant digits a float cannot carry a decimal exactly (IEEE double).
_EXACT_FLOAT_DIGITS = 15


def loads(body: bytes | str, *, source: str | None = None) -> Any:
    """The JSON document in ``body``; numbers with a fraction or exponent become ``Decimal``.

    A leading UTF-8 BOM (1C HTTP services often send one) is ignored. Raises ``FormatError``
    when the body is not UTF-8 JSON.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError as exc:
        raise FormatError(f"the answer is not UTF-8 ({exc.reason})", source=source) from exc
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"the answer is not JSON: {exc.msg}", source=source, line=exc.lineno
        ) from exc


def rows(document: Any, *, source: str | None = None) -> list[dict[str, Any]]:
    """The rows of a collection answer (``{"value": [...]}``)."""
    value = document.get("value") if isinstance(document, dict) else None
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise FormatError("the answer has no list of rows under 'value'", source=source)
    return value


def dumps(document: Any) -> bytes:
    """``document`` as UTF-8 JSON; ``Decimal`` values are written as JSON numbers, exactly.

    Raises ``FormatError`` for a ``Decimal`` with more significant digits than JSON numbers
    carry exactly through 1C (15): refusing beats sending a silently rounded amount.
    """
    return json.dumps(document, ensure_ascii=False, default=_number).encode("utf-8")


def _number(value: Any) -> Any:
    if not isinstance(value, Decimal):
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    if not value.is_finite():
        raise FormatError(f"{value} is not a number 1C accepts")
    if value == value.to_integral_value():
        return int(value)
    digits = len(value.normalize().as_tuple().digits)
    if digits > _EXACT_FLOAT_DIGITS:
        raise FormatError(f"{value} has more digits than 1C's JSON numbers keep exactly")
    return float(value)
