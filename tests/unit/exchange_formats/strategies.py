"""Hypothesis strategies for records as the shop and 1C produce them.

Strings are what a reader gives back: stripped, non-empty (empty means absent), no characters
XML cannot carry. Order strategies stay inside the CommerceML XSD's limits (lengths,
enumerations, required elements) so the writer's output can be validated against it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from exchange_formats.records import (
    Address,
    AddressField,
    Characteristic,
    Contact,
    Contractor,
    Discount,
    Order,
    OrderLine,
    Requisite,
    Tax,
    UnitRef,
)

MOSCOW = ZoneInfo("Europe/Moscow")  # no DST since 2014: local times round-trip exactly

_ALPHABET = (
    "abcXYZ0123456789 -_.,:;#/()«»&<>\"'%"
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ№"
    "ÄßœΩ€中文"  # outside windows-1251: must survive as character references
)


def text(max_size: int = 60) -> st.SearchStrategy[str]:
    return st.text(alphabet=_ALPHABET, min_size=1, max_size=max_size).map(str.strip).filter(bool)


def optional(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


def money(places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal("-1000000"),
        max_value=Decimal("1000000000"),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def quantities() -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal("0.001"), max_value=Decimal(100000), places=3, allow_nan=False
    )


def moments() -> st.SearchStrategy[datetime]:
    return st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 31)).map(
        lambda moment: moment.replace(microsecond=0, tzinfo=MOSCOW)
    )


def digits(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


ADDRESS_TYPES = ["Почтовый индекс", "Страна", "Регион", "Город", "Улица", "Дом", "Квартира"]
CONTACT_TYPES = ["Почта", "Телефон рабочий", "Телефон мобильный", "ВебСайт", "Прочее"]
REQUISITE_NAMES = [
    "Метод оплаты",
    "Заказ оплачен",
    "Доставка разрешена",
    "Отменен",
    "Финальный статус",
    "Статус заказа",
    "Дата изменения статуса",
    "ВидНоменклатуры",
    "ТипНоменклатуры",
]


@st.composite
def addresses(draw: st.DrawFn) -> Address:
    fields = draw(
        st.lists(
            st.builds(AddressField, type=st.sampled_from(ADDRESS_TYPES), value=text()),
            max_size=4,
        )
    )
    presentation = draw(text(120)) if not fields or draw(st.booleans()) else None
    return Address(presentation=presentation, fields=tuple(fields))


@st.composite
def contractors(draw: st.DrawFn) -> Contractor:
    person = draw(st.booleans())
    names = (draw(optional(text(40))), draw(optional(text(40))), draw(optional(text(40))))
    if not person:
        names = (None, None, None)
    name = draw(text())
    return Contractor(
        onec_id=draw(text(40)),
        name=name,
        full_name=draw(text()),
        role="Покупатель",
        inn=draw(optional(digits(12) if person else digits(10))),  # type: ignore[arg-type]
        kpp=draw(optional(digits(9))),  # type: ignore[arg-type]
        okpo=None if person else draw(optional(digits(8))),  # type: ignore[arg-type]
        last_name=names[0],  # type: ignore[arg-type]
        first_name=names[1],  # type: ignore[arg-type]
        middle_name=names[2],  # type: ignore[arg-type]
        address=draw(optional(addresses())),  # type: ignore[arg-type]
        contacts=tuple(
            draw(
                st.lists(
                    st.builds(Contact, type=st.sampled_from(CONTACT_TYPES), value=text()),
                    max_size=3,
                )
            )
        ),
    )


def requisites() -> st.SearchStrategy[tuple[Requisite, ...]]:
    names = st.sampled_from(REQUISITE_NAMES) | text(40).map(lambda name: f"Сайт: {name}")
    value = st.just("") | text(100)
    return st.lists(st.builds(Requisite, name=names, value=value), max_size=4).map(tuple)


def units() -> st.SearchStrategy[UnitRef | None]:
    return st.none() | st.builds(
        UnitRef,
        text=st.sampled_from(["шт", "упак", "кг", "м"]),
        code=optional(st.sampled_from(["796", "778", "166", "006"])),  # type: ignore[arg-type]
        full_name=optional(st.sampled_from(["Штука", "Упаковка", "Килограмм"])),  # type: ignore[arg-type]
        international=optional(st.sampled_from(["PCE", "NMP", "KGM"])),  # type: ignore[arg-type]
    )


def discounts() -> st.SearchStrategy[tuple[Discount, ...]]:
    discount = st.builds(
        Discount,
        name=text(),
        amount=money(),
        percent=optional(money()),
        included=optional(st.booleans()),
    )
    return st.lists(discount, max_size=2).map(tuple)


def taxes() -> st.SearchStrategy[tuple[Tax, ...]]:
    tax = st.builds(
        Tax,
        name=st.sampled_from(["НДС", "Акциз"]),
        amount=money(),
        rate=optional(st.sampled_from(["20", "10", "0", "Без НДС"])),
        included=optional(st.booleans()),
    )
    return st.lists(tax, max_size=2).map(tuple)


@st.composite
def lines(draw: st.DrawFn) -> OrderLine:
    product = draw(text(36))
    variant = draw(optional(text(36)))
    return OrderLine(
        onec_id=f"{product}#{variant}" if variant else product,
        name=draw(text()),
        quantity=draw(quantities()),
        price=draw(optional(money())),  # type: ignore[arg-type]
        total=draw(optional(money())),  # type: ignore[arg-type]
        sku=draw(optional(text(40))),  # type: ignore[arg-type]
        unit=draw(units()),
        coefficient=draw(optional(st.sampled_from([Decimal(1), Decimal("0.5"), Decimal(12)]))),  # type: ignore[arg-type]
        discounts=draw(discounts()),
        taxes=draw(taxes()),
        characteristics=tuple(
            draw(
                st.lists(
                    st.builds(
                        Characteristic,
                        name=text(40),
                        value=text(40),
                        onec_id=optional(text(36)),
                    ),
                    max_size=2,
                )
            )
        ),
        requisites=draw(requisites()),
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """A site order as it goes to 1C (status fields 1C owns may be set too)."""
    line_list = draw(st.none() | st.lists(lines(), min_size=1, max_size=4).map(tuple))
    return Order(
        onec_id=draw(text(40)),
        number=draw(text(40)),
        date=draw(moments()),
        number_1c=draw(optional(text(40))),  # type: ignore[arg-type]
        date_1c=draw(optional(moments())),  # type: ignore[arg-type]
        operation="Заказ товара",
        role="Продавец",
        currency=draw(st.sampled_from(["RUB", "USD", "EUR", "UAH", "KZT", "BYN"])),
        rate=draw(st.sampled_from([Decimal(1), Decimal("1.0000"), Decimal("92.5012")])),
        total=draw(money()),
        comment=draw(optional(text(300))),  # type: ignore[arg-type]
        contractors=tuple(draw(st.lists(contractors(), min_size=1, max_size=2))),
        lines=line_list,
        discounts=draw(discounts()),
        taxes=draw(taxes()),
        requisites=draw(requisites()),
        deleted=draw(optional(st.booleans())),  # type: ignore[arg-type]
    )
