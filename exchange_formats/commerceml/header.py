"""What a CommerceML file is, decided from its content (never from its name).

``detect`` reads the root element and its top-level blocks only as far as needed: a catalog's
``Каталог`` or an offers file's ``ПакетПредложений`` decides at once; a ``Классификатор`` in
front is skipped without building a tree (memory stays flat whatever its size).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from exchange_formats._xml import LOCAL, Source, XmlInput
from exchange_formats.commerceml._values import BadValue, to_bool, to_datetime
from exchange_formats.errors import FormatError
from exchange_formats.records import DocumentHeader, DocumentKind

ROOT = "КоммерческаяИнформация"
ONLY_CHANGES = "СодержитТолькоИзменения"
CLASSIFIER = "Классификатор"

# A top-level block that decides what the document is.
DECISIVE_BLOCKS = {
    "Каталог": DocumentKind.CATALOG,
    "ПакетПредложений": DocumentKind.OFFERS,
    "ИзмененияПакетаПредложений": DocumentKind.OFFER_CHANGES,
    "Документ": DocumentKind.ORDERS,
    "Контейнер": DocumentKind.ORDERS,
    "Контрагенты": DocumentKind.CONTRACTORS,
}
# Fragments whose root is a block itself (e.g. a bare <Классификатор> file).
_ROOT_KINDS = {CLASSIFIER: DocumentKind.CATALOG, **DECISIVE_BLOCKS}


class _HeadReader:
    """A parser target: sees start/end tags, stops as soon as the kind is known."""

    def __init__(self) -> None:
        self.depth = 0
        self.root_tag: str | None = None
        self.root_attrib: dict[str, str] = {}
        self.kind: DocumentKind | None = None
        self.saw_classifier = False
        self.flags: dict[str, str] = {}  # block -> СодержитТолькоИзменения as written

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        name = LOCAL[tag]
        if self.depth == 1:
            self.root_tag, self.root_attrib = tag, dict(attrib)
            if name != ROOT:
                self.kind = _ROOT_KINDS.get(name, DocumentKind.UNKNOWN)
                self._flag(name, attrib)
        elif self.depth == 2:
            self._flag(name, attrib)
            if name in DECISIVE_BLOCKS:
                self.kind = DECISIVE_BLOCKS[name]
            elif name == CLASSIFIER:
                self.saw_classifier = True

    def _flag(self, name: str, attrib: dict[str, str]) -> None:
        value = attrib.get(ONLY_CHANGES)
        if value is not None:
            self.flags.setdefault(name, value)

    def end(self, tag: str) -> None:
        self.depth -= 1

    def close(self) -> None:
        return None


def detect(source: Source, *, name: str | None = None, tz: tzinfo | None = None) -> DocumentHeader:
    """The header of a CommerceML document; reads only as much of it as it needs.

    ``source`` is a path or a binary file (read from its current position, not rewound, not
    closed). ``tz`` is the zone of ``ДатаФормирования`` when it has none (default UTC).
    """
    with XmlInput(source, name=name) as xml:
        head = _HeadReader()
        xml.scan(head, done=lambda: head.kind is not None)
        return header_from(head, xml, tz)


def header_from(head: _HeadReader, xml: XmlInput, tz: tzinfo | None) -> DocumentHeader:
    if head.root_tag is None:
        raise FormatError("no root element", source=xml.name)
    kind = head.kind or (DocumentKind.CATALOG if head.saw_classifier else DocumentKind.UNKNOWN)
    namespace = head.root_tag[1:].partition("}")[0] if head.root_tag.startswith("{") else None
    return DocumentHeader(
        source=xml.name,
        kind=kind,
        schema_version=(head.root_attrib.get("ВерсияСхемы") or "").strip() or None,
        generated_at=_generated_at(head.root_attrib.get("ДатаФормирования"), tz),
        namespace=namespace or None,
        encoding=xml.prolog.encoding,
        only_changes=_only_changes(head.flags, xml.name),
    )


def _generated_at(raw: str | None, tz: tzinfo | None) -> datetime | None:
    if not raw:
        return None
    try:
        return to_datetime(raw, tz or UTC)
    except BadValue:
        return None  # a hint only: a garbled timestamp is no reason to refuse the data


MAIN_BLOCKS = (
    "Каталог",
    "ПакетПредложений",
    "ИзмененияПакетаПредложений",
    "Контрагенты",
    CLASSIFIER,
)


def _only_changes(flags: dict[str, str], source: str) -> bool | None:
    for block in MAIN_BLOCKS:
        if block in flags:
            try:
                return to_bool(flags[block])
            except BadValue as exc:
                raise FormatError(str(exc), source=source, element=block) from None
    return None
