"""Which documents each exchange type takes: a document of the wrong kind is a failure with the
reason, never a ``success`` for work not done.

``type=catalog`` takes catalogs, offers, offer changes (and contractors); ``type=sale`` takes
orders. The kind is read from the document's head (``exchange_formats.commerceml.header``),
never from its file name.
"""

from __future__ import annotations

from pathlib import Path

from exchange_formats.commerceml.header import detect
from exchange_formats.errors import FormatError
from exchange_formats.records import DocumentKind

_REFUSED = {
    "catalog": frozenset({DocumentKind.ORDERS}),
    "sale": frozenset(set(DocumentKind) - {DocumentKind.ORDERS, DocumentKind.UNKNOWN}),
}
_WHERE = {
    DocumentKind.ORDERS: "type=sale",
    DocumentKind.CATALOG: "type=catalog",
    DocumentKind.OFFERS: "type=catalog",
    DocumentKind.OFFER_CHANGES: "type=catalog",
    DocumentKind.CONTRACTORS: "type=catalog",
}


def wrong_kind(path: Path, *, name: str, exchange_type: str) -> str | None:
    """Why the XML document at ``path`` does not belong to ``exchange_type`` (None: it does, or
    it is no readable CommerceML; the import itself then says what is wrong with it)."""
    if path.suffix.lower() != ".xml":
        return None
    try:
        kind = detect(path, name=name).kind
    except (FormatError, OSError):
        return None
    if kind not in _REFUSED.get(exchange_type, frozenset()):
        return None
    return (
        f"{name}: a document of {kind.value} sent with type={exchange_type}; "
        f"nothing was imported: 1C sends it with {_WHERE.get(kind, 'another type')}"
    )
