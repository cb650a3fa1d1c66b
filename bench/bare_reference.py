"""The bare-lxml reference of the import benchmark: the fields the importer keeps, taken out of
the package with a plain ``lxml.etree.iterparse`` loop (no records, no validation, no hashes)
and COPYed into tables without indexes or constraints.

    python -m bench.bare_reference DATABASE_URL FILE ...

The time of this process is the floor of anything that reads CommerceML with lxml and writes the
rows to PostgreSQL: the import's ratio to it counts the cost of the readers too, which the other
reference ("our readers + COPY") leaves out. Memory stays flat: each Товар and Предложение is
cleared with the siblings before it, and rows are written every ``BATCH`` records.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg
from lxml import etree

BATCH = 5_000
TABLES = {
    "groups": "onec_id text, parent_onec_id text, name text",
    "properties": "onec_id text, name text, value_type text",
    "property_options": "property_onec_id text, onec_id text, value text",
    "price_types": "onec_id text, name text, currency text",
    "warehouses": "onec_id text, name text",
    "products": "onec_id text, name text, sku text, barcode text, group_onec_id text, unit text,"
    " description text, country text, requisites jsonb, taxes jsonb",
    "product_groups": "product_onec_id text, group_onec_id text",
    "product_images": "product_onec_id text, position integer, path text",
    "product_property_values": "product_onec_id text, property_onec_id text, position integer,"
    " value text",
    "offers": "onec_id text, product_onec_id text, name text, sku text, characteristics jsonb",
    "prices": "offer_onec_id text, product_onec_id text, price_type_onec_id text,"
    " value numeric(18, 4), currency text, unit text, coefficient numeric(18, 4),"
    " presentation text",
    "stock": "offer_onec_id text, product_onec_id text, warehouse_onec_id text,"
    " quantity numeric(18, 4)",
}
RECORD_TAGS = ("Группа", "Свойство", "ТипЦены", "Склад", "Товар", "Предложение")
Rows = dict[str, list[tuple[Any, ...]]]


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _text(element: Any, name: str) -> str | None:
    found = element.findtext("{*}" + name)
    return None if found is None else str(found).strip()


def _children(element: Any, path: str) -> list[Any]:
    return list(element.iterfind("/".join("{*}" + part for part in path.split("/"))))


def _group(element: Any, rows: Rows) -> None:
    parent = element.getparent().getparent()
    parent_id = _text(parent, "Ид") if parent is not None and _local(parent) == "Группа" else None
    rows["groups"].append((_text(element, "Ид"), parent_id, _text(element, "Наименование")))


def _property(element: Any, rows: Rows) -> None:
    onec_id = _text(element, "Ид")
    kind = _text(element, "ТипЗначений")
    rows["properties"].append((onec_id, _text(element, "Наименование"), kind))
    for option in _children(element, "ВариантыЗначений/Справочник"):
        rows["property_options"].append(
            (onec_id, _text(option, "ИдЗначения"), _text(option, "Значение"))
        )


def _product(element: Any, rows: Rows) -> None:
    onec_id = _text(element, "Ид")
    groups = [str(g.text).strip() for g in _children(element, "Группы/Ид")]
    requisites = [
        {"name": _text(r, "Наименование"), "value": _text(r, "Значение")}
        for r in _children(element, "ЗначенияРеквизитов/ЗначениеРеквизита")
    ]
    taxes = [
        {"name": _text(t, "Наименование"), "rate": _text(t, "Ставка")}
        for t in _children(element, "СтавкиНалогов/СтавкаНалога")
    ]
    rows["products"].append(
        (
            onec_id,
            _text(element, "Наименование"),
            _text(element, "Артикул"),
            _text(element, "Штрихкод"),
            groups[0] if groups else None,
            _text(element, "БазоваяЕдиница"),
            _text(element, "Описание"),
            _text(element, "Страна"),
            json.dumps(requisites, ensure_ascii=False),
            json.dumps(taxes, ensure_ascii=False),
        )
    )
    rows["product_groups"].extend((onec_id, group) for group in groups)
    for position, image in enumerate(_children(element, "Картинка")):
        rows["product_images"].append((onec_id, position, str(image.text).strip()))
    for position, value in enumerate(_children(element, "ЗначенияСвойств/ЗначенияСвойства")):
        rows["product_property_values"].append(
            (onec_id, _text(value, "Ид"), position, _text(value, "Значение"))
        )


def _offer(element: Any, rows: Rows) -> None:
    onec_id = _text(element, "Ид") or ""
    product = onec_id.split("#")[0]
    if _text(element, "Наименование") is not None:
        characteristics = [
            {"name": _text(c, "Наименование"), "value": _text(c, "Значение")}
            for c in _children(element, "ХарактеристикиТовара/ХарактеристикаТовара")
        ]
        rows["offers"].append(
            (
                onec_id,
                product,
                _text(element, "Наименование"),
                _text(element, "Артикул"),
                json.dumps(characteristics, ensure_ascii=False),
            )
        )
    for price in _children(element, "Цены/Цена"):
        rows["prices"].append(
            (
                onec_id,
                product,
                _text(price, "ИдТипаЦены"),
                _text(price, "ЦенаЗаЕдиницу"),
                _text(price, "Валюта"),
                _text(price, "Единица"),
                _text(price, "Коэффициент"),
                _text(price, "Представление"),
            )
        )
    total = _text(element, "Количество")
    if total is not None:  # the total as 1C sent it: warehouse ""
        rows["stock"].append((onec_id, product, "", total))
    for place in _children(element, "Склад"):  # 2.07: attributes on Предложение/Склад
        rows["stock"].append(
            (onec_id, product, place.get("ИдСклада"), place.get("КоличествоНаСкладе"))
        )
    for place in _children(element, "Остатки/Остаток/Склад"):  # 2.08+: Остатки
        rows["stock"].append((onec_id, product, _text(place, "Ид"), _text(place, "Количество")))


def _dictionary_entry(element: Any, kind: str, rows: Rows, seen: set[tuple[str, str]]) -> None:
    """A price type or warehouse of a ТипыЦен/Склады list (import.xml 2.08+ or offers.xml)."""
    onec_id = _text(element, "Ид") or ""
    if (kind, onec_id) in seen:
        return
    seen.add((kind, onec_id))
    if kind == "ТипЦены":
        rows["price_types"].append(
            (onec_id, _text(element, "Наименование"), _text(element, "Валюта"))
        )
    else:
        rows["warehouses"].append((onec_id, _text(element, "Наименование")))


def extract(paths: Iterable[str], connection: psycopg.Connection[Any]) -> int:
    """Read every file, COPY its rows; the number of rows written."""
    rows: Rows = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    written = pending = 0
    for path in paths:
        tags = ["{*}" + tag for tag in RECORD_TAGS]
        for _event, element in etree.iterparse(path, events=("end",), tag=tags):
            kind = _local(element)
            parent = _local(element.getparent()) if element.getparent() is not None else ""
            if kind == "Товар":
                _product(element, rows)
            elif kind == "Предложение":
                _offer(element, rows)
            elif kind == "Группа":
                _group(element, rows)
                continue
            elif kind == "Свойство" and parent == "Свойства":
                _property(element, rows)
            elif kind in ("ТипЦены", "Склад") and parent in ("ТипыЦен", "Склады"):
                _dictionary_entry(element, kind, rows, seen)
            else:
                continue
            if kind in ("Товар", "Предложение"):
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
                pending += 1
                if pending >= BATCH:
                    written, pending = written + _flush(connection, rows), 0
    return written + _flush(connection, rows)


def _flush(connection: psycopg.Connection[Any], rows: Rows) -> int:
    written = 0
    with connection.cursor() as cursor:
        for table, batch in rows.items():
            if not batch:
                continue
            with cursor.copy(f'COPY "bare_{table}" FROM STDIN') as copy:
                for row in batch:
                    copy.write_row(row)
            written += len(batch)
            batch.clear()
    connection.commit()
    return written


def main(argv: list[str]) -> None:
    url, paths = argv[0], argv[1:]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        with connection.cursor() as cursor:
            for table, columns in TABLES.items():
                cursor.execute(f'DROP TABLE IF EXISTS "bare_{table}"')
                cursor.execute(f'CREATE TABLE "bare_{table}" ({columns})')
        connection.commit()
        print(f"rows={extract(paths, connection)}")


if __name__ == "__main__":
    main(sys.argv[1:])
