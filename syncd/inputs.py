"""What `onec-sync import PATH...` was given, as the XML files of one package.

Files are taken as they are, folders are searched recursively for ``*.xml``, and zip archives
(1C's ``v8_*.zip``) are unpacked safely into a work folder first.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from config import Settings


class InputError(Exception):
    """A path given on the command line cannot be imported."""


@contextmanager
def package_files(paths: Sequence[Path], settings: Settings) -> Iterator[list[Path]]:
    """The XML files of ``paths``; unpacked archives are removed when the block ends."""
    work = settings.paths.data_dir / "work" / uuid.uuid4().hex
    try:
        files: list[Path] = []
        for path in paths:
            files.extend(_expand(path, work, settings))
        if not files:
            raise InputError("no XML files found in " + ", ".join(map(str, paths)))
        yield files
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _expand(path: Path, work: Path, settings: Settings) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".xml")
    if path.suffix.lower() == ".zip":
        return _unzip(path, work / path.stem, settings)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return [path]


def _unzip(archive: Path, dest: Path, settings: Settings) -> list[Path]:
    from syncd.exchange.archive import ArchiveLimits, extract_archive
    from syncd.exchange.errors import ArchiveError
    from syncd.exchange.media import MediaStore

    limits = ArchiveLimits(
        max_ratio=settings.exchange.zip_max_ratio,
        max_bytes=settings.exchange.zip_max_bytes,
        max_members=settings.exchange.zip_max_members,
    )
    try:
        extracted = extract_archive(archive, dest, limits, MediaStore(settings.paths.media_dir))
    except ArchiveError as exc:
        raise InputError(str(exc)) from exc
    return [path for _name, path, _size in extracted.documents if path.suffix.lower() == ".xml"]
