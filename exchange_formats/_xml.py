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
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

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

# Everything that could make the parser do more than read the bytes it is given.
_SAFE_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "recover": False,
}

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
    """What lxml reads from: counts bytes and refuses over-long runs of text as they arrive."""

    def __init__(self, raw: Readable, head: bytes, *, name: str, max_text_bytes: int) -> None:
        self._raw = raw
        self._pending = head
        self._name = name
        self._limit = max_text_bytes
        self._run = 0  # bytes since the last "<"
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

    def _check(self, run: int) -> None:
        if run > self._limit:
            raise UnsafeDocumentError(
                f"a text node or attribute value is longer than {self._limit:,} bytes; refused",
                source=self._name,
            )


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
        parser = etree.iterparse(self._stream, events=events, tag=tag, **_SAFE_OPTIONS)
        try:
            yield from parser
        except etree.XMLSyntaxError as exc:
            raise FormatError(_syntax_message(exc), source=self.name, line=exc.lineno) from exc
        except etree.LxmlError as exc:  # any other libxml2 refusal
            raise FormatError(str(exc), source=self.name) from exc

    def scan(self, target: object, done: Callable[[], bool], chunk_size: int = 64 * 1024) -> None:
        """Feed the document to a parser ``target`` (start/end callbacks, no tree is built)
        until ``done()`` or the end of the document. Memory stays flat whatever the size."""
        parser = etree.XMLParser(target=target, **_SAFE_OPTIONS)
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
        path = os.fspath(source)
        try:
            return open(path, "rb"), True, name or path  # noqa: SIM115 - closed by XmlInput
        except OSError as exc:
            raise FormatError(f"cannot open: {exc.strerror}", source=name or path) from exc
    if isinstance(source, io.TextIOBase):
        raise TypeError("XML must be read from a binary file, not a text file")
    return source, False, name or str(getattr(source, "name", "<stream>"))


def _read_head(raw: Readable, name: str) -> bytes:
    head = raw.read(HEAD_BYTES)
    if not isinstance(head, bytes):
        raise TypeError(f"{name}: XML must be read from a binary file, not a text file")
    while len(head) < MAX_PROLOG_BYTES and _root_offset(head, name) is None:
        more = raw.read(HEAD_BYTES)
        if not more:
            break
        head += more
    return head


def check_prolog(head: bytes, name: str) -> Prolog:
    """Check everything before the root element; raise before the parser sees anything."""
    if not head.strip():
        raise FormatError("the file is empty", source=name)
    if head.startswith(_BOMS_REFUSED) or head[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        raise FormatError("UTF-16/UTF-32 documents are not supported", source=name)
    bom = head.startswith(_BOM_UTF8)
    if _root_offset(head, name) is None:
        raise FormatError("no root element in the first 1 MiB", source=name, line=1)
    encoding = _declared_encoding(head, name)
    _check_encoding(head[3:] if bom else head, encoding, bom, name)
    return Prolog(encoding=encoding, bom=bom)


def _declared_encoding(head: bytes, name: str) -> str:
    start = 3 if head.startswith(_BOM_UTF8) else 0
    if not head.startswith(b"<?xml", start):
        return "utf-8"
    end = head.find(b"?>", start)
    match = _ENCODING.search(head, start, end if end >= 0 else len(head))
    if match is None:
        return "utf-8"
    declared = match.group(1).decode("ascii").lower()
    try:
        codecs.lookup(declared)
    except LookupError:
        raise FormatError(f"unknown encoding {declared!r} declared", source=name, line=1) from None
    return declared


def _check_encoding(body: bytes, encoding: str, bom: bool, name: str) -> None:
    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(body, final=False)  # a character cut at the end of the head is fine
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    if is_utf8 and not valid_utf8:
        how = "declares UTF-8" if b"encoding" in body[:200] else "has no encoding declaration"
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
