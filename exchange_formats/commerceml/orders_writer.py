"""The orders document 1C loads from ``mode=query``: one Документ per order, streamed.

``write_orders(orders, out, version=..., encoding=...)`` writes each order as it comes (lxml
``etree.xmlfile``), so any number of orders takes the memory of one. No orders gives the root
element only, which is what 1C expects when there is nothing new.

Elements follow the XSD sequence of the version (2.05-2.10 share the Документ structure; 3.1
wraps each Документ in a ``Контейнер`` as 1С-Битрикс does). The writer renders what the records
hold and invents nothing, with three documented defaults 1C needs: ХозОперация «Заказ товара»,
Роль «Продавец» for the document and «Покупатель» for a contractor, when the record leaves them
empty. ``number_1c``/``date_1c``/``deleted`` travel as the requisites 1C reads them from
(«Номер по 1С», «Дата по 1С», «ПометкаУдаления») unless the order's requisites already carry
them. Characters XML cannot carry (C0 controls) are dropped.

Dates: ``Дата``/``Время`` and ``ДатаФормирования`` are written in ``tz`` without an offset (1C
reads them as its local time). Amounts are written exactly as the Decimals hold them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import BinaryIO

from lxml import etree

from exchange_formats.commerceml.orders import (
    ORDER_OPERATION,
    REQUISITE_DATE_1C,
    REQUISITE_DELETED,
    REQUISITE_NUMBER_1C,
)
from exchange_formats.records import (
    Address,
    Contractor,
    Discount,
    Order,
    OrderLine,
    Requisite,
    Tax,
    UnitRef,
)

VERSIONS = ("2.05", "2.06", "2.07", "2.08", "2.09", "2.10", "3.1")
ENCODINGS = {"utf-8": "UTF-8", "windows-1251": "windows-1251"}
NS_2 = "urn:1C.ru:commerceml_2"
NS_3 = "urn:1C.ru:commerceml_3"
DEFAULT_NAMESPACE = object()  # "the namespace 1C itself writes for this version"
DELIVERY_ID = "ORDER_DELIVERY"

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def default_namespace(version: str) -> str | None:
    """None for 2.05/2.06 (what 1С-Битрикс writes, the reference 1C is tested against);
    ``urn:1C.ru:commerceml_2`` for 2.07-2.10 (what 1C itself writes); ``..._3`` for 3.1."""
    if version == "3.1":
        return NS_3
    return None if version in ("2.05", "2.06") else NS_2


def write_orders(
    orders: Iterable[Order],
    out: BinaryIO,
    *,
    version: str = "2.05",
    encoding: str = "utf-8",
    generated_at: datetime | None = None,
    tz: tzinfo = UTC,
    namespace: object = DEFAULT_NAMESPACE,
) -> int:
    """Write ``orders`` to the binary file ``out``; return how many were written.

    ``encoding`` is ``"utf-8"`` (written with a BOM, as 1C's own files are) or
    ``"windows-1251"`` (characters it lacks become character references). ``namespace``
    overrides ``default_namespace(version)`` (a string, or None for none).
    """
    if version not in VERSIONS:
        raise ValueError(f"unsupported CommerceML version {version!r}; choose from {VERSIONS}")
    declared = ENCODINGS.get(encoding.lower())
    if declared is None:
        raise ValueError(f"unsupported encoding {encoding!r}; choose utf-8 or windows-1251")
    ns = default_namespace(version) if namespace is DEFAULT_NAMESPACE else namespace
    if ns is not None and not isinstance(ns, str):
        raise TypeError("namespace must be a string or None")
    writer = _Writer(ns, tz)
    if declared == "UTF-8":
        out.write(b"\xef\xbb\xbf")
    out.write(f'<?xml version="1.0" encoding="{declared}"?>\n'.encode("ascii"))
    stamp = (generated_at or datetime.now(tz)).astimezone(tz)
    attrib = {"ВерсияСхемы": version, "ДатаФормирования": stamp.strftime("%Y-%m-%dT%H:%M:%S")}
    count = 0
    root = writer.tag("КоммерческаяИнформация")
    with (
        etree.xmlfile(out, encoding=declared, close=False) as xml,
        xml.element(root, attrib, nsmap=writer.nsmap),
    ):
        for order in orders:
            document = writer.document(order)
            if version == "3.1":
                container = writer.new("Контейнер")
                container.append(document)
                document = container
            xml.write("\n", document, pretty_print=True)
            count += 1
        xml.write("\n")
    out.write(b"\n")
    return count


def delivery_line(price: Decimal, name: str = "Доставка заказа") -> OrderLine:
    """The service line 1C expects for delivery (Ид ``ORDER_DELIVERY``, ТипНоменклатуры Услуга)."""
    return OrderLine(
        onec_id=DELIVERY_ID,
        name=name,
        quantity=Decimal(1),
        price=price,
        total=price,
        requisites=(
            Requisite(name="ВидНоменклатуры", value="Услуга"),
            Requisite(name="ТипНоменклатуры", value="Услуга"),
        ),
    )


def _clean(value: str) -> str:
    return _XML_ILLEGAL.sub("", value)


def _number(value: Decimal) -> str:
    return format(value, "f")


class _Writer:
    """Builds one order's element tree at a time."""

    def __init__(self, namespace: str | None, tz: tzinfo) -> None:
        self.prefix = f"{{{namespace}}}" if namespace else ""
        self.nsmap = {None: namespace} if namespace else None
        self.tz = tz

    def tag(self, name: str) -> str:
        return self.prefix + name

    def new(self, name: str) -> etree._Element:
        return etree.Element(self.tag(name), nsmap=self.nsmap)  # type: ignore[arg-type]

    def add(self, parent: etree._Element, name: str, value: object = None) -> etree._Element:
        element = etree.SubElement(parent, self.tag(name))
        if value is not None:
            element.text = _clean(_number(value) if isinstance(value, Decimal) else str(value))
        return element

    def maybe(self, parent: etree._Element, name: str, value: object) -> None:
        if value is not None:
            self.add(parent, name, value)

    def document(self, order: Order) -> etree._Element:
        doc = self.new("Документ")
        self.add(doc, "Ид", order.onec_id)
        self.maybe(doc, "Номер", order.number)
        local = order.date.astimezone(self.tz) if order.date else None
        self.maybe(doc, "Дата", local.date().isoformat() if local else None)
        self.add(doc, "ХозОперация", order.operation or ORDER_OPERATION)
        self.add(doc, "Роль", order.role or "Продавец")
        self.maybe(doc, "Валюта", order.currency)
        self.maybe(doc, "Курс", order.rate)
        self.maybe(doc, "Сумма", order.total)
        if order.contractors:
            parties = self.add(doc, "Контрагенты")
            for contractor in order.contractors:
                self.contractor(parties, contractor)
        self.maybe(doc, "Время", local.strftime("%H:%M:%S") if local else None)
        self.maybe(doc, "Комментарий", order.comment)
        self.taxes(doc, order.taxes)
        self.discounts(doc, order.discounts)
        if order.lines is not None:
            goods = self.add(doc, "Товары")
            for line in order.lines:
                self.line(goods, line)
        self.requisites(doc, _order_requisites(order, self.tz))
        return doc

    def contractor(self, parent: etree._Element, party: Contractor) -> None:
        element = self.add(parent, "Контрагент")
        self.add(element, "Ид", party.onec_id)
        self.add(element, "Наименование", party.name)
        names = (party.last_name, party.first_name, party.middle_name)
        legal = bool(party.kpp or party.okpo) and not any(names)
        if legal:  # РеквизитыЮрЛица
            self.add(element, "ОфициальноеНаименование", party.full_name or party.name)
            self.address(element, "ЮридическийАдрес", party.address)
            self.maybe(element, "ИНН", party.inn)
            self.maybe(element, "КПП", party.kpp)
            self.maybe(element, "ОКПО", party.okpo)
        else:  # РеквизитыФизЛица
            self.add(element, "ПолноеНаименование", party.full_name or party.name)
            for tag, value in zip(("Фамилия", "Имя", "Отчество"), names, strict=True):
                self.maybe(element, tag, value)
            self.maybe(element, "ИНН", party.inn)
            self.maybe(element, "КПП", party.kpp)
            self.address(element, "АдресРегистрации", party.address)
        if party.contacts:
            contacts = self.add(element, "Контакты")
            for contact in party.contacts:
                item = self.add(contacts, "Контакт")
                self.add(item, "Тип", contact.type)
                self.add(item, "Значение", contact.value)
        self.add(element, "Роль", party.role or "Покупатель")

    def address(self, parent: etree._Element, name: str, address: Address | None) -> None:
        if address is None:
            return
        element = self.add(parent, name)
        self.add(element, "Представление", address.presentation or "")
        for field in address.fields:
            item = self.add(element, "АдресноеПоле")
            self.add(item, "Тип", field.type)
            self.add(item, "Значение", field.value)

    def line(self, parent: etree._Element, line: OrderLine) -> None:
        element = self.add(parent, "Товар")
        self.add(element, "Ид", line.onec_id)
        self.maybe(element, "Артикул", line.sku)
        self.add(element, "Наименование", line.name)
        self.unit(element, line.unit)
        if line.characteristics:
            variant = self.add(element, "ХарактеристикиТовара")
            for characteristic in line.characteristics:
                item = self.add(variant, "ХарактеристикаТовара")
                self.maybe(item, "Ид", characteristic.onec_id)
                self.add(item, "Наименование", characteristic.name)
                self.add(item, "Значение", characteristic.value)
        self.requisites(element, line.requisites)
        self.maybe(element, "ЦенаЗаЕдиницу", line.price)
        self.add(element, "Количество", line.quantity)
        self.maybe(element, "Сумма", line.total)
        self.maybe(element, "Коэффициент", line.coefficient)
        self.taxes(element, line.taxes)
        self.discounts(element, line.discounts)

    def unit(self, parent: etree._Element, unit: UnitRef | None) -> None:
        """БазоваяЕдиница is required by the XSD; an unknown unit is written empty."""
        element = self.add(parent, "БазоваяЕдиница", unit.text if unit else None)
        if unit is not None:
            for attribute, value in (
                ("Код", unit.code),
                ("НаименованиеПолное", unit.full_name),
                ("МеждународноеСокращение", unit.international),
            ):
                if value is not None:
                    element.set(attribute, _clean(value))

    def taxes(self, parent: etree._Element, taxes: tuple[Tax, ...]) -> None:
        if not taxes:
            return
        container = self.add(parent, "Налоги")
        for tax in taxes:
            item = self.add(container, "Налог")
            self.add(item, "Наименование", tax.name)
            self.maybe(item, "УчтеноВСумме", _bool(tax.included))
            self.maybe(item, "Сумма", tax.amount)
            self.maybe(item, "Ставка", tax.rate)

    def discounts(self, parent: etree._Element, discounts: tuple[Discount, ...]) -> None:
        if not discounts:
            return
        container = self.add(parent, "Скидки")
        for discount in discounts:
            item = self.add(container, "Скидка")
            self.maybe(item, "Наименование", discount.name)
            self.maybe(item, "Сумма", discount.amount)
            self.maybe(item, "Процент", discount.percent)
            self.maybe(item, "УчтеноВСумме", _bool(discount.included))

    def requisites(self, parent: etree._Element, requisites: tuple[Requisite, ...]) -> None:
        if not requisites:
            return
        container = self.add(parent, "ЗначенияРеквизитов")
        for requisite in requisites:
            item = self.add(container, "ЗначениеРеквизита")
            self.add(item, "Наименование", requisite.name)
            self.add(item, "Значение", requisite.value)


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _order_requisites(order: Order, tz: tzinfo) -> tuple[Requisite, ...]:
    """The order's requisites plus those carrying number_1c/date_1c/deleted, if not present."""
    present = {requisite.name for requisite in order.requisites}
    extra = []
    if order.number_1c is not None and REQUISITE_NUMBER_1C not in present:
        extra.append(Requisite(name=REQUISITE_NUMBER_1C, value=order.number_1c))
    if order.date_1c is not None and REQUISITE_DATE_1C not in present:
        stamp = order.date_1c.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")
        extra.append(Requisite(name=REQUISITE_DATE_1C, value=stamp))
    if order.deleted is not None and REQUISITE_DELETED not in present:
        extra.append(Requisite(name=REQUISITE_DELETED, value="true" if order.deleted else "false"))
    return order.requisites + tuple(extra)
