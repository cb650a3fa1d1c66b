"""The prolog of a document - everything before its root element - checked before parsing.

* a ``<!DOCTYPE`` (hence any DTD, entity declaration, billion laughs, external entity) is
  refused at once with ``UnsafeDocumentError``;
* the XML declaration's encoding must match the bytes: a document declared windows-1251 whose
  head is valid UTF-8 (or declared/implied UTF-8 whose head is not) is refused with
  ``FormatError``, instead of being read as mojibake;
* UTF-16/32 are refused (1C never writes them).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from exchange_formats._guards import Readable
from exchange_formats.errors import FormatError, UnsafeDocumentError

HEAD_BYTES = 64 * 1024  # read up front to check the prolog and the encoding
MAX_PROLOG_BYTES = 1024 * 1024  # comments/PIs before the root element, at most

_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS_REFUSED = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


@dataclass(frozen=True, slots=True)
class Prolog:
    encoding: str  # declared encoding, lower-case; "utf-8" when the declaration names none
    bom: bool


def read_head(raw: Readable, name: str) -> bytes:
    """The first bytes of a document, at least up to its root element (at most ~1 MiB)."""
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
