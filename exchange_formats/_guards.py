"""Guards between the raw bytes and the parser: sizes and depths a hostile file cannot exceed.

``GuardedStream`` is what lxml reads from: it counts bytes (for progress) and refuses, as they
arrive, any text node or attribute value longer than a limit (a run without ``<``) and any CDATA
section, comment or processing instruction that long. ``DepthGuard`` wraps a parser target
(which libxml2 does not depth-limit) and refuses nesting deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from exchange_formats.errors import UnsafeDocumentError


class Readable(Protocol):
    """A binary file object, or anything with a ``read(size)`` that returns bytes."""

    def read(self, size: int = -1, /) -> bytes: ...


class GuardedStream:
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


class DepthGuard:
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
