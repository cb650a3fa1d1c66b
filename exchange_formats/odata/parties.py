"""Counterparty rows (``Catalog_Контрагенты``, ``Catalog_Партнеры``) -> Contractor."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from exchange_formats.odata import values
from exchange_formats.odata.catalog import deleted, is_folder, onec_id
from exchange_formats.odata.values import field
from exchange_formats.records import Address, Contact, Contractor

Row = dict[str, Any]
FieldMap = Mapping[str, str]

# 1C's ТипыКонтактнойИнформации -> the contact types CommerceML uses, so that every source
# fills the same customer columns.
_CONTACT_TYPES = {
    "АдресЭлектроннойПочты": "Почта",
    "Телефон": "Телефон рабочий",
    "Факс": "Факс",
    "ВебСтраница": "Сайт",
}
_ADDRESS_TYPE = "Адрес"


def read_contractors(
    rows: Iterable[Row], fields: FieldMap, *, source: str | None
) -> Iterator[Contractor]:
    """Counterparties; folders are skipped. Contacts come from the contact-information table."""
    for row in rows:
        if is_folder(row, source=source):
            continue
        contacts, address = _contacts(row.get(fields.get("contacts", "")) or [])
        yield Contractor(
            onec_id=onec_id(row, source=source),
            name=field(row, fields.get("name", ""), values.text, source=source) or "",
            full_name=field(row, fields.get("full_name", ""), values.text, source=source),
            inn=field(row, fields.get("inn", ""), values.text, source=source),
            kpp=field(row, fields.get("kpp", ""), values.text, source=source),
            contacts=contacts,
            address=address,
            deleted=deleted(row, source=source),
        )


def _contacts(table: Any) -> tuple[tuple[Contact, ...], Address | None]:
    contacts: list[Contact] = []
    address: Address | None = None
    for line in table if isinstance(table, list) else []:
        if not isinstance(line, dict):
            continue
        kind = values.text(line.get("Тип")) or ""
        shown = values.text(line.get("Представление"))
        if not shown:
            continue
        if kind == _ADDRESS_TYPE:
            address = address or Address(presentation=shown)
        else:
            contacts.append(Contact(type=_CONTACT_TYPES.get(kind, kind), value=shown))
    return tuple(contacts), address
