"""Lenient parsing of the scalar values 1C writes: numbers, dates, booleans, currencies.

Each parser takes the raw text and raises ``BadValue`` (a ``ValueError``) with a message fit for
an operator; the element readers add the file, line and element.
"""

from __future__ import annotations

import re
from datetime import datetime, time, tzinfo
from decimal import Decimal, InvalidOperation


class BadValue(ValueError):
    """A value that cannot be read even leniently."""


_NUMBER_JUNK = str.maketrans("", "", " \u00a0\u202f\u2009'\t\r\n")


def to_decimal(text: str) -> Decimal:
    """``1719``, ``1 719,50``, ``1\u00a0719.50``, ``-1``, ``1.0000`` -> Decimal; NaN/Inf refused."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = _lenient_decimal(text)
    if not value.is_finite():
        raise BadValue(f"not a number: {text!r}")
    return value


def _lenient_decimal(text: str) -> Decimal:
    cleaned = text.translate(_NUMBER_JUNK)
    if "," in cleaned:
        if "." in cleaned and cleaned.rfind(".") > cleaned.rfind(","):
            cleaned = cleaned.replace(",", "")  # 1,234.50
        else:
            cleaned = cleaned.replace(".", "").replace(",", ".")  # 1.234,50 or 1234,5
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise BadValue(f"not a number: {text!r}") from None


_TRUE = frozenset({"true", "1", "да", "истина", "yes"})
_FALSE = frozenset({"false", "0", "нет", "ложь", "no"})


def to_bool(text: str) -> bool:
    """``true``/``false`` as XML writes them, plus ``1/0``, ``да/нет``, ``истина/ложь``."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadValue(f"not a yes/no value: {text!r}")


_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")


def to_datetime(text: str, tz: tzinfo) -> datetime | None:
    """An aware datetime from the shapes 1C and sites write; ``None`` for 1C's empty date.

    Accepts ``2014-06-01T0:36:33``, ``2014-06-01`` (midnight), ``2014-06-01 10:00:00``,
    ``2024-05-01T10:00:00.123+03:00``, ``11.02.2021 18:45:21``. Without a zone the time is
    taken to be in ``tz`` (1C writes its server's local time). ``0001-01-01...`` is 1C's "no
    date" and gives ``None``.
    """
    stripped = text.strip()
    match = _ISO.fullmatch(stripped)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
    else:
        dotted = _DOTTED.fullmatch(stripped)
        if dotted is None:
            raise BadValue(f"not a date: {text!r}")
        day, month, year, hour, minute, second = dotted.groups()
        fraction = zone = None
    if int(year) <= 1:
        return None
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        raise BadValue(f"not a valid date: {text!r}") from None
    if zone is None:
        return value.replace(tzinfo=tz)
    return datetime.fromisoformat(value.isoformat() + ("+00:00" if zone == "Z" else zone))


def to_time(text: str) -> time:
    """``15:40:40``, ``9:05``, ``09:05:00.5`` -> time."""
    parts = text.strip().split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        seconds = Decimal(parts[2]) if len(parts) == 3 else Decimal(0)
        whole = int(seconds)
        return time(int(parts[0]), int(parts[1]), whole, int((seconds - whole) * 1_000_000))
    except (ValueError, InvalidOperation):
        raise BadValue(f"not a time of day: {text!r}") from None


_CURRENCY_ALIASES = {
    "руб": "RUB",
    "руб.": "RUB",
    "рубль": "RUB",
    "рублей": "RUB",
    "р": "RUB",
    "р.": "RUB",
    "rur": "RUB",
    "643": "RUB",
    "грн": "UAH",
    "грн.": "UAH",
    "гривна": "UAH",
    "980": "UAH",
    "бел. руб": "BYN",
    "бел. руб.": "BYN",
    "бел.руб.": "BYN",
    "933": "BYN",
    "тенге": "KZT",
    "тг": "KZT",
    "тг.": "KZT",
    "398": "KZT",
    "$": "USD",
    "долл": "USD",
    "долл.": "USD",
    "840": "USD",
    "€": "EUR",
    "евро": "EUR",
    "978": "EUR",
}


def to_currency(text: str) -> str | None:
    """ISO 4217 code where the spelling is recognised (``руб`` -> ``RUB``); else as sent.

    Three Latin letters are upper-cased (``usd`` -> ``USD``); an empty value gives ``None``.
    """
    stripped = text.strip()
    if not stripped:
        return None
    alias = _CURRENCY_ALIASES.get(stripped.lower())
    if alias is not None:
        return alias
    if len(stripped) == 3 and stripped.isascii() and stripped.isalpha():
        return stripped.upper()
    return stripped
