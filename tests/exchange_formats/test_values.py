"""Lenient values: the dates, numbers, yes/no values and currencies real files contain."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from exchange_formats.commerceml._values import (
    BadValue,
    to_bool,
    to_currency,
    to_datetime,
    to_decimal,
    to_time,
)

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-06-01T0:36:33", datetime(2014, 6, 1, 0, 36, 33, tzinfo=MOSCOW)),
        ("2014-11-25T8:00:00", datetime(2014, 11, 25, 8, tzinfo=MOSCOW)),
        ("2008-03-28", datetime(2008, 3, 28, tzinfo=MOSCOW)),
        ("2007-10-16 15:44:47", datetime(2007, 10, 16, 15, 44, 47, tzinfo=MOSCOW)),
        ("11.02.2021 18:45:21", datetime(2021, 2, 11, 18, 45, 21, tzinfo=MOSCOW)),
        ("11.02.2021", datetime(2021, 2, 11, tzinfo=MOSCOW)),
        (
            "2024-05-01T10:00:00.123+03:00",
            datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=timezone(timedelta(hours=3))),
        ),
        ("2024-05-01T07:00:00Z", datetime(2024, 5, 1, 7, tzinfo=UTC)),
        (" 2015-06-29T15:39:10 ", datetime(2015, 6, 29, 15, 39, 10, tzinfo=MOSCOW)),
        ("0001-01-01T00:00:00", None),
    ],
)
def test_dates_1c_and_sites_write(text: str, expected: datetime | None) -> None:
    assert to_datetime(text, MOSCOW) == expected


def test_a_zone_in_the_text_wins_over_the_default() -> None:
    parsed = to_datetime("2024-05-01T10:00:00+05:00", MOSCOW)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=5)


@pytest.mark.parametrize("text", ["вчера", "2024-13-01", "31.02.2021", "2024/05/01", ""])
def test_not_a_date(text: str) -> None:
    with pytest.raises(BadValue):
        to_datetime(text, MOSCOW)


def test_times_of_day() -> None:
    assert to_time("9:05") == time(9, 5)
    assert to_time("15:40:40.5") == time(15, 40, 40, 500000)
    with pytest.raises(BadValue):
        to_time("полдень")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1719", "1719"),
        ("1719.00", "1719.00"),
        ("-1", "-1"),
        ("0,15", "0.15"),
        ("1 719,50", "1719.50"),
        ("1\u00a0719.50", "1719.50"),
        ("1\u202f719", "1719"),
        ("1.234,5", "1234.5"),
        ("1,234.5", "1234.5"),
        (" 12 ", "12"),
    ],
)
def test_numbers_with_commas_and_spaces(text: str, expected: str) -> None:
    value = to_decimal(text)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "дорого", "1..2", ""])
def test_not_a_number(text: str) -> None:
    with pytest.raises(BadValue):
        to_decimal(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("Да", True), ("ложь", False)],
)
def test_yes_and_no(text: str, expected: bool) -> None:
    assert to_bool(text) is expected


def test_not_a_yes_or_no() -> None:
    with pytest.raises(BadValue):
        to_bool("возможно")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RUB", "RUB"),
        ("руб", "RUB"),
        ("руб.", "RUB"),
        ("Руб.", "RUB"),
        ("643", "RUB"),
        ("грн", "UAH"),
        ("usd", "USD"),
        ("BYR", "BYR"),
        ("тенге", "KZT"),
        ("у.е.", "у.е."),
        ("  ", None),
    ],
)
def test_currencies_normalised_where_known(text: str, expected: str | None) -> None:
    assert to_currency(text) == expected
