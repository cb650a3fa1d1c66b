"""``$metadata`` (CSDL XML) -> what a 1C base publishes: entity sets, their properties, functions.

Real ``$metadata`` documents run to megabytes (УТ, ERP with everything published), so this reads
them as a stream (through ``exchange_formats._xml``, which refuses DTDs and entities) and keeps
only names.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from exchange_formats._xml import XmlInput, local_name
from exchange_formats.errors import FormatError


@dataclass(frozen=True, slots=True, kw_only=True)
class Metadata:
    """Names only. ``properties`` covers entity and complex types (function result rows)."""

    entity_sets: Mapping[str, str] = field(default_factory=dict)  # set name -> type name
    properties: Mapping[str, frozenset[str]] = field(default_factory=dict)  # type -> names
    functions: Mapping[str, frozenset[str]] = field(default_factory=dict)  # set -> functions

    def has_entity_set(self, name: str) -> bool:
        return name in self.entity_sets

    def properties_of(self, entity_set: str, function: str | None = None) -> frozenset[str]:
        """Properties of the rows ``entity_set`` (or its virtual table ``function``) returns.

        1C names a virtual table's row type ``<set>_<Function>`` with ``Balance`` rows as
        ``_Balance`` and ``SliceLast`` rows as ``_SliceLast``; ``_RecordType`` sets drop the
        suffix in that name.
        """
        if function is None:
            return self.properties.get(self.entity_sets.get(entity_set, ""), frozenset())
        base = entity_set.removesuffix("_RecordType")
        return self.properties.get(f"{base}_{function}", frozenset())


def metadata_to_json(metadata: Metadata) -> dict[str, Any]:
    """``metadata`` as plain JSON (to keep it between runs); ``metadata_from_json`` reverses it."""
    return {
        "entity_sets": dict(metadata.entity_sets),
        "properties": {name: sorted(names) for name, names in metadata.properties.items()},
        "functions": {name: sorted(names) for name, names in metadata.functions.items()},
    }


def metadata_from_json(document: Mapping[str, Any]) -> Metadata:
    """Raises ``FormatError`` for anything ``metadata_to_json`` does not write."""
    try:
        return Metadata(
            entity_sets={str(k): str(v) for k, v in document["entity_sets"].items()},
            properties={str(k): frozenset(map(str, v)) for k, v in document["properties"].items()},
            functions={str(k): frozenset(map(str, v)) for k, v in document["functions"].items()},
        )
    except (KeyError, AttributeError, TypeError) as exc:
        raise FormatError(f"not a kept $metadata: {exc}", source="$metadata") from exc


def parse_metadata(body: bytes, *, source: str = "$metadata") -> Metadata:
    """The names in a ``$metadata`` document. Raises ``FormatError`` for anything else."""
    sets: dict[str, str] = {}
    properties: dict[str, set[str]] = {}
    functions: dict[str, set[str]] = {}
    current: str | None = None
    with XmlInput(io.BytesIO(body), name=source) as document:
        for event, element in document.events(("start", "end")):
            tag = local_name(element.tag)
            if event == "end":
                if tag in ("EntityType", "ComplexType"):
                    current = None
                _forget(element)
                continue
            name = element.get("Name") or ""
            if tag in ("EntityType", "ComplexType"):
                current = name
                properties.setdefault(current, set())
            elif tag in ("Property", "NavigationProperty") and current:
                properties[current].add(name)
            elif tag == "EntitySet":
                sets[name] = element.get("EntityType") or ""
            elif tag == "FunctionImport" and element.get("EntitySetPath"):
                functions.setdefault(element.get("EntitySetPath") or "", set()).add(name)
    return Metadata(
        entity_sets={key: _local(value) for key, value in sets.items()},
        properties={key: frozenset(value) for key, value in properties.items()},
        functions={key: frozenset(value) for key, value in functions.items()},
    )


def _forget(element: etree._Element) -> None:
    """Drop a finished element and its finished siblings, so memory stays flat."""
    element.clear()
    while element.getprevious() is not None:
        parent = element.getparent()
        if parent is None:
            break
        del parent[0]


def _local(type_name: str) -> str:
    """``StandardODATA.Catalog_X`` -> ``Catalog_X``."""
    return type_name.rsplit(".", 1)[-1]
