"""Single 1C values -> ours: references, dates, numbers, strings."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from exchange_formats.errors import FormatError

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"  # 1C's empty date
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(text: str) -> bool:
    return bool(_GUID.match(text))


def ref(value: Any) -> str | None:
    """A reference (``X_Key``) as a lower-case GUID string; the empty (zero) reference is None."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if text == ZERO_GUID:
        return None
    if not is_guid(text):
        raise ValueError(f"{value!r} is not a reference (GUID)")
    return text


def text(value: Any) -> str | None:
    """A string value, trimmed; empty strings are None (1C has no NULL strings, only empty)."""
    if value is None:
        return None
    stripped = str(value).strip()
    return stripped or None


def decimal(value: Any) -> Decimal | None:
    """A number as ``Decimal``; JSON numbers, Int64 strings (``"19"``) and null are accepted."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def boolean(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"{value!r} is not true or false")


def local_datetime(value: Any, zone: tzinfo) -> datetime | None:
    """1C's naive server-local date-time made aware in ``zone``; the empty date is None."""
    if value is None or value == "" or value == EMPTY_DATE:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date-time") from None
    if parsed.tzinfo is not None:
        return parsed
    return parsed.replace(tzinfo=zone)


def naive_local(moment: datetime, zone: tzinfo) -> str:
    """An aware datetime as the naive server-local text 1C expects (``2025-01-21T10:14:02``)."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0).isoformat()


def field(row: dict[str, Any], name: str, convert: Any, *, source: str | None) -> Any:
    """``convert(row[name])``, or None when the role is switched off (empty name) or absent.

    Raises ``FormatError`` naming the entity set, the row's ``Ref_Key`` and the property.
    """
    if not name or name not in row:
        return None
    try:
        return convert(row[name])
    except ValueError as exc:
        raise FormatError(f"property {name}: {exc}", source=source, element=row_label(row)) from exc


def row_label(row: dict[str, Any]) -> str:
    key = row.get("Ref_Key")
    return f"Ref_Key={key}" if key else "row"
