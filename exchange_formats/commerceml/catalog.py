"""Каталог/Товары/Товар: products (import.xml, import___*.xml).

One pass over the Товар's children builds the record: this function runs once per product of
catalogs with millions of them, so it avoids helpers on the common path.
"""

from __future__ import annotations

from lxml import etree

from exchange_formats._xml import LOCAL
from exchange_formats.commerceml._elements import (
    Element,
    bool_of,
    characteristics,
    child_texts,
    fail,
    is_deleted_status,
    property_values,
    requisites,
    text,
    unit_ref,
)
from exchange_formats.records import (
    Characteristic,
    Image,
    Manufacturer,
    Offer,
    Product,
    PropertyValue,
    Requisite,
    TaxRate,
    UnitRef,
    product_onec_id_of,
)


def product(element: Element) -> Product | Offer:
    """A Товар; a 2.03-style variant entry (Ид ``product#variant``) gives an ``Offer`` instead."""
    onec_id = name = sku = barcode = code = description = country = brand = version = None
    unit: UnitRef | None = None
    group_ids: list[str] = []
    pictures: list[str] = []
    manufacturer: Manufacturer | None = None
    properties: tuple[PropertyValue, ...] = ()
    taxes: tuple[TaxRate, ...] = ()
    requisite_list: tuple[Requisite, ...] = ()
    variant: tuple[Characteristic, ...] = ()
    deleted = is_deleted_status(element)
    for child in element:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            onec_id = text(child)
        elif tag == "Наименование":
            name = text(child)
        elif tag == "Артикул":
            sku = text(child)
        elif tag == "Штрихкод" or tag == "ШтрихКод":
            barcode = text(child)
        elif tag == "БазоваяЕдиница":
            unit = unit_ref(child)
        elif tag == "Группы":
            group_ids.extend(value for value in (text(ref) for ref in child) if value)
        elif tag == "Описание":
            description = _description(child)
        elif tag == "Картинка":
            path = text(child)
            if path:
                pictures.append(path)
        elif tag == "ЗначенияСвойств":
            properties = property_values(child)
        elif tag == "ЗначенияРеквизитов":
            requisite_list = requisites(child)
        elif tag == "СтавкиНалогов":
            taxes = _tax_rates(child)
        elif tag == "ХарактеристикиТовара":
            variant = characteristics(child)
        elif tag == "Изготовитель":
            manufacturer = _manufacturer(child)
        elif tag == "Страна":
            country = text(child)
        elif tag == "ТорговаяМарка":
            brand = text(child)
        elif tag == "ПометкаУдаления":
            deleted = bool_of(child) or deleted
        elif tag == "НомерВерсии":
            version = text(child)
        elif tag == "Код":
            code = text(child)
    if onec_id is None:
        raise fail(element, "a product has no Ид")
    if "#" in onec_id:
        return Offer(
            onec_id=onec_id,
            product_onec_id=product_onec_id_of(onec_id),
            name=name,
            sku=sku,
            barcode=barcode,
            unit=unit,
            characteristics=variant,
            property_values=properties,
            deleted=deleted,
            version=version,
        )
    # An empty Наименование is read as "" and left to the writer, which refuses that product
    # alone (a nameless product would be shown wrong) and lets the rest of the file land.
    return Product(
        onec_id=onec_id,
        name=name or "",
        sku=sku,
        barcode=barcode,
        code=code,
        unit=unit,
        group_onec_ids=tuple(group_ids),
        description=description,
        images=_images(pictures, requisite_list),
        manufacturer=manufacturer,
        country=country,
        brand=brand,
        property_values=properties,
        taxes=taxes,
        requisites=requisite_list,
        characteristics=variant,
        deleted=deleted,
        version=version,
    )


def _description(element: Element) -> str | None:
    """Описание as sent (escaped HTML arrives unescaped once); markup as elements is flattened."""
    if len(element):
        value: str = etree.tostring(element, method="text", encoding="unicode")
    else:
        value = element.text or ""
    return value if value.strip() else None


def _tax_rates(container: Element) -> tuple[TaxRate, ...]:
    found = []
    for item in container:
        parts = child_texts(item, "Наименование", "Ставка")
        if parts["Наименование"] is not None:
            found.append(TaxRate(name=parts["Наименование"], rate=parts["Ставка"]))
    return tuple(found)


def _manufacturer(element: Element) -> Manufacturer | None:
    parts = child_texts(element, "Ид", "Наименование")
    if parts["Наименование"] is None:
        return None
    return Manufacturer(name=parts["Наименование"], onec_id=parts["Ид"])


def _images(paths: list[str], requisite_list: tuple[Requisite, ...]) -> tuple[Image, ...]:
    """Картинка paths with captions from ``ОписаниеФайла`` requisites (``path#caption``)."""
    if not paths:
        return ()
    captions = {}
    for requisite in requisite_list:
        if requisite.name == "ОписаниеФайла" and "#" in requisite.value:
            path, caption = requisite.value.split("#", 1)
            captions[path.strip()] = caption.strip() or None
    return tuple(Image(path=path, caption=captions.get(path)) for path in paths)
