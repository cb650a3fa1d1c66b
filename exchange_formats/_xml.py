"""The one safe, streaming way to read XML: every reader in this package parses through here.

``XmlInput(source, name=...)`` opens a path or binary file and checks its prolog
(``exchange_formats._prolog``: DOCTYPEs refused, the declared encoding must match the bytes)
before a single byte reaches the parser. ``XmlInput.events(...)`` then streams lxml
``iterparse`` events with entity resolution, DTD loading, network access and huge-tree mode all
off; ``XmlInput.scan(...)`` feeds a start/end parser target without building a tree. libxml2
refuses nesting deeper than 256 and text nodes over 10 MB; on top of that the guards
(``exchange_formats._guards``) refuse over-long text, attribute values, CDATA, comments and
deep nesting as the bytes arrive, so a hostile file costs a few MB at most. Every parser error
becomes a ``FormatError`` naming the source and line. This is the only module that asks lxml to
read anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import cast

from lxml import etree

from exchange_formats._guards import DepthGuard, GuardedStream, Readable, Target
from exchange_formats._prolog import Prolog, check_prolog, read_head
from exchange_formats.errors import FormatError

__all__ = [
    "DEFAULT_MAX_TEXT_BYTES",
    "LOCAL",
    "Prolog",
    "Readable",
    "Source",
    "Target",
    "XmlInput",
    "local_name",
]

Source = str | os.PathLike[str] | Readable

DEFAULT_MAX_TEXT_BYTES = 4 * 1024 * 1024  # longest text node / attribute value we accept


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
    """The local part of an element's tag (``LOCAL[tag]``; used by the OData metadata reader)."""
    return LOCAL[tag]


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
            head = read_head(self._raw, self.name)
            self.prolog = check_prolog(head, self.name)
        except BaseException:
            self.close()
            raise
        self._stream = GuardedStream(self._raw, head, name=self.name, max_text_bytes=max_text_bytes)

    @property
    def bytes_read(self) -> int:
        """How many bytes the parser has consumed so far."""
        return self._stream.bytes_read

    def events(
        self, events: tuple[str, ...] = ("end",), tag: str | Iterable[str] | None = None
    ) -> Iterator[tuple[str, etree._Element]]:
        """Stream ``(event, element)`` pairs; the caller clears what it has used."""
        # Everything that could make the parser do more than read the bytes it is given is off
        # (spelled out at both call sites so that a type checker sees each keyword).
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
        guarded = DepthGuard(target, self.name)
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


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    message = str(exc.msg or exc).strip()
    return re.sub(r",? line \d+, column \d+$", "", message) or "not well-formed XML"
