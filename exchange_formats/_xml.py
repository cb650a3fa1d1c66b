"""The one safe, streaming way to read XML: every reader in this package parses through here.

``XmlInput(source, name=...)`` opens a path or binary file and checks its prolog before a single
byte reaches the parser:

* a ``<!DOCTYPE`` (hence any DTD, entity declaration, billion laughs, external entity) is
  refused at once with ``UnsafeDocumentError``;
* the XML declaration's encoding must match the bytes: a document declared windows-1251 whose
  head is valid UTF-8 (or declared/implied UTF-8 whose head is not) is refused with
  ``FormatError``, instead of being read as mojibake;
* UTF-16/32 are refused (1C never writes them).

``XmlInput.events(...)`` then streams lxml ``iterparse`` events with entity resolution, DTD
loading, network access and huge-tree mode all off. libxml2 itself refuses nesting deeper than
256 and text nodes over 10 MB; on top of that the stream refuses any run of more than
``max_text_bytes`` bytes without a ``<`` (an over-long text node or attribute value) as soon as
it is read, so a hostile file costs a few MB at most. Every parser error becomes a
``FormatError`` naming the source and line.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, cast

from lxml import etree

from exchange_formats.errors import FormatError, UnsafeDocumentError


class Readable(Protocol):
    """A binary file object, or anything with a ``read(size)`` that returns bytes."""

    def read(self, size: int = -1, /) -> bytes: ...


Source = str | os.PathLike[str] | Readable

DEFAULT_MAX_TEXT_BYTES = 4 * 1024 * 1024  # longest text node / attribute value we accept
HEAD_BYTES = 64 * 1024  # read up front to check the prolog and the encoding
MAX_PROLOG_BYTES = 1024 * 1024  # comments/PIs before the root element, at most

_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS_REFUSED = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")

# Everything that could make the parser do more than read the bytes it is given is off.
# (Spelled out at both call sites below so that a type checker sees each keyword.)


class _LocalNames(dict[object, str]):
    """``LOCAL[tag]``: ``{urn:1C.ru:commerceml_2}Товар`` -> ``Товар``.

    A dict lookup (no Python call) once a tag has been seen: tags repeat millions of times.
    Comments and processing instructions (whose lxml ``tag`` is a function) give ``""``.
    """

    def __missing__(self, tag: object) -> str:
        name = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        self[tag] = name
        return name


LOCAL = _LocalNames()


def local_name(tag: object) -> str:
    """The local part of an element's tag (see ``LOCAL``)."""
    return LOCAL[tag]


@dataclass(frozen=True, slots=True)
class Prolog:
    encoding: str  # declared encoding, lower-case; "utf-8" when the declaration names none
    bom: bool


class _GuardedStream:
    """What lxml reads from: counts bytes and refuses over-long text as it arrives.

    "Over-long" is a run of more than ``max_text_bytes`` without a ``<`` (a text node or an
    attribute value), or a CDATA section, comment or processing instruction that long (those
    may contain ``<``). Checked per chunk, so a refusal comes at most one chunk late.
    """

    def __init__(self, raw: Readable, head: bytes, *, name: str, max_text_bytes: int) -> None:
        self._raw = raw
        self._pending = head
        self._name = name
        self._limit = max_text_bytes
        self._run = 0  # bytes since the last "<"
        self._sections = _Sections(self._check)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            chunk = self._pending if size < 0 else self._pending[:size]
            self._pending = self._pending[len(chunk) :]
        else:
            chunk = self._raw.read(size)
        self.bytes_read += len(chunk)
        self._guard(chunk)
        return chunk

    def _guard(self, chunk: bytes) -> None:
        # Runs inside one chunk are shorter than the chunk (<= 64 KiB), far below the limit;
        # only a run that spans chunks can exceed it, so two finds per chunk suffice.
        first = chunk.find(b"<")
        if first < 0:
            self._run += len(chunk)
        else:
            self._check(self._run + first)
            self._run = len(chunk) - chunk.rfind(b"<") - 1
        self._check(self._run)
        self._sections.feed(chunk)

    def _check(self, run: int) -> None:
        if run > self._limit:
            raise UnsafeDocumentError(
                f"a text node, attribute value, CDATA section or comment is longer than "
                f"{self._limit:,} bytes; refused",
                source=self._name,
            )


_SECTION_ENDS = {b"<![CDATA[": b"]]>", b"<!--": b"-->", b"<?": b"?>"}
_CARRY = 8  # bytes kept from the previous chunk so a marker split across chunks is found


class _Sections:
    """Measures CDATA sections, comments and processing instructions across chunks."""

    def __init__(self, check: Callable[[int], None]) -> None:
        self._check = check
        self._end: bytes | None = None  # the marker closing the open section, if any
        self._length = 0
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        quiet = self._end is None and not _has_marker_start(chunk)
        if quiet and not _may_start_marker(self._carry):
            # the common case, plain elements and text: nothing to measure
            self._carry = chunk[-_CARRY:] if len(chunk) >= _CARRY else self._keep(chunk)
            return
        data, skip, position = self._carry + chunk, len(self._carry), 0
        while position >= 0:
            if self._end is None:
                position = self._open(data, skip, position)
            else:
                position = self._close(data, skip, position)
        self._carry = data[-_CARRY:]

    def _keep(self, chunk: bytes) -> bytes:
        return (self._carry + chunk)[-_CARRY:]

    def _open(self, data: bytes, skip: int, position: int) -> int:
        found = [
            (start, marker)
            for marker in _SECTION_ENDS
            if (start := _find_new(data, marker, position, skip)) >= 0
        ]
        if not found:
            return -1
        start, marker = min(found)
        self._end, self._length = _SECTION_ENDS[marker], 0
        return start + len(marker)

    def _close(self, data: bytes, skip: int, position: int) -> int:
        assert self._end is not None
        end = _find_new(data, self._end, position, skip)
        if end < 0:
            self._length += len(data) - max(position, skip)
            self._check(self._length)
            return -1
        end += len(self._end)
        self._end = None
        return end


def _has_marker_start(chunk: bytes) -> bool:
    # "!" and "?" are rare, and a one-byte find is a memchr: far faster than looking for
    # "<!" directly in a chunk full of "<".
    return (b"!" in chunk and b"<!" in chunk) or (b"?" in chunk and b"<?" in chunk)


def _may_start_marker(carry: bytes) -> bool:
    """Whether the end of the previous chunk could be the start of a section marker."""
    lt = carry.rfind(b"<")
    if lt < 0:
        return False
    tail = carry[lt:]
    return any(marker.startswith(tail) for marker in _SECTION_ENDS)


def _find_new(data: bytes, marker: bytes, position: int, skip: int) -> int:
    """``data.find(marker, position)``, ignoring matches wholly inside the carried-over bytes."""
    found = data.find(marker, position)
    while found >= 0 and found + len(marker) <= skip:
        found = data.find(marker, found + 1)
    return found


class Target(Protocol):
    """What ``XmlInput.scan`` feeds: start and end tags only."""

    def start(self, tag: str, attrib: dict[str, str]) -> None: ...

    def end(self, tag: str) -> None: ...


MAX_DEPTH = 256  # libxml2's own limit when it builds a tree; a parser target must enforce it


class _DepthGuard:
    """Forwards start/end to a target, refusing nesting deeper than ``MAX_DEPTH``."""

    def __init__(self, target: Target, name: str) -> None:
        self._target = target
        self._name = name
        self._depth = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise UnsafeDocumentError(
                f"elements nested deeper than {MAX_DEPTH} (excessive depth); refused",
                source=self._name,
            )
        self._target.start(tag, attrib)

    def end(self, tag: str) -> None:
        self._depth -= 1
        self._target.end(tag)

    def close(self) -> None:
        return None


class XmlInput:
    """One document opened for safe streaming; use as a context manager or call ``close()``.

    ``source`` is a path or a binary file object (read from its current position; not closed
    here). ``name`` is what error messages call it (defaults to the path or file name).
    """

    def __init__(
        self,
        source: Source,
        *,
        name: str | None = None,
        max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
    ) -> None:
        self._raw, self._owned, self.name = _open(source, name)
        try:
            head = _read_head(self._raw, self.name)
            self.prolog = check_prolog(head, self.name)
        except BaseException:
            self.close()
            raise
        self._stream = _GuardedStream(
            self._raw, head, name=self.name, max_text_bytes=max_text_bytes
        )

    @property
    def bytes_read(self) -> int:
        """How many bytes the parser has consumed so far."""
        return self._stream.bytes_read

    def events(
        self, events: tuple[str, ...] = ("end",), tag: str | Iterable[str] | None = None
    ) -> Iterator[tuple[str, etree._Element]]:
        """Stream ``(event, element)`` pairs; the caller clears what it has used."""
        parser = etree.iterparse(
            self._stream,
            events=events,
            tag=tag,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            recover=False,
        )
        try:
            yield from parser
        except etree.XMLSyntaxError as exc:
            raise FormatError(_syntax_message(exc), source=self.name, line=exc.lineno) from exc
        except etree.LxmlError as exc:  # any other libxml2 refusal
            raise FormatError(str(exc), source=self.name) from exc

    def scan(self, target: Target, done: Callable[[], bool], chunk_size: int = 64 * 1024) -> None:
        """Feed the document to a parser ``target`` (start/end callbacks, no tree is built)
        until ``done()`` or the end of the document. Memory stays flat whatever the size."""
        guarded = _DepthGuard(target, self.name)
        parser = etree.XMLParser(
            target=cast("etree.ParserTarget", guarded),  # start/end only: no data() calls
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            recover=False,
        )
        try:
            while not done():
                chunk = self._stream.read(chunk_size)
                if not chunk:
                    parser.close()
                    return
                parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise FormatError(_syntax_message(exc), source=self.name, line=exc.lineno) from exc

    def close(self) -> None:
        if self._owned:
            self._raw.close()  # type: ignore[attr-defined]  # a file we opened

    def __enter__(self) -> XmlInput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _open(source: Source, name: str | None) -> tuple[Readable, bool, str]:
    if isinstance(source, str | os.PathLike):
        # A missing or unreadable file is an OSError, not a FormatError: it is not the bytes.
        path = os.fspath(source)
        return open(path, "rb"), True, name or path  # XmlInput.close() closes it
    return source, False, name or str(getattr(source, "name", "<stream>"))


def _read_head(raw: Readable, name: str) -> bytes:
    head = raw.read(HEAD_BYTES)
    if not isinstance(head, bytes):
        raise TypeError(f"{name}: XML must be read from a binary file, not a text file")
    _refuse_unsupported(head, name)
    while len(head) < MAX_PROLOG_BYTES and _root_offset(head, name) is None:
        more = raw.read(HEAD_BYTES)
        if not more:
            break
        head += more
    return head


def _refuse_unsupported(head: bytes, name: str) -> None:
    if not head.strip():
        raise FormatError("the file is empty", source=name)
    if head.startswith(_BOMS_REFUSED) or head[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        raise FormatError("UTF-16/UTF-32 documents are not supported", source=name)


def check_prolog(head: bytes, name: str) -> Prolog:
    """Check everything before the root element; raise before the parser sees anything."""
    _refuse_unsupported(head, name)
    bom = head.startswith(_BOM_UTF8)
    if _root_offset(head, name) is None:
        raise FormatError("no root element in the first 1 MiB", source=name, line=1)
    declared = _declared_encoding(head, name)
    encoding = declared or "utf-8"
    _check_encoding(head[3:] if bom else head, encoding, declared is not None, bom, name)
    return Prolog(encoding=encoding, bom=bom)


def _declared_encoding(head: bytes, name: str) -> str | None:
    start = 3 if head.startswith(_BOM_UTF8) else 0
    if not head.startswith(b"<?xml", start):
        return None
    end = head.find(b"?>", start)
    match = _ENCODING.search(head, start, end if end >= 0 else len(head))
    if match is None:
        return None
    declared = match.group(1).decode("ascii").lower()
    try:
        codecs.lookup(declared)
    except LookupError:
        raise FormatError(f"unknown encoding {declared!r} declared", source=name, line=1) from None
    return declared


def _check_encoding(body: bytes, encoding: str, declared: bool, bom: bool, name: str) -> None:
    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(body, final=False)  # a character cut at the end of the head is fine
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    if is_utf8 and not valid_utf8:
        how = f"declares {encoding}" if declared else "has no encoding declaration"
        raise FormatError(
            f"the document {how} but its bytes are not UTF-8 (windows-1251?)", source=name
        )
    if not is_utf8 and (bom or (valid_utf8 and not body.isascii())):
        raise FormatError(
            f"the document declares {encoding} but its bytes are UTF-8", source=name, line=1
        )


def _root_offset(head: bytes, name: str) -> int | None:
    """Offset of the root start tag, or None when the head ends first.

    Raises ``UnsafeDocumentError`` on a DOCTYPE and ``FormatError`` on text before the root.
    """
    position = 3 if head.startswith(_BOM_UTF8) else 0
    while True:
        while position < len(head) and head[position] in b" \t\r\n":
            position += 1
        if position >= len(head):
            return None
        if head.startswith(b"<!--", position):
            end = head.find(b"-->", position + 4)
            position = end + 3
        elif head.startswith(b"<?", position):
            end = head.find(b"?>", position + 2)
            position = end + 2
        elif head.startswith(b"<!", position):
            raise UnsafeDocumentError(
                "a DOCTYPE/DTD is not allowed in CommerceML; refused before parsing",
                source=name,
                line=head.count(b"\n", 0, position) + 1,
            )
        elif head.startswith(b"<", position):
            return position
        else:
            line = head.count(b"\n", 0, position) + 1
            raise FormatError("text before the root element", source=name, line=line)
        if end < 0:
            return None


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    message = str(exc.msg or exc).strip()
    return re.sub(r",? line \d+, column \d+$", "", message) or "not well-formed XML"
