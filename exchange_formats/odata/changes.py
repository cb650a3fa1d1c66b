"""An exchange-plan package (``SelectChanges``: an Atom feed) -> changed rows and deleted refs.

1C answers ``SelectChanges`` with Atom XML only (the documentation promises no JSON form).
Each changed object is an ``entry`` whose ``category term`` names its type
(``StandardODATA.Catalog_Номенклатура``) and whose ``m:properties`` hold its properties; each
deleted one is an ``at:deleted-entry`` whose ``ref`` is the object's URL
(``…/Catalog_Номенклатура(guid'…')``). Rows come out shaped as the JSON reads give them, so the
same readers map them: values as text (``"true"``, ``"1490.5"``), ``m:null`` as None, an empty
element (a value 1C cleared) as ``""``, a collection (a tabular section) as a list of rows.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from exchange_formats._xml import XmlInput, local_name
from exchange_formats.errors import FormatError

_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_DELETED = re.compile(r"/(?P<entity>[^/()]+)\(guid'(?P<ref>[0-9a-fA-F-]{36})'\)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Changed:
    entity: str  # Catalog_Номенклатура
    row: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Deleted:
    entity: str
    ref: str  # Ref_Key, lower case


def read_changes(body: bytes, *, source: str = "SelectChanges") -> Iterator[Changed | Deleted]:
    """The entries of one package, in the order 1C wrote them. Raises ``FormatError``."""
    with XmlInput(io.BytesIO(body), name=source) as document:
        for _, element in document.events(("end",)):
            tag = local_name(element.tag)
            if tag == "entry":
                yield _changed(element, source)
                _forget(element)
            elif tag == "deleted-entry":
                yield _deleted(element, source)
                _forget(element)


def _changed(entry: etree._Element, source: str) -> Changed:
    entity = properties = None
    for child in entry.iter():
        tag = local_name(child.tag)
        if tag == "category" and entity is None:
            entity = (child.get("term") or "").rsplit(".", 1)[-1]
        elif tag == "properties" and properties is None:
            properties = child
    if not entity or properties is None:
        raise FormatError("an entry without a type or properties", source=source, element="entry")
    return Changed(entity=entity, row={local_name(p.tag): _value(p) for p in properties})


def _deleted(element: etree._Element, source: str) -> Deleted:
    found = _DELETED.search(element.get("ref") or "")
    if found is None:
        raise FormatError(
            f"a deleted entry names no object: {element.get('ref')!r}",
            source=source,
            element="deleted-entry",
        )
    return Deleted(entity=found.group("entity"), ref=found.group("ref").lower())


def _value(element: etree._Element) -> Any:
    if element.get(f"{{{_M}}}null") == "true":
        return None
    items = [child for child in element if local_name(child.tag) == "element"]
    if items:  # a collection: a tabular section's rows
        return [{local_name(p.tag): _value(p) for p in item} for item in items]
    if len(element):  # a complex value
        return {local_name(p.tag): _value(p) for p in element}
    return element.text or ""


def _forget(element: etree._Element) -> None:
    element.clear()
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]
