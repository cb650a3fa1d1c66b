"""A package's files, identified by content: kind, hash, size, and the order to load them in.

1C's file names vary (``import0_1.xml``, ``import___<guid>.xml``, ``v8_*.zip`` contents), so
nothing here looks at names: ``detect`` reads the head of each file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from exchange_formats.commerceml import detect
from exchange_formats.errors import FormatError
from exchange_formats.records import DocumentHeader, DocumentKind
from syncd.importer.hashing import file_sha256

# Classifier and catalog first, then offers and their split files; orders last.
KIND_ORDER = {
    DocumentKind.CATALOG: 0,
    DocumentKind.CONTRACTORS: 1,
    DocumentKind.OFFERS: 2,
    DocumentKind.OFFER_CHANGES: 3,
    DocumentKind.ORDERS: 4,
    DocumentKind.UNKNOWN: 5,
}


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path
    name: str
    sha256: str
    size: int
    header: DocumentHeader
    error: FormatError | None = None  # the file could not even be identified


def describe_files(paths: Iterable[Path]) -> list[InputFile]:
    """Hash and identify each file by content; sorted the way 1C means them to be loaded."""
    return sorted(map(describe_file, paths), key=lambda f: (KIND_ORDER[f.header.kind], f.name))


def describe_file(path: Path, name: str | None = None) -> InputFile:
    """``path`` hashed and identified; a file that cannot be identified carries its error."""
    name = name or path.name
    error: FormatError | None = None
    try:
        header = detect(path, name=name)
    except FormatError as exc:
        header, error = (
            DocumentHeader(
                source=name,
                kind=DocumentKind.UNKNOWN,
                schema_version=None,
                generated_at=None,
                namespace=None,
                encoding="",
            ),
            exc,
        )
    # A CommerceML root (it names its version or date) holding no block is an empty document, not
    # a bad one: Bitrix sends exactly that for "no orders".
    is_commerceml = header.schema_version is not None or header.generated_at is not None
    if error is None and header.kind == DocumentKind.UNKNOWN and not is_commerceml:
        error = FormatError("not a CommerceML document this importer reads", source=name, line=1)
    return InputFile(path, name, file_sha256(path), path.stat().st_size, header, error)


def package_fingerprint(files: Sequence[InputFile]) -> str:
    joined = "\n".join(sorted(f.sha256 for f in files))
    return hashlib.sha256(joined.encode()).hexdigest()
