"""Контрагент: a counterparty, from a ``Контрагенты`` file (2.09) or inside an order."""

from __future__ import annotations

from exchange_formats._xml import LOCAL
from exchange_formats.commerceml._elements import Element, bool_of, child_texts, fail, text
from exchange_formats.records import Address, AddressField, Contact, Contractor

_TEXT_FIELDS = {
    "Ид": "onec_id",
    "Наименование": "name",
    "ПолноеНаименование": "full_name",
    "ОфициальноеНаименование": "full_name",
    "Роль": "role",
    "ИНН": "inn",
    "КПП": "kpp",
    "КодПоОКПО": "okpo",
    "ОКПО": "okpo",
    "Фамилия": "last_name",
    "Имя": "first_name",
    "Отчество": "middle_name",
    "НомерВерсии": "version",
}
# Where a contractor's address may be, most specific first.
_ADDRESS_PRIORITY = {"АдресРегистрации": 0, "ЮридическийАдрес": 1, "Адрес": 2}


def contractor(element: Element) -> Contractor:
    values: dict[str, str | None] = {}
    address: Address | None = None
    address_rank = len(_ADDRESS_PRIORITY)
    contacts: tuple[Contact, ...] = ()
    deleted = False
    for child in element:
        tag = LOCAL[child.tag]
        field = _TEXT_FIELDS.get(tag)
        if field is not None:
            if values.get(field) is None:
                values[field] = text(child)
        elif tag in _ADDRESS_PRIORITY and _ADDRESS_PRIORITY[tag] < address_rank:
            found = address_of(child)
            if found is not None:
                address, address_rank = found, _ADDRESS_PRIORITY[tag]
        elif tag == "Контакты":
            contacts = _contacts(child)
        elif tag == "ПометкаУдаления":
            deleted = bool_of(child) or deleted
    onec_id = values.get("onec_id")
    if onec_id is None:
        raise fail(element, "a contractor has no Ид")
    get = values.get
    return Contractor(
        onec_id=onec_id,
        name=get("name") or "",
        full_name=get("full_name"),
        role=get("role"),
        inn=get("inn"),
        kpp=get("kpp"),
        okpo=get("okpo"),
        first_name=get("first_name"),
        last_name=get("last_name"),
        middle_name=get("middle_name"),
        address=address,
        contacts=contacts,
        deleted=deleted,
        version=get("version"),
    )


def address_of(element: Element) -> Address | None:
    """Адрес-typed element: Представление + АдресноеПоле{Тип, Значение}*; None when empty."""
    presentation: str | None = None
    fields: list[AddressField] = []
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Представление":
            presentation = text(child)
        elif tag == "АдресноеПоле":
            parts = child_texts(child, "Тип", "Значение")
            if parts["Тип"] is not None:
                fields.append(AddressField(type=parts["Тип"], value=parts["Значение"] or ""))
    if presentation is None and not fields:
        return None
    return Address(presentation=presentation, fields=tuple(fields))


def _contacts(container: Element) -> tuple[Contact, ...]:
    found = []
    for item in container:
        parts = child_texts(item, "Тип", "КонтактВид", "Значение")
        kind = parts["Тип"] or parts["КонтактВид"]
        if kind is not None and parts["Значение"] is not None:
            found.append(Contact(type=kind, value=parts["Значение"]))
    return tuple(found)
