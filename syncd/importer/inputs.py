"""What an import was given (files, folders, 1C's zip archives) as the XML files of one package.

Folders are searched recursively for ``*.xml``; zip archives (``v8_*.zip``) are unpacked safely
into a work folder (the exchange's extractor: name, size and ratio checks). Images found under
``import_files/`` in either are stored content-addressed and recorded in ``media_files`` the way
the HTTP exchange stores them; a user's own files are copied, never moved.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config import Settings
from syncd.importer.archive import ArchiveLimits, extract_archive
from syncd.importer.errors import ArchiveError
from syncd.importer.media import MediaEntry, MediaStore, record_media

IMAGES_DIR = "import_files"


class InputError(Exception):
    """A path given to the import cannot be imported."""


@contextmanager
def package_files(
    paths: Sequence[Path], settings: Settings, engine: Engine
) -> Iterator[list[Path]]:
    """The XML files of ``paths``; unpacked archives are removed when the block ends."""
    work = settings.paths.data_dir / "work" / uuid.uuid4().hex
    media = MediaStore(settings.paths.media_dir)
    try:
        documents: list[Path] = []
        images: list[MediaEntry] = []
        for path in paths:
            found, stored = _expand(path, work, settings, media)
            documents.extend(found)
            images.extend(stored)
        if not documents:
            raise InputError("no XML files found in " + ", ".join(map(str, paths)))
        if images:
            with Session(engine) as session:
                record_media(session, images)
                session.commit()
        yield documents
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _expand(
    path: Path, work: Path, settings: Settings, media: MediaStore
) -> tuple[list[Path], list[MediaEntry]]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        documents = [p for p in files if p.suffix.lower() == ".xml"]
        images = [_store(p, path, media) for p in files if IMAGES_DIR in p.relative_to(path).parts]
        return documents, images
    if path.suffix.lower() == ".zip":
        return _unzip(path, work / uuid.uuid4().hex, settings, media)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return [path], []


def _store(image: Path, root: Path, media: MediaStore) -> MediaEntry:
    with image.open("rb") as stream:
        blob = media.put_stream(stream)
    return MediaEntry(path=image.relative_to(root).as_posix(), blob=blob)


def _unzip(
    archive: Path, dest: Path, settings: Settings, media: MediaStore
) -> tuple[list[Path], list[MediaEntry]]:
    limits = ArchiveLimits(
        max_ratio=settings.exchange.zip_max_ratio,
        max_bytes=settings.exchange.zip_max_bytes,
        max_members=settings.exchange.zip_max_members,
    )
    try:
        extracted = extract_archive(archive, dest, limits, media)
    except ArchiveError as exc:
        raise InputError(str(exc)) from exc
    documents = [
        path for _name, path, _size in extracted.documents if path.suffix.lower() == ".xml"
    ]
    return documents, extracted.images
