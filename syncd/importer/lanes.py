"""Two files of a package at once, when they cannot touch the same rows.

1C's standard package is import.xml (groups, properties, products) and offers.xml (price types,
warehouses, offers, prices, stock). Reading and writing each is bound by one core, and they write
different tables, so they can be imported side by side: the catalog files in a second process,
the rest in this one, each batch still committed with its own file's checkpoint.

The end state must be the one the files give one after another. That holds when the two lanes
write disjoint tables, which is decided before anything is read, from the element names each file
contains (a byte search, a fraction of a second per hundred megabytes):

* each handled element (``Товар``, ``Предложение``, ``ТипЦены``, ...) names the tables it writes;
* a ``Товар`` whose ``Ид`` holds ``#`` is a variant and writes offers too.

The search errs one way only: it may see an element that is not there (a longer name, text that
looks like a tag), which costs speed (the files go one after another), never correctness.

CommerceML 2.08+ lists ``ТипыЦен`` and ``Склады`` in import.xml's ``Классификатор`` as well as in
offers.xml, so both lanes would write ``price_types`` and ``warehouses``. Those tables get one
owner, the offers lane: the catalog files' price types and warehouses are written before the
lanes start (``Split.references_first``; they lead the file, before ``Каталог``, which the byte
search checks), and the catalog lane skips them. The offers lane then writes its own over them,
as it would one file after another.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from exchange_formats.records import DocumentKind
from syncd.importer.package import InputFile

# The reader's handled elements and the tables their records write.
_TABLES_OF = {
    "Группа": {"catalog_groups"},
    "Свойство": {"properties", "property_options"},
    "ТипЦены": {"price_types"},
    "Склады": {"warehouses"},
    "ЕдиницаИзмерения": {"units"},
    "Товар": {"products", "product_groups", "product_images", "product_property_values"},
    "Предложение": {"offers", "prices", "stock"},
    "Контрагент": {"customers"},
    "Документ": {"orders"},
}
_CATALOG_KINDS = {DocumentKind.CATALOG}
_OFFER_KINDS = {DocumentKind.OFFERS, DocumentKind.OFFER_CHANGES}
# Past this many "#" outside identifiers (HTML entities in descriptions), stop looking: variants
# are then assumed, and the files go one after another.
_MAX_HASH_SIGNS = 20_000
_CHUNK = 8 * 1024 * 1024
_OVERLAP = 4096  # longer than any tag name and an Ид with its opening tag
# How much the offers lane (a child process) defers to the catalog lane when both want a core.
SECOND_LANE_NICENESS = 5


# Reference tables both kinds of file may write, and the elements that write them.
SHARED_REFERENCES = frozenset({"price_types", "warehouses"})
_REFERENCE_ELEMENTS = ("ТипЦены", "Склады", "Склад")


@dataclass(frozen=True, slots=True)
class Split:
    catalog: list[InputFile]
    offers: list[InputFile]
    # The catalog files' price types and warehouses are written first; the catalog lane skips them.
    references_first: bool = False


def split(files: Sequence[InputFile]) -> Split | None:
    """The catalog lane and the offers lane in ``files`` order, or None when the package must be
    read one file after another (one kind only, other kinds of files, or shared tables other
    than ``SHARED_REFERENCES`` leading the catalog files)."""
    catalog = [f for f in files if f.header.kind in _CATALOG_KINDS]
    offers = [f for f in files if f.header.kind in _OFFER_KINDS]
    if not catalog or not offers or len(catalog) + len(offers) != len(files):
        return None
    try:
        catalog_tables = set().union(*(tables_written(f.path, f.header.encoding) for f in catalog))
        offer_tables = set().union(*(tables_written(f.path, f.header.encoding) for f in offers))
        shared = catalog_tables & offer_tables
        if not shared:
            return Split(catalog, offers)
        if shared <= SHARED_REFERENCES and all(
            references_lead(f.path, f.header.encoding) for f in catalog
        ):
            return Split(catalog, offers, references_first=True)
    except (LookupError, OSError, ValueError):
        return None  # an encoding the byte search cannot handle: no guessing
    return None


def references_lead(path: Path, encoding: str) -> bool:
    """Whether every price type and warehouse element of the file comes before its ``Каталог``
    (so reading the file up to its first product finds them all)."""
    enc = codecs.lookup(encoding or "utf-8").name
    names = [name.encode(enc) for name in _REFERENCE_ELEMENTS]
    catalog = "Каталог".encode(enc)
    first_catalog: int | None = None
    last_reference = -1
    offset, tail = 0, b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            base = offset - len(tail)
            for opener in (b"<", b":"):
                if first_catalog is None and (at := data.find(opener + catalog)) != -1:
                    first_catalog = base + at
                for name in names:
                    if (at := data.rfind(opener + name)) != -1:
                        last_reference = max(last_reference, base + at)
            offset += len(chunk)
            tail = data[-_OVERLAP:]
    return first_catalog is None or last_reference < first_catalog


def tables_written(path: Path, encoding: str) -> set[str]:
    """The tables a file's records may write, from the element names in its bytes."""
    enc = codecs.lookup(encoding or "utf-8").name
    if "16" in enc or "32" in enc:  # not ASCII-compatible: '<' is not one byte
        raise ValueError(f"{path.name}: cannot search {encoding} bytes")
    wanted = {element.encode(enc): written for element, written in _TABLES_OF.items()}
    found: set[bytes] = set()
    variants = _VariantSearch(enc)
    prefixed: bool | None = None
    tail = b""
    with path.open("rb") as fh:  # read, not mapped: mapped pages would count as our memory
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            if prefixed is None:  # 1C writes unprefixed names; else every name is worth a look
                prefixed = data.find("<КоммерческаяИнформация".encode(enc), 0, 4096) == -1
            for name in wanted.keys() - found:
                if data.find(b"<" + name) != -1 or (prefixed and data.find(b":" + name) != -1):
                    found.add(name)
            variants.feed(data, len(tail))
            tail = data[-_OVERLAP:]
    tables = set().union(*(wanted[name] for name in found))
    if "products" in tables and variants.seen:
        tables.add("offers")
    return tables


class _VariantSearch:
    """Whether some ``Ид`` element's text holds ``#`` (``Товар prod#char`` is a variant)."""

    def __init__(self, enc: str) -> None:
        self.opening = "Ид>".encode(enc)
        self.signs = 0
        self.seen = False

    def feed(self, data: bytes, start: int) -> None:
        """Look at the ``#`` signs from ``start`` on (the bytes before are context only)."""
        pos = data.find(b"#", start)
        while pos != -1 and not self.seen:
            self.signs += 1
            if self.signs > _MAX_HASH_SIGNS:
                self.seen = True  # too many to tell: assume variants
                return
            begin = data.rfind(b"<", 0, pos)
            end = data.find(b">", begin, pos) if begin != -1 else -1
            if end != -1:
                tag = data[begin : end + 1]
                self.seen = tag.endswith(self.opening) and not tag.startswith(b"</")
            pos = data.find(b"#", pos + 1)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this (lane) process when its parent dies, however it dies (Linux);
    a lane must never go on writing for an importer that is gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the lane still stops at its next batch once it notices (below)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
