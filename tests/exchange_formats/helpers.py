"""Small CommerceML documents for reader tests, built from body text."""

from __future__ import annotations

import io
from datetime import UTC, tzinfo

from exchange_formats.commerceml import open_document
from exchange_formats.records import Record

NAMESPACES = {
    "none": None,
    "commerceml_2": "urn:1C.ru:commerceml_2",
    "commerceml_210": "urn:1C.ru:commerceml_210",
    "commerceml_3": "urn:1C.ru:commerceml_3",
}


def document(
    body: str,
    *,
    namespace: str | None = "urn:1C.ru:commerceml_2",
    version: str = "2.07",
    encoding: str = "utf-8",
    bom: bool = False,
) -> bytes:
    """``body`` inside a КоммерческаяИнформация root, encoded as declared."""
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<КоммерческаяИнформация{xmlns} ВерсияСхемы="{version}" '
        f'ДатаФормирования="2024-05-01T10:00:00">\n{body}\n</КоммерческаяИнформация>\n'
    )
    data = text.encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def read(data: bytes, *, name: str = "test.xml", tz: tzinfo = UTC) -> list[Record]:
    return list(open_document(io.BytesIO(data), name=name, tz=tz).records())
