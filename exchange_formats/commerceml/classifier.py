"""Классификатор entries: groups, properties, price types, warehouses, units.

Each function turns one element into one record (groups: a whole top-level subtree, parents
first). Price types and warehouses may sit in ``Классификатор`` (2.09+/3.1) or in
``ПакетПредложений`` (up to 2.07); the element is the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from exchange_formats._xml import LOCAL
from exchange_formats.commerceml._elements import (
    Element,
    bool_from,
    bool_of,
    child_texts,
    fail,
    required_id,
    text,
)
from exchange_formats.commerceml._values import to_currency
from exchange_formats.records import Group, PriceType, Property, PropertyOption, Unit, Warehouse


def groups(element: Element, parent_onec_id: str | None = None) -> Iterator[Group]:
    """A Группа and every group nested in it (Группы/Группа, any depth), parents first."""
    onec_id = name = description = version = None
    sort: int | None = None
    deleted = False
    nested: list[Element] = []
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            onec_id = text(child)
        elif tag == "Наименование":
            name = text(child)
        elif tag == "Описание":
            description = text(child)
        elif tag == "НомерВерсии":
            version = text(child)
        elif tag == "ПометкаУдаления":
            deleted = bool_of(child) or deleted
        elif tag == "Сортировка":
            sort = _int(child)
        elif tag == "Группы":
            nested.extend(child)
    onec_id = required_id(element, onec_id, "a group")
    if name is None and not deleted:
        raise fail(element, f"group {onec_id!r} has no Наименование")
    yield Group(
        onec_id=onec_id,
        name=name or "",
        parent_onec_id=parent_onec_id,
        description=description,
        sort=sort,
        deleted=deleted,
        version=version,
    )
    for child_group in nested:
        yield from groups(child_group, onec_id)


def _int(element: Element) -> int | None:
    raw = text(element)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise fail(element, f"not a whole number: {raw!r}") from None


def property_(element: Element) -> Property:
    """A Свойство with its dictionary (ВариантыЗначений: Справочник entries or bare Значение)."""
    fields: dict[str, str | None] = {"Ид": None, "Наименование": None, "ТипЗначений": None}
    flags: dict[str, bool | None] = {}
    options: tuple[PropertyOption, ...] = ()
    version = None
    for child in element:
        tag = LOCAL[child.tag]
        if tag in fields:
            fields[tag] = text(child)
        elif tag in ("Множественное", "ДляТоваров", "ДляПредложений", "ПометкаУдаления"):
            flags[tag] = bool_of(child)
        elif tag == "ВариантыЗначений":
            options = _options(child)
        elif tag == "НомерВерсии":
            version = text(child)
    onec_id = required_id(element, fields["Ид"], "a property")
    deleted = bool(flags.get("ПометкаУдаления"))
    if fields["Наименование"] is None and not deleted:
        raise fail(element, f"property {onec_id!r} has no Наименование")
    return Property(
        onec_id=onec_id,
        name=fields["Наименование"] or "",
        value_type=fields["ТипЗначений"],
        multiple=bool(flags.get("Множественное")),
        for_products=flags.get("ДляТоваров"),
        for_offers=flags.get("ДляПредложений"),
        options=options,
        deleted=deleted,
        version=version,
    )


def _options(container: Element) -> tuple[PropertyOption, ...]:
    found: list[PropertyOption] = []
    for entry in container:
        tag = LOCAL[entry.tag]
        if tag == "Значение":  # 2.04: a bare list of values, each its own id
            value = text(entry)
            if value is not None:
                found.append(PropertyOption(onec_id=value, value=value))
        elif tag:  # Справочник{ИдЗначения?, Значение}
            parts = child_texts(entry, "ИдЗначения", "Значение")
            value = parts["Значение"] or ""
            onec_id = parts["ИдЗначения"] or value
            if onec_id:
                found.append(PropertyOption(onec_id=onec_id, value=value))
    return tuple(found)


def price_type(element: Element) -> PriceType:
    onec_id = name = currency = tax_name = version = None
    tax_included: bool | None = None
    deleted = False
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            onec_id = text(child)
        elif tag == "Наименование":
            name = text(child)
        elif tag == "Валюта":
            currency = to_currency(child.text or "")
        elif tag == "Налог":
            parts = child_texts(child, "Наименование", "УчтеноВСумме")
            tax_name = parts["Наименование"]
            tax_included = bool_from(child, parts["УчтеноВСумме"])
        elif tag == "ПометкаУдаления":
            deleted = bool_of(child) or deleted
        elif tag == "НомерВерсии":
            version = text(child)
    return PriceType(
        onec_id=required_id(element, onec_id, "a price type"),
        name=name or "",
        currency=currency,
        tax_name=tax_name,
        tax_included=tax_included,
        deleted=deleted,
        version=version,
    )


def warehouse(element: Element) -> Warehouse:
    onec_id = name = address = version = None
    deleted = False
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            onec_id = text(child)
        elif tag == "Наименование":
            name = text(child)
        elif tag == "Адрес":
            address = child_texts(child, "Представление")["Представление"]
        elif tag == "ПометкаУдаления":
            deleted = bool_of(child) or deleted
        elif tag == "НомерВерсии":
            version = text(child)
    return Warehouse(
        onec_id=required_id(element, onec_id, "a warehouse"),
        name=name or "",
        address=address,
        deleted=deleted,
        version=version,
    )


def unit(element: Element) -> Unit:
    """ЕдиницаИзмерения of ЕдиницыИзмерения (2.08+/3.1); ``Ид`` and ``Код`` trimmed ("796 ")."""
    parts = child_texts(
        element,
        "Ид",
        "Код",
        "НаименованиеКраткое",
        "НаименованиеПолное",
        "МеждународноеСокращение",
        "НомерВерсии",
    )
    deleted = False
    for child in element:
        if LOCAL[child.tag] == "ПометкаУдаления":
            deleted = bool_of(child) or deleted
    onec_id = parts["Ид"] or parts["Код"]
    return Unit(
        onec_id=required_id(element, onec_id, "a unit"),
        code=parts["Код"],
        name=parts["НаименованиеКраткое"],
        full_name=parts["НаименованиеПолное"],
        international=parts["МеждународноеСокращение"],
        deleted=deleted,
        version=parts["НомерВерсии"],
    )
