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
    Group,
    Image,
    Manufacturer,
    Offer,
    OfferPrices,
    OfferStock,
    Order,
    OrderLine,
    Price,
    PriceType,
    Product,
    Property,
    PropertyOption,
    PropertyValue,
    Requisite,
    StockLevel,
    Tax,
    TaxRate,
    Unit,
    UnitRef,
    Warehouse,
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


def line_units() -> st.SearchStrategy[UnitRef | None]:
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
        unit=draw(line_units()),
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


# --- catalog records --------------------------------------------------------------------------


def ids(max_size: int = 40) -> st.SearchStrategy[str]:
    return text(max_size).filter(lambda value: "#" not in value)


def versions() -> st.SearchStrategy[str | None]:
    return st.none() | st.sampled_from(["AAAAAQAAAAA=", "AAAGwQAAAAA=40517"])


def flags() -> st.SearchStrategy[bool | None]:
    return st.none() | st.booleans()


@st.composite
def group_forest(draw: st.DrawFn) -> list[Group]:
    """Groups nested up to three levels, in the order a reader gives them (parents first)."""
    found: list[Group] = []

    def grow(parent: str | None, depth: int) -> None:
        for _ in range(draw(st.integers(0, 3 if depth < 2 else 0))):
            group = Group(
                onec_id=f"{draw(ids(30))}-{len(found)}",  # unique: the renderer nests by Ид
                name=draw(text()),
                parent_onec_id=parent,
                description=draw(optional(text(200))),  # type: ignore[arg-type]
                sort=draw(st.none() | st.integers(-5, 500)),
                deleted=draw(st.booleans()),
                version=draw(versions()),
            )
            found.append(group)
            grow(group.onec_id, depth + 1)

    grow(None, 0)
    return found


def properties() -> st.SearchStrategy[Property]:
    option = st.builds(PropertyOption, onec_id=text(40), value=st.just("") | text())
    return st.builds(
        Property,
        onec_id=ids(),
        name=text(),
        value_type=st.none() | st.sampled_from(["Строка", "Число", "Справочник", "Время"]),
        multiple=st.booleans(),
        for_products=flags(),
        for_offers=flags(),
        options=st.lists(option, max_size=4).map(tuple),
        deleted=st.booleans(),
        version=versions(),
    )


CURRENCIES = st.sampled_from(["RUB", "USD", "EUR", "UAH", "BYR"])


@st.composite
def price_types(draw: st.DrawFn) -> PriceType:
    tax = draw(st.none() | st.sampled_from(["НДС", "Без налога"]))
    return PriceType(
        onec_id=draw(ids()),
        name=draw(text()),
        currency=draw(st.none() | CURRENCIES),
        tax_name=tax,
        tax_included=draw(flags()) if tax else None,
        deleted=draw(st.booleans()),
        version=draw(versions()),
    )


def warehouses() -> st.SearchStrategy[Warehouse]:
    return st.builds(
        Warehouse,
        onec_id=ids(),
        name=text(),
        address=optional(text(120)),
        deleted=st.booleans(),
        version=versions(),
    )


def units() -> st.SearchStrategy[Unit]:
    return st.builds(
        Unit,
        onec_id=ids(8),
        code=optional(st.sampled_from(["796", "778", "166"])),
        name=optional(st.sampled_from(["шт", "упак", "кг"])),
        full_name=optional(text()),
        international=optional(st.sampled_from(["PCE", "NMP"])),
        deleted=st.booleans(),
        version=versions(),
    )


def unit_refs() -> st.SearchStrategy[UnitRef | None]:
    unit = st.builds(
        UnitRef,
        text=optional(st.sampled_from(["шт", "796", "пара"])),
        code=optional(st.sampled_from(["796", "715"])),
        full_name=optional(text()),
        international=optional(st.sampled_from(["PCE", "PR"])),
    )
    return st.none() | unit.filter(lambda ref: ref != UnitRef())


def property_values() -> st.SearchStrategy[tuple[PropertyValue, ...]]:
    value = st.builds(
        PropertyValue,
        property_onec_id=text(40),
        values=st.lists(text(), max_size=3).map(tuple),
    )
    return st.lists(value, max_size=4).map(tuple)


def characteristics() -> st.SearchStrategy[tuple[Characteristic, ...]]:
    item = st.builds(
        Characteristic, name=text(40), value=st.just("") | text(40), onec_id=optional(text(36))
    )
    return st.lists(item, max_size=3).map(tuple)


def catalog_requisites() -> st.SearchStrategy[tuple[Requisite, ...]]:
    names = text(60).filter(lambda name: name != "ОписаниеФайла")
    item = st.builds(Requisite, name=names, value=st.just("") | text(120))
    return st.lists(item, max_size=4).map(tuple)


@st.composite
def products(draw: st.DrawFn) -> Product:
    pictures = draw(
        st.lists(
            st.tuples(ids(80).map(lambda p: f"import_files/{p}.jpg"), optional(text(40))),
            max_size=3,
            unique_by=lambda picture: picture[0],
        )
    )
    captions = tuple(
        Requisite(name="ОписаниеФайла", value=f"{path}#{caption}")
        for path, caption in pictures
        if caption is not None
    )
    return Product(
        onec_id=draw(ids()),
        name=draw(text()),
        sku=draw(optional(text(40))),  # type: ignore[arg-type]
        barcode=draw(optional(st.text("0123456789", min_size=8, max_size=13))),  # type: ignore[arg-type]
        code=draw(optional(text(20))),  # type: ignore[arg-type]
        unit=draw(unit_refs()),
        group_onec_ids=tuple(draw(st.lists(ids(), max_size=2))),
        description=draw(optional(text(500))),  # type: ignore[arg-type]
        images=tuple(Image(path=path, caption=caption) for path, caption in pictures),  # type: ignore[arg-type]
        manufacturer=draw(
            st.none() | st.builds(Manufacturer, name=text(), onec_id=optional(ids()))
        ),
        country=draw(optional(text(40))),  # type: ignore[arg-type]
        brand=draw(optional(text(40))),  # type: ignore[arg-type]
        property_values=draw(property_values()),
        taxes=tuple(
            draw(st.lists(st.builds(TaxRate, name=text(20), rate=optional(text(10))), max_size=2))
        ),
        requisites=draw(catalog_requisites()) + captions,
        characteristics=draw(characteristics()),
        deleted=draw(st.booleans()),
        version=draw(versions()),
    )


def amounts() -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(-1000), max_value=Decimal(10**7), places=3, allow_nan=False
    )


@st.composite
def offers(draw: st.DrawFn) -> tuple[Offer, OfferPrices | None, OfferStock | None]:
    """One Предложение's records: its description, maybe prices, maybe stock."""
    product = draw(ids(36))
    variant = draw(optional(ids(36)))
    onec_id = f"{product}#{variant}" if variant else product
    offer = Offer(
        onec_id=onec_id,
        product_onec_id=product,
        name=draw(optional(text())),  # type: ignore[arg-type]
        sku=draw(optional(text(40))),  # type: ignore[arg-type]
        barcode=draw(optional(st.text("0123456789", min_size=8, max_size=13))),  # type: ignore[arg-type]
        unit=draw(unit_refs()),
        characteristics=draw(characteristics()),
        property_values=draw(property_values()),
        deleted=draw(st.booleans()),
        version=draw(versions()),
    )
    price = st.builds(
        Price,
        price_type_onec_id=ids(),
        value=amounts(),
        currency=st.none() | CURRENCIES,
        unit=optional(st.sampled_from(["шт", "упак"])),
        coefficient=st.none() | amounts(),
        presentation=optional(text(60)),
        min_quantity=st.none() | amounts(),
    )
    prices = draw(
        st.none()
        | st.lists(price, max_size=3).map(
            lambda found: OfferPrices(
                offer_onec_id=onec_id, product_onec_id=product, prices=tuple(found)
            )
        )
    )
    level = st.builds(StockLevel, warehouse_onec_id=ids(), quantity=amounts())
    stock = draw(
        st.none()
        | st.tuples(st.none() | amounts(), st.lists(level, max_size=3))
        .filter(lambda pair: pair[0] is not None or pair[1])
        .map(
            lambda pair: OfferStock(
                offer_onec_id=onec_id,
                product_onec_id=product,
                total=pair[0],
                levels=tuple(pair[1]),
            )
        )
    )
    return offer, prices, stock
