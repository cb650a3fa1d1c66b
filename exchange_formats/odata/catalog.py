"""Catalog rows (``Catalog_*`` entity sets) -> Group, Product, Offer, PriceType, Warehouse.

The model is CommerceML's: a product sells through offers, ``<product>`` for a product without
characteristics and ``<product>#<characteristic>`` for each of its variants; prices and stock
belong to offers. So a product row yields its Product and its own Offer (deleted when the
product uses characteristics: then its variants are the offers).

Every reader takes the rows of one answer, the field map of its stream (role -> 1C property;
see the package docstring) and ``source`` (the entity set, for messages). Rows are dicts as
``wire.loads`` returns them. ``DeletionMark`` becomes ``deleted``. ``DataVersion`` is *not* the
record's ``version``: 1C changes it on every write, even one that changes nothing, so callers
track it beside the records (``version(row)``) and the records' content stays comparable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from exchange_formats.commerceml._values import to_currency  # one currency table for all
from exchange_formats.errors import FormatError
from exchange_formats.odata import values
from exchange_formats.odata.values import field
from exchange_formats.records import (
    Characteristic,
    Group,
    Offer,
    PriceType,
    Product,
    UnitRef,
    Warehouse,
)

Row = dict[str, Any]
FieldMap = Mapping[str, str]
# ИспользованиеХарактеристик values (УТ 11, ERP) that mean "no characteristics".
NO_CHARACTERISTICS = frozenset({"", "НеИспользовать"})


def onec_id(row: Row, *, source: str | None) -> str:
    """The row's ``Ref_Key``; a row without one is refused."""
    key = field(row, "Ref_Key", values.ref, source=source)
    if key is None:
        raise FormatError("row without Ref_Key", source=source, element="row")
    return str(key)


def version(row: Row) -> str | None:
    """The row's ``DataVersion``: opaque, compare for equality only."""
    return values.text(row.get("DataVersion"))


def deleted(row: Row, *, source: str | None) -> bool:
    return bool(field(row, "DeletionMark", values.boolean, source=source))


def is_folder(row: Row, *, source: str | None) -> bool:
    return bool(field(row, "IsFolder", values.boolean, source=source))


def read_groups(rows: Iterable[Row], fields: FieldMap, *, source: str | None) -> Iterator[Group]:
    """Folders of a hierarchical catalog (``IsFolder`` true) as product groups."""
    for row in rows:
        parent = field(row, fields.get("parent", ""), values.ref, source=source)
        yield Group(
            onec_id=onec_id(row, source=source),
            name=_name(row, fields, source=source),
            parent_onec_id=parent,
            deleted=deleted(row, source=source),
        )


def read_products(
    rows: Iterable[Row], fields: FieldMap, *, source: str | None
) -> Iterator[Product | Offer]:
    """Items (not folders) of the products catalog, each followed by its own offer.

    The parent folder is the product's group. The own offer (``onec_id`` of the product) is
    deleted when the ``characteristics_use`` property says the product has characteristics;
    without that property every product is sold as itself.
    """
    for row in rows:
        if is_folder(row, source=source):
            continue
        group = field(row, fields.get("group", ""), values.ref, source=source)
        unit = field(row, fields.get("unit", ""), values.text, source=source)
        product = Product(
            onec_id=onec_id(row, source=source),
            name=_name(row, fields, source=source),
            code=field(row, fields.get("code", ""), values.text, source=source),
            sku=field(row, fields.get("sku", ""), values.text, source=source),
            description=field(row, fields.get("description", ""), values.text, source=source),
            group_onec_ids=(group,) if group else (),
            unit=UnitRef(text=unit) if unit else None,
            deleted=deleted(row, source=source),
        )
        yield product
        yield Offer(
            onec_id=product.onec_id,
            product_onec_id=product.onec_id,
            name=product.name,
            sku=product.sku,
            unit=product.unit,
            deleted=product.deleted or _uses_characteristics(row, fields, source=source),
        )


def _uses_characteristics(row: Row, fields: FieldMap, *, source: str | None) -> bool:
    use = field(row, fields.get("characteristics_use", ""), values.text, source=source)
    return (use or "") not in NO_CHARACTERISTICS


def read_characteristics(
    rows: Iterable[Row], fields: FieldMap, *, products_entity: str, source: str | None
) -> Iterator[Offer]:
    """Characteristics owned by one product, as that product's offers (``<product>#<char>``).

    In УТ 11 a characteristic may instead belong to a product kind (shared by every product of
    the kind); such rows name no single product and yield nothing here: ``kind_offers`` makes
    their offers once the caller knows the products of the kind.
    """
    for row in rows:
        owner = _owner(row, fields.get("owner", ""), products_entity, source=source)
        if owner is None:
            continue
        yield _variant(row, owner, fields, source=source)


def kind_offers(
    rows: Iterable[Row],
    products_of: Mapping[str, Iterable[str]],
    fields: FieldMap,
    *,
    products_entity: str,
    source: str | None,
) -> Iterator[Offer]:
    """Offers ``<product>#<char>`` for characteristic rows and the products named with them.

    ``products_of`` maps a characteristic's ``Ref_Key`` to the products a price or stock row
    names with it. A characteristic owned by another product gives nothing (1C's data
    disagrees with itself; the product-owned offers come from ``read_characteristics``).
    """
    for row in rows:
        ref = onec_id(row, source=source)
        owner = _owner(row, fields.get("owner", ""), products_entity, source=source)
        for product in sorted(products_of.get(ref, ())):
            if owner is None or owner == product:
                yield _variant(row, product, fields, source=source)


def _variant(row: Row, product: str, fields: FieldMap, *, source: str | None) -> Offer:
    ref = onec_id(row, source=source)
    name = _name(row, fields, source=source)
    return Offer(
        onec_id=f"{product}#{ref}",
        product_onec_id=product,
        name=name,
        characteristics=(Characteristic(name="Характеристика", value=name, onec_id=ref),),
        deleted=deleted(row, source=source),
    )


def read_currencies(rows: Iterable[Row], *, source: str | None) -> dict[str, str]:
    """``Ref_Key -> ISO 4217 code`` of a currencies catalog (``Catalog_Валюты``).

    1C keeps the numeric ISO code in ``Code`` (``643``) and a short name in ``Description``
    (``руб.``, ``USD``); both are read with CommerceML's currency table. Unrecognised
    currencies keep their name.
    """
    found: dict[str, str] = {}
    for row in rows:
        code = values.text(row.get("Code")) or ""
        name = values.text(row.get("Description")) or ""
        iso = to_currency(code) if code.isdigit() else None
        if iso is None or iso == code:
            iso = to_currency(name) or iso
        if iso:
            found[onec_id(row, source=source)] = iso
    return found


def currency_of(value: Any, currencies: Mapping[str, str]) -> str | None:
    """A currency property: a reference through ``currencies``, text as CommerceML reads it."""
    shown = values.text(value)
    if shown is None or shown == values.ZERO_GUID:
        return None
    if values.is_guid(shown):
        return currencies.get(shown.lower())
    return to_currency(shown)


def read_price_types(
    rows: Iterable[Row],
    fields: FieldMap,
    *,
    source: str | None,
    currencies: Mapping[str, str] | None = None,
) -> Iterator[PriceType]:
    """Price types; ``currencies`` (``read_currencies``) resolves a currency reference."""
    for row in rows:
        if is_folder(row, source=source):
            continue
        currency_field = fields.get("currency", "")
        yield PriceType(
            onec_id=onec_id(row, source=source),
            name=_name(row, fields, source=source),
            currency=currency_of(row.get(currency_field), currencies or {})
            if currency_field
            else None,
            tax_included=field(row, fields.get("tax_included", ""), values.boolean, source=source),
            deleted=deleted(row, source=source),
        )


def read_warehouses(
    rows: Iterable[Row], fields: FieldMap, *, source: str | None
) -> Iterator[Warehouse]:
    """Warehouses; folders of a hierarchical warehouse catalog are skipped."""
    for row in rows:
        if is_folder(row, source=source):
            continue
        yield Warehouse(
            onec_id=onec_id(row, source=source),
            name=_name(row, fields, source=source),
            address=field(row, fields.get("address", ""), values.text, source=source),
            deleted=deleted(row, source=source),
        )


def _name(row: Row, fields: FieldMap, *, source: str | None) -> str:
    """The row's name; an unnamed 1C object (possible in 1C) gets its code, else ''."""
    name = field(row, fields.get("name", ""), values.text, source=source)
    return name or values.text(row.get("Code")) or ""


def _owner(row: Row, name: str, products_entity: str, *, source: str | None) -> str | None:
    """The owning product's Ref_Key, or None when the owner is not a product.

    A single-typed owner comes as ``<name>_Key``; a composite one as ``<name>`` plus
    ``<name>_Type`` (``"StandardODATA.Catalog_Номенклатура"``).
    """
    if not name:
        return None
    if f"{name}_Key" in row:
        return field(row, f"{name}_Key", values.ref, source=source)  # type: ignore[no-any-return]
    kind = str(row.get(f"{name}_Type") or "")
    if kind and kind.rsplit(".", 1)[-1] != products_entity:
        return None
    return field(row, name, values.ref, source=source)  # type: ignore[no-any-return]
