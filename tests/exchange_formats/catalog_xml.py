"""Renders catalog records as CommerceML (import.xml / offers.xml) for round-trip tests.

Written independently of the readers, the way 1C lays the elements out; the knobs choose a
namespace, an encoding, a BOM, decimal commas and which of the stock shapes to use.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from exchange_formats.records import (
    Group,
    Offer,
    OfferPrices,
    OfferStock,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Requisite,
    Unit,
    UnitRef,
    Warehouse,
)


@dataclass(frozen=True)
class Style:
    namespace: str | None = None
    encoding: str = "utf-8"
    bom: bool = False
    comma: bool = False  # decimal comma in numbers
    rests: bool = False  # stock as Остатки/Остаток instead of Количество + Склад attributes
    status_attribute: bool = False  # deletion as Статус="Удален" instead of ПометкаУдаления


class _Builder:
    def __init__(self, style: Style) -> None:
        self.style = style
        self.prefix = f"{{{style.namespace}}}" if style.namespace else ""

    def root(self) -> etree._Element:
        nsmap = {None: self.style.namespace} if self.style.namespace else None
        return etree.Element(
            self.prefix + "КоммерческаяИнформация",
            {"ВерсияСхемы": "2.09", "ДатаФормирования": "2024-05-01T10:00:00"},
            nsmap=nsmap,  # type: ignore[arg-type]
        )

    def sub(self, parent: etree._Element, name: str, value: object = None) -> etree._Element:
        element = etree.SubElement(parent, self.prefix + name)
        if isinstance(value, Decimal):
            text = format(value, "f")
            element.text = text.replace(".", ",") if self.style.comma else text
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        elif value is not None:
            element.text = str(value)
        return element

    def maybe(self, parent: etree._Element, name: str, value: object) -> None:
        if value is not None:
            self.sub(parent, name, value)

    def finish(self, root: etree._Element) -> bytes:
        data: bytes = etree.tostring(
            root, encoding=self.style.encoding, xml_declaration=True, pretty_print=True
        )
        return (b"\xef\xbb\xbf" + data) if self.style.bom else data

    # --- pieces ---

    def group(
        self, parent: etree._Element, group: Group, children: list[Group], everything: list[Group]
    ) -> None:
        element = self.sub(parent, "Группа")
        self.sub(element, "Ид", group.onec_id)
        self.maybe(element, "НомерВерсии", group.version)
        self.sub(element, "ПометкаУдаления", group.deleted)
        self.sub(element, "Наименование", group.name)
        self.maybe(element, "Описание", group.description)
        self.maybe(element, "Сортировка", group.sort)
        if children:
            nested = self.sub(element, "Группы")
            for child in children:
                grandchildren = [g for g in everything if g.parent_onec_id == child.onec_id]
                self.group(nested, child, grandchildren, everything)

    def property_(self, parent: etree._Element, item: Property) -> None:
        element = self.sub(parent, "Свойство")
        self.sub(element, "Ид", item.onec_id)
        self.maybe(element, "НомерВерсии", item.version)
        self.sub(element, "ПометкаУдаления", item.deleted)
        self.sub(element, "Наименование", item.name)
        self.maybe(element, "ТипЗначений", item.value_type)
        self.sub(element, "Множественное", item.multiple)
        self.maybe(element, "ДляТоваров", item.for_products)
        self.maybe(element, "ДляПредложений", item.for_offers)
        if item.options:
            options = self.sub(element, "ВариантыЗначений")
            for option in item.options:
                entry = self.sub(options, "Справочник")
                self.sub(entry, "ИдЗначения", option.onec_id)
                self.sub(entry, "Значение", option.value)

    def price_type(self, parent: etree._Element, item: PriceType) -> None:
        element = self.sub(parent, "ТипЦены")
        self.sub(element, "Ид", item.onec_id)
        self.maybe(element, "НомерВерсии", item.version)
        self.sub(element, "ПометкаУдаления", item.deleted)
        self.sub(element, "Наименование", item.name)
        self.maybe(element, "Валюта", item.currency)
        if item.tax_name is not None:
            tax = self.sub(element, "Налог")
            self.sub(tax, "Наименование", item.tax_name)
            self.maybe(tax, "УчтеноВСумме", item.tax_included)

    def warehouse(self, parent: etree._Element, item: Warehouse) -> None:
        element = self.sub(parent, "Склад")
        self.sub(element, "Ид", item.onec_id)
        self.maybe(element, "НомерВерсии", item.version)
        self.sub(element, "ПометкаУдаления", item.deleted)
        self.sub(element, "Наименование", item.name)
        if item.address is not None:
            self.sub(self.sub(element, "Адрес"), "Представление", item.address)

    def unit(self, parent: etree._Element, item: Unit) -> None:
        element = self.sub(parent, "ЕдиницаИзмерения")
        self.sub(element, "Ид", item.onec_id)
        self.maybe(element, "НомерВерсии", item.version)
        self.sub(element, "ПометкаУдаления", item.deleted)
        self.maybe(element, "НаименованиеКраткое", item.name)
        self.maybe(element, "Код", item.code)
        self.maybe(element, "НаименованиеПолное", item.full_name)
        self.maybe(element, "МеждународноеСокращение", item.international)

    def unit_ref(self, parent: etree._Element, unit: UnitRef | None) -> None:
        if unit is None:
            return
        element = self.sub(parent, "БазоваяЕдиница", unit.text)
        for attribute, value in (
            ("Код", unit.code),
            ("НаименованиеПолное", unit.full_name),
            ("МеждународноеСокращение", unit.international),
        ):
            if value is not None:
                element.set(attribute, value)

    def properties(self, parent: etree._Element, values: tuple[PropertyValue, ...]) -> None:
        if not values:
            return
        container = self.sub(parent, "ЗначенияСвойств")
        for value in values:
            item = self.sub(container, "ЗначенияСвойства")
            self.sub(item, "Ид", value.property_onec_id)
            for raw in value.values or ("",):
                self.sub(item, "Значение", raw or None)

    def requisites(self, parent: etree._Element, values: tuple[Requisite, ...]) -> None:
        if not values:
            return
        container = self.sub(parent, "ЗначенияРеквизитов")
        for requisite in values:
            item = self.sub(container, "ЗначениеРеквизита")
            self.sub(item, "Наименование", requisite.name)
            self.sub(item, "Значение", requisite.value)

    def characteristics(self, parent: etree._Element, offer: Product | Offer) -> None:
        if not offer.characteristics:
            return
        container = self.sub(parent, "ХарактеристикиТовара")
        for characteristic in offer.characteristics:
            item = self.sub(container, "ХарактеристикаТовара")
            self.maybe(item, "Ид", characteristic.onec_id)
            self.sub(item, "Наименование", characteristic.name)
            self.sub(item, "Значение", characteristic.value)

    def deletion(self, element: etree._Element, deleted: bool) -> None:
        if self.style.status_attribute:
            if deleted:
                element.set("Статус", "Удален")
        else:
            self.sub(element, "ПометкаУдаления", deleted)

    def product(self, parent: etree._Element, item: Product) -> None:
        element = self.sub(parent, "Товар")
        self.sub(element, "Ид", item.onec_id)
        self.maybe(element, "НомерВерсии", item.version)
        self.deletion(element, item.deleted)
        self.maybe(element, "Штрихкод", item.barcode)
        self.maybe(element, "Артикул", item.sku)
        self.maybe(element, "Код", item.code)
        self.sub(element, "Наименование", item.name)
        self.unit_ref(element, item.unit)
        if item.group_onec_ids:
            groups = self.sub(element, "Группы")
            for onec_id in item.group_onec_ids:
                self.sub(groups, "Ид", onec_id)
        self.maybe(element, "Описание", item.description)
        for image in item.images:
            self.sub(element, "Картинка", image.path)
        self.maybe(element, "Страна", item.country)
        self.maybe(element, "ТорговаяМарка", item.brand)
        if item.manufacturer is not None:
            maker = self.sub(element, "Изготовитель")
            self.maybe(maker, "Ид", item.manufacturer.onec_id)
            self.sub(maker, "Наименование", item.manufacturer.name)
        self.properties(element, item.property_values)
        if item.taxes:
            taxes = self.sub(element, "СтавкиНалогов")
            for tax in item.taxes:
                rate = self.sub(taxes, "СтавкаНалога")
                self.sub(rate, "Наименование", tax.name)
                self.maybe(rate, "Ставка", tax.rate)
        self.characteristics(element, item)
        self.requisites(element, item.requisites)

    def offer(
        self,
        parent: etree._Element,
        offer: Offer,
        prices: OfferPrices | None,
        stock: OfferStock | None,
    ) -> None:
        element = self.sub(parent, "Предложение")
        self.sub(element, "Ид", offer.onec_id)
        self.maybe(element, "НомерВерсии", offer.version)
        self.sub(element, "ПометкаУдаления", offer.deleted)  # always: the offer is descriptive
        self.maybe(element, "Штрихкод", offer.barcode)
        self.maybe(element, "Артикул", offer.sku)
        self.maybe(element, "Наименование", offer.name)
        self.unit_ref(element, offer.unit)
        self.characteristics(element, offer)
        self.properties(element, offer.property_values)
        if prices is not None:
            container = self.sub(element, "Цены")
            for price in prices.prices:
                item = self.sub(container, "Цена")
                self.maybe(item, "Представление", price.presentation)
                self.sub(item, "ИдТипаЦены", price.price_type_onec_id)
                self.sub(item, "ЦенаЗаЕдиницу", price.value)
                self.maybe(item, "Валюта", price.currency)
                self.maybe(item, "Единица", price.unit)
                self.maybe(item, "Коэффициент", price.coefficient)
                self.maybe(item, "МинКоличество", price.min_quantity)
        if stock is not None:
            self.stock(element, stock)

    def stock(self, element: etree._Element, stock: OfferStock) -> None:
        if self.style.rests:
            rests = self.sub(element, "Остатки")
            if stock.total is not None:
                self.sub(self.sub(rests, "Остаток"), "Количество", stock.total)
            for level in stock.levels:
                warehouse = self.sub(self.sub(rests, "Остаток"), "Склад")
                self.sub(warehouse, "Ид", level.warehouse_onec_id)
                self.sub(warehouse, "Количество", level.quantity)
            return
        self.maybe(element, "Количество", stock.total)
        for level in stock.levels:
            row = self.sub(element, "Склад")
            row.set("ИдСклада", level.warehouse_onec_id)
            quantity = format(level.quantity, "f")
            row.set(
                "КоличествоНаСкладе", quantity.replace(".", ",") if self.style.comma else quantity
            )


def render_import(
    style: Style,
    *,
    groups: list[Group],
    properties: list[Property],
    price_types: list[PriceType],
    warehouses: list[Warehouse],
    units: list[Unit],
    products: list[Product],
) -> bytes:
    """Классификатор (groups nested by parent) + Каталог."""
    builder = _Builder(style)
    root = builder.root()
    classifier = builder.sub(root, "Классификатор")
    builder.sub(classifier, "Ид", "CLS")
    builder.sub(classifier, "Наименование", "Классификатор")
    top = [group for group in groups if group.parent_onec_id is None]
    if top:
        container = builder.sub(classifier, "Группы")
        for group in top:
            children = [g for g in groups if g.parent_onec_id == group.onec_id]
            builder.group(container, group, children, groups)
    sections = (
        ("Свойства", properties, builder.property_),
        ("ТипыЦен", price_types, builder.price_type),
        ("Склады", warehouses, builder.warehouse),
        ("ЕдиницыИзмерения", units, builder.unit),
    )
    for name, items, render in sections:
        if items:
            container = builder.sub(classifier, name)
            for item in items:
                render(container, item)  # type: ignore[operator]
    catalog = builder.sub(root, "Каталог")
    catalog.set("СодержитТолькоИзменения", "false")
    builder.sub(catalog, "Ид", "CAT")
    goods = builder.sub(catalog, "Товары")
    for product in products:
        builder.product(goods, product)
    return builder.finish(root)


def render_offers(
    style: Style,
    *,
    price_types: list[PriceType],
    warehouses: list[Warehouse],
    offers: list[tuple[Offer, OfferPrices | None, OfferStock | None]],
) -> bytes:
    builder = _Builder(style)
    root = builder.root()
    package = builder.sub(root, "ПакетПредложений")
    builder.sub(package, "Ид", "CAT#")
    if price_types:
        container = builder.sub(package, "ТипыЦен")
        for item in price_types:
            builder.price_type(container, item)
    if warehouses:
        container = builder.sub(package, "Склады")
        for warehouse in warehouses:
            builder.warehouse(container, warehouse)
    container = builder.sub(package, "Предложения")
    for offer, prices, stock in offers:
        builder.offer(container, offer, prices, stock)
    return builder.finish(root)
