"""Catalog rows (``Catalog_*`` entity sets) -> Group, Product, Offer, PriceType, Warehouse.

Every reader takes the rows of one answer, the field map of its stream (role -> 1C property;
see the package docstring) and ``source`` (the entity set, for messages). Rows are dicts as
``wire.loads`` returns them. ``DeletionMark`` becomes ``deleted``. ``DataVersion`` is *not* the
record's ``version``: 1C changes it on every write, even one that changes nothing, so callers
track it beside the records (``version(row)``) and the records' content stays comparable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

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
) -> Iterator[Product]:
    """Items (not folders) of the products catalog. The parent folder is the product's group."""
    for row in rows:
        if is_folder(row, source=source):
            continue
        group = field(row, fields.get("group", ""), values.ref, source=source)
        unit = field(row, fields.get("unit", ""), values.text, source=source)
        yield Product(
            onec_id=onec_id(row, source=source),
            name=_name(row, fields, source=source),
            code=field(row, fields.get("code", ""), values.text, source=source),
            sku=field(row, fields.get("sku", ""), values.text, source=source),
            description=field(row, fields.get("description", ""), values.text, source=source),
            group_onec_ids=(group,) if group else (),
            unit=UnitRef(text=unit) if unit else None,
            deleted=deleted(row, source=source),
        )


def read_characteristics(
    rows: Iterable[Row], fields: FieldMap, *, products_entity: str, source: str | None
) -> Iterator[Offer]:
    """Characteristics owned by one product, as that product's offers (``<product>#<char>``).

    In УТ 11 a characteristic may instead belong to a product kind (shared by every product of
    the kind); such rows name no single product and yield nothing here: their offers appear
    through prices and stock, which name both the product and the characteristic.
    """
    for row in rows:
        owner = _owner(row, fields.get("owner", ""), products_entity, source=source)
        if owner is None:
            continue
        ref = onec_id(row, source=source)
        name = _name(row, fields, source=source)
        yield Offer(
            onec_id=f"{owner}#{ref}",
            product_onec_id=owner,
            name=name,
            characteristics=(Characteristic(name="Характеристика", value=name, onec_id=ref),),
            deleted=deleted(row, source=source),
        )


def read_price_types(
    rows: Iterable[Row], fields: FieldMap, *, source: str | None
) -> Iterator[PriceType]:
    for row in rows:
        if is_folder(row, source=source):
            continue
        yield PriceType(
            onec_id=onec_id(row, source=source),
            name=_name(row, fields, source=source),
            currency=field(row, fields.get("currency", ""), values.text, source=source),
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
