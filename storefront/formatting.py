"""How values leave the API: money and quantities as decimal strings, datetimes as ISO 8601 UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RawJSON:
    """A value already written as JSON (compact, as ``storefront.responses.dumps`` writes it),
    placed into a response as it is."""

    text: str


def money(value: Decimal | None) -> str | None:
    """``Decimal('1500.5000')`` -> ``"1500.50"``: at least two decimals, at most four."""
    if value is None:
        return None
    text = f"{value:.4f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def quantity(value: Decimal | None) -> str | None:
    """``Decimal('5.0000')`` -> ``"5"``, ``Decimal('2.5')`` -> ``"2.5"``."""
    if value is None:
        return None
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC; naive values (SQLite hands those back) are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
