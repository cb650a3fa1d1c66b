"""Reading a whole CommerceML document as a stream of records.

``open_document(source, name=..., tz=...)`` decides what the file is (``.header``) and gives
``.records()``: one streaming pass in which each record element is turned into frozen records
and then cleared together with what preceded it, so memory stays flat for any file size.

Records come in document order: classifier entries (groups parents first, properties, price
types, warehouses, units) before the products or offers that follow them in the file. Property
values are never resolved. ``.only_changes`` is the final ``СодержитТолькоИзменения`` (attribute
or trailing element) once ``records()`` is exhausted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, tzinfo
from typing import cast

from exchange_formats._xml import (
    DEFAULT_MAX_TEXT_BYTES,
    LOCAL,
    Source,
    XmlInput,
)
from exchange_formats.commerceml import catalog, classifier, contractors, offers, orders
from exchange_formats.commerceml._elements import Element, ElementError
from exchange_formats.commerceml._source import Rewindable
from exchange_formats.commerceml._values import BadValue, to_bool
from exchange_formats.commerceml.header import MAIN_BLOCKS, ONLY_CHANGES, detect
from exchange_formats.errors import FormatError
from exchange_formats.records import DocumentHeader, Order, Record

_BLOCKS = frozenset(
    {
        "Классификатор",
        "Каталог",
        "ПакетПредложений",
        "ИзмененияПакетаПредложений",
        "Контрагенты",
        "Контейнер",
        "ПользовательскиеСправочники",
    }
)
_DICTIONARY_OWNERS = frozenset({"Классификатор", "ПакетПредложений", "ИзмененияПакетаПредложений"})


def _parent_name(element: Element, levels: int = 1) -> str:
    for _ in range(levels):
        parent = element.getparent()
        if parent is None:
            return ""
        element = parent
    return LOCAL[element.tag]


def release(element: Element) -> None:
    """Free a handled element and every sibling before it (lxml's iterparse idiom)."""
    element.clear()  # keep_tail=False: the whitespace after it goes too
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def located(exc: BadValue, record: Element, source: str) -> FormatError:
    """A value error inside ``record`` as a FormatError naming the line and element path."""
    target = exc.element if isinstance(exc, ElementError) else record
    path = [LOCAL[target.tag]]
    node = target
    while node is not record and node.getparent() is not None:
        node = node.getparent()  # type: ignore[assignment]
        path.append(LOCAL[node.tag])
    if node is not record:
        path = [LOCAL[target.tag]]
    line = cast("int | None", target.sourceline)  # lxml-stubs leave it untyped
    return FormatError(str(exc), source=source, line=line, element="/".join(reversed(path)))


class Document:
    """One opened CommerceML document. ``records()`` may be called once per opening for
    non-seekable streams; paths and seekable files can be read again."""

    def __init__(
        self,
        source: Source,
        *,
        name: str | None = None,
        tz: tzinfo = UTC,
        max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
    ) -> None:
        self._source = Rewindable(source, name)
        self._tz = tz
        self._max_text_bytes = max_text_bytes
        self.header: DocumentHeader = detect(self._source.first(), name=self._source.name, tz=tz)
        self._flags: dict[str, bool] = {}
        self._xml: XmlInput | None = None
        self._handlers: dict[str, Callable[[Element], tuple[Record, ...]]] = {
            "Группа": self._group,
            "Свойство": self._property,
            "ТипЦены": self._price_type,
            "Склады": self._warehouses,
            "ЕдиницаИзмерения": self._unit,
            "Товар": self._product,
            "Предложение": self._offer,
            "Контрагент": self._contractor,
            "Документ": self._document,
            ONLY_CHANGES: self._trailing_flag,
        }

    @property
    def name(self) -> str:
        return self.header.source

    @property
    def bytes_read(self) -> int:
        """How far into the file the parser is (for progress bars)."""
        return 0 if self._xml is None else self._xml.bytes_read

    @property
    def only_changes(self) -> bool | None:
        """``СодержитТолькоИзменения`` of the main block (else of the Классификатор).

        Final once ``records()`` is exhausted (1C 2.03 may state it as a trailing element);
        before that, what the opening tags said. ``None`` if the document never says.
        """
        for block in MAIN_BLOCKS:
            if block in self._flags:
                return self._flags[block]
        return self.header.only_changes

    def records(self) -> Iterator[Record]:
        """Every record in document order. Raises ``FormatError`` at the first bad element;
        records yielded before it were complete and valid."""
        tags = [f"{{*}}{tag}" for tag in (*self._handlers, *_BLOCKS)]
        self._flags.clear()
        with XmlInput(
            self._source.second(), name=self.name, max_text_bytes=self._max_text_bytes
        ) as xml:
            self._xml = xml
            for _, element in xml.events(("end",), tag=tags):
                tag = LOCAL[element.tag]
                handler = self._handlers.get(tag)
                if handler is None:
                    self._end_block(element, tag)
                    continue
                try:
                    found = handler(element)
                except BadValue as exc:
                    raise located(exc, element, self.name) from exc
                yield from found

    # --- handlers: each returns the element's records and releases what it handled ----------

    def _group(self, element: Element) -> tuple[Record, ...]:
        if _parent_name(element, 2) == "Группа":
            return ()  # nested: read with its top-level group, parents first
        found = tuple(classifier.groups(element))
        release(element)
        return found

    def _simple(
        self, element: Element, parent: str, read: Callable[[Element], Record]
    ) -> tuple[Record, ...]:
        if _parent_name(element) != parent:
            return ()
        found = read(element)
        release(element)
        return (found,)

    def _property(self, element: Element) -> tuple[Record, ...]:
        return self._simple(element, "Свойства", classifier.property_)

    def _price_type(self, element: Element) -> tuple[Record, ...]:
        return self._simple(element, "ТипыЦен", classifier.price_type)

    def _unit(self, element: Element) -> tuple[Record, ...]:
        return self._simple(element, "ЕдиницыИзмерения", classifier.unit)

    def _warehouses(self, element: Element) -> tuple[Record, ...]:
        # Listening for the (few) Склады lists, not for Склад: that name is also every
        # per-warehouse stock row of every offer.
        if _parent_name(element) not in _DICTIONARY_OWNERS:
            return ()  # an order's warehouses, or an offer's Склады stock row
        found = tuple(classifier.warehouse(item) for item in element if LOCAL[item.tag] == "Склад")
        release(element)
        return found

    def _product(self, element: Element) -> tuple[Record, ...]:
        if _parent_name(element, 2) != "Каталог":
            return ()  # an order line: read with its Документ
        found = catalog.product(element)
        release(element)
        return (found,)

    def _offer(self, element: Element) -> tuple[Record, ...]:
        if _parent_name(element) != "Предложения":
            return ()
        found = offers.offer_records(element)
        release(element)
        return found

    def _contractor(self, element: Element) -> tuple[Record, ...]:
        parent = element.getparent()
        if parent is None or LOCAL[parent.tag] != "Контрагенты" or _parent_name(parent, 2):
            return ()  # inside an order: read with its Документ
        return self._simple(element, "Контрагенты", contractors.contractor)

    def _document(self, element: Element) -> tuple[Record, ...]:
        found: Order | None = orders.order(element, self._tz)
        release(element)
        return () if found is None else (found,)

    def _trailing_flag(self, element: Element) -> tuple[Record, ...]:
        block = _parent_name(element)
        raw = (element.text or "").strip()
        if block in _BLOCKS and raw:
            try:
                self._flags[block] = to_bool(raw)
            except BadValue as exc:
                raise located(exc, element, self.name) from exc
        return ()

    def _end_block(self, element: Element, tag: str) -> None:
        raw = element.get(ONLY_CHANGES)
        if raw is not None and tag not in self._flags:
            try:
                self._flags[tag] = to_bool(raw)
            except BadValue as exc:
                raise located(exc, element, self.name) from exc
        parent = element.getparent()
        if parent is not None and parent.getparent() is None:
            release(element)  # a top-level block; the same names nest inside orders


def open_document(
    source: Source,
    *,
    name: str | None = None,
    tz: tzinfo = UTC,
    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
) -> Document:
    """Open a CommerceML document: its header now, its records on ``.records()``.

    ``source`` is a path or a binary file; ``name`` is what errors call it; ``tz`` is the zone
    of dates written without one (1C writes its server's local time: pass it). Raises
    ``FormatError`` (``UnsafeDocumentError`` for DOCTYPEs and over-long text).
    """
    return Document(source, name=name, tz=tz, max_text_bytes=max_text_bytes)


def read_orders(
    source: Source,
    *,
    name: str | None = None,
    tz: tzinfo = UTC,
    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
) -> Iterator[Order]:
    """The orders (Документ with ХозОперация «Заказ товара») of a document, streamed."""
    with XmlInput(source, name=name, max_text_bytes=max_text_bytes) as xml:
        for _, element in xml.events(("end",), tag="{*}Документ"):
            try:
                found = orders.order(element, tz)
            except BadValue as exc:
                raise located(exc, element, xml.name) from exc
            release(element)
            if found is not None:
                yield found
