"""The shared vocabulary: frozen records every source produces and every sink consumes.

A CommerceML file, an OData page and the HTTP exchange all turn into these records; the import
pipeline only ever sees these. Conventions:

* ``onec_id`` is 1C's ``Ид``: an opaque string (<= 255 characters, trimmed), never parsed except
  that an offer ``Ид`` of the form ``<product>#<characteristic>`` names its product before the
  first ``#``.
* Money and quantities are ``Decimal``; datetimes are timezone-aware.
* ``None`` means "the document did not say" and must never be read as zero or empty: an absent
  ``Количество`` keeps the stored stock, an absent price list keeps the stored prices.
* Tuples, not lists, so that records are hashable and safely shared.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class DocumentKind(enum.StrEnum):
    """What a CommerceML document holds, decided from its content, never from its file name."""

    CATALOG = (
        "catalog"  # Классификатор and/or Каталог (import.xml, import___*.xml, classifier-only)
    )
    OFFERS = "offers"  # ПакетПредложений: offers, prices and/or stock (offers/prices/rests files)
    OFFER_CHANGES = "offer_changes"  # ИзмененияПакетаПредложений (2.07+ quick updates)
    ORDERS = "orders"  # Документ* / Контейнер: orders (either direction)
    CONTRACTORS = "contractors"  # Контрагенты
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentHeader:
    """What a document says about itself before its first record.

    ``only_changes`` is the value of ``СодержитТолькоИзменения`` when it is known from the opening
    tags; 1C 2.03 may state it as a trailing element, so the value after reading the whole
    document is on the reader (see ``exchange_formats.commerceml``), not here.
    """

    source: str  # file name as given to the reader, for messages
    kind: DocumentKind
    schema_version: str | None  # ВерсияСхемы, a hint only
    generated_at: datetime | None  # ДатаФормирования
    namespace: str | None  # e.g. "urn:1C.ru:commerceml_2"; None when the root has none
    encoding: str  # as declared (or implied) by the XML declaration, lower-case
    only_changes: bool | None = None


# --- classifier ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    onec_id: str
    name: str
    parent_onec_id: str | None = None
    description: str | None = None
    sort: int | None = None
    deleted: bool = False
    version: str | None = None  # НомерВерсии


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyOption:
    """One entry of a property's dictionary (ВариантыЗначений/Справочник)."""

    onec_id: str  # ИдЗначения (for 2.04-style plain Значение lists: the value itself)
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Property:
    onec_id: str
    name: str
    value_type: str | None = None  # ТипЗначений: Строка, Число, Время, Справочник, ... as sent
    multiple: bool = False
    for_products: bool | None = None
    for_offers: bool | None = None
    options: tuple[PropertyOption, ...] = ()
    deleted: bool = False
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceType:
    onec_id: str
    name: str
    currency: str | None = None  # normalised where recognised ("руб" -> "RUB"), else as sent
    tax_name: str | None = None
    tax_included: bool | None = None
    deleted: bool = False
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Warehouse:
    onec_id: str
    name: str
    address: str | None = None  # Адрес/Представление
    deleted: bool = False
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """An entry of ЕдиницыИзмерения (2.08+/3.1 classifiers)."""

    onec_id: str
    code: str | None = None  # ОКЕИ code, trimmed
    name: str | None = None  # НаименованиеКраткое
    full_name: str | None = None
    international: str | None = None  # МеждународноеСокращение
    deleted: bool = False  # ПометкаУдаления (Bitrix-format classifiers)
    version: str | None = None  # НомерВерсии


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitRef:
    """A product's or line's БазоваяЕдиница as written: text plus optional attributes.

    In 3.1 the text is the code of a Unit (``"796 "`` trimmed to ``"796"``); the pipeline resolves
    it through the units dictionary, which may arrive in another file.
    """

    text: str | None = None
    code: str | None = None
    full_name: str | None = None
    international: str | None = None


# --- catalog -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Requisite:
    """One ЗначениеРеквизита: free-text, possibly localised name and its value."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyValue:
    """Raw ЗначенияСвойства: the values exactly as sent (ИдЗначения or literal), in order.

    Resolving an ИдЗначения to its text needs the property dictionary, which may arrive in a
    later file, so readers never resolve.
    """

    property_onec_id: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxRate:
    name: str
    rate: str | None = None  # "20", "18", "Без НДС" - as sent


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    path: str  # relative path as sent, e.g. "import_files/ab/abcd.jpg"
    caption: str | None = None  # from the ОписаниеФайла requisite, when present


@dataclass(frozen=True, slots=True, kw_only=True)
class Characteristic:
    """ХарактеристикаТовара: a variant's attribute (Размер: 38)."""

    name: str
    value: str
    onec_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Manufacturer:
    name: str
    onec_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    onec_id: str
    name: str
    sku: str | None = None  # Артикул
    barcode: str | None = None  # Штрихкод
    code: str | None = None  # Код (non-XSD, seen in exports)
    unit: UnitRef | None = None
    group_onec_ids: tuple[str, ...] = ()
    description: str | None = None  # HTML or text as sent (unescaped once by the XML parser)
    images: tuple[Image, ...] = ()
    manufacturer: Manufacturer | None = None
    country: str | None = None
    brand: str | None = None  # ТорговаяМарка
    property_values: tuple[PropertyValue, ...] = ()
    taxes: tuple[TaxRate, ...] = ()
    requisites: tuple[Requisite, ...] = ()
    characteristics: tuple[Characteristic, ...] = ()  # only for 2.03-style variant Товар entries
    deleted: bool = False  # Статус="Удален" or ПометкаУдаления=true
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Price:
    price_type_onec_id: str
    value: Decimal | None  # ЦенаЗаЕдиницу; None: a price on request (see ``presentation``)
    currency: str | None = None
    unit: str | None = None  # Единица, as sent
    coefficient: Decimal | None = None
    presentation: str | None = None
    min_quantity: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StockLevel:
    """Quantity at one warehouse. Negative and fractional values are kept as sent."""

    warehouse_onec_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    """The descriptive part of a Предложение (a sellable product or variant).

    Readers emit it only when the Предложение carries more than its Ид and prices/stock (a
    ``prices___`` file yields no Offer, only OfferPrices).
    """

    onec_id: str  # full Ид: "<product>" or "<product>#<characteristic>"
    product_onec_id: str  # text before the first "#"
    name: str | None = None
    sku: str | None = None
    barcode: str | None = None
    unit: UnitRef | None = None
    characteristics: tuple[Characteristic, ...] = ()
    property_values: tuple[PropertyValue, ...] = ()
    deleted: bool = False
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferPrices:
    """All prices one Предложение states, one per price type; replaces those price types only."""

    offer_onec_id: str
    product_onec_id: str
    prices: tuple[Price, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferStock:
    """Stock one Предложение states.

    ``total`` is Количество (or the sum of a warehouse-less Остаток); ``None`` when only
    per-warehouse rows were sent. ``levels`` is empty when no warehouse was named.
    """

    offer_onec_id: str
    product_onec_id: str
    total: Decimal | None = None
    levels: tuple[StockLevel, ...] = ()


# --- parties and orders ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressField:
    type: str  # Тип: "Почтовый индекс", "Город", ...
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    presentation: str | None = None
    fields: tuple[AddressField, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    type: str  # Тип: "Почта", "Телефон рабочий", ... as sent
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Contractor:
    onec_id: str
    name: str
    full_name: str | None = None  # ПолноеНаименование / ОфициальноеНаименование
    role: str | None = None  # Роль: Покупатель, ...
    inn: str | None = None
    kpp: str | None = None
    okpo: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    address: Address | None = None  # АдресРегистрации / ЮридическийАдрес / Адрес
    contacts: tuple[Contact, ...] = ()
    deleted: bool = False
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Discount:
    name: str | None = None
    amount: Decimal | None = None
    percent: Decimal | None = None
    included: bool | None = None  # УчтеноВСумме


@dataclass(frozen=True, slots=True, kw_only=True)
class Tax:
    name: str
    amount: Decimal | None = None
    rate: str | None = None
    included: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLine:
    onec_id: str  # product or "product#characteristic" Ид; "ORDER_DELIVERY" for delivery
    name: str
    quantity: Decimal
    price: Decimal | None = None  # ЦенаЗаЕдиницу
    total: Decimal | None = None  # Сумма
    sku: str | None = None
    unit: UnitRef | None = None
    coefficient: Decimal | None = None
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[Tax, ...] = ()
    characteristics: tuple[Characteristic, ...] = ()
    requisites: tuple[Requisite, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """A Документ with ХозОперация «Заказ товара», in either direction.

    ``lines is None`` means the document carried no Товары (a status-only update from 1C):
    stored lines must be kept, not cleared.
    """

    onec_id: str  # Ид: the site's order id when the order came from the site
    number: str | None = None  # Номер (the site's number)
    date: datetime | None = None  # Дата + Время
    number_1c: str | None = None  # Номер1С or requisite "Номер по 1С"
    date_1c: datetime | None = None
    operation: str | None = None  # ХозОперация
    role: str | None = None  # Роль
    currency: str | None = None
    rate: Decimal | None = None  # Курс
    total: Decimal | None = None  # Сумма
    comment: str | None = None
    contractors: tuple[Contractor, ...] = ()
    lines: tuple[OrderLine, ...] | None = None
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[Tax, ...] = ()
    requisites: tuple[Requisite, ...] = ()
    deleted: bool | None = None  # ПометкаУдаления element or requisite; None when not stated
    version: str | None = None


CatalogRecord = (
    Group | Property | PriceType | Warehouse | Unit | Product | Offer | OfferPrices | OfferStock
)
Record = CatalogRecord | Contractor | Order


def product_onec_id_of(offer_onec_id: str) -> str:
    """The product part of an offer Ид: the text before the first ``#`` (1C's convention)."""
    return offer_onec_id.split("#", 1)[0]
