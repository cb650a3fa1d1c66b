"""Safe extraction of the zip archives 1C uploads (``zip=yes``).

1C sends one archive per XML file (``v8_1065_3a.zip``), possibly in several chunks, holding the
XML and its ``import_files/`` images. Before a single byte is written every member is checked:
its name (no ``..``, no absolute path, no script), its kind (no symlink, no encryption) and the
sizes the archive declares (members, total, compression ratio). While extracting, the real byte
counts are enforced again, because a header can lie. Documents land in the session's staging
folder; images go straight into the content-addressed media store. On any problem nothing of the
archive is left in the staging folder and ``ArchiveError`` says why; the archive itself is kept.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from syncd.importer.errors import ArchiveError, UnsafeNameError
from syncd.importer.media import MediaEntry, MediaStore
from syncd.importer.names import kind_of, sanitize_filename

_PIECE = 1024 * 1024
# Ratios are only meaningful on enough bytes: a 2 KB XML may well compress 200 times.
_RATIO_FLOOR = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_ratio: int
    max_bytes: int
    max_members: int


@dataclass(slots=True)
class Extracted:
    """What one archive held: documents written under the staging folder, images stored."""

    documents: list[tuple[str, Path, int]] = field(default_factory=list)  # name, path, size
    images: list[MediaEntry] = field(default_factory=list)


def extract_archive(
    archive: Path, dest: Path, limits: ArchiveLimits, media: MediaStore
) -> Extracted:
    """Unpack ``archive`` (named as uploaded) into ``dest`` and ``media``; see the module doc."""
    label = archive.name
    try:
        with zipfile.ZipFile(archive) as zf:
            members = list(_checked_members(zf, label, archive.stat().st_size, limits))
            return _extract(zf, members, dest, limits, media, label)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise ArchiveError(
            f"{label}: not a complete zip archive (truncated or corrupt upload?): {exc}"
        ) from exc
    except NotImplementedError as exc:  # unsupported compression method
        raise ArchiveError(f"{label}: {exc}") from exc


def _checked_members(
    zf: zipfile.ZipFile, label: str, archive_size: int, limits: ArchiveLimits
) -> Iterator[tuple[zipfile.ZipInfo, str]]:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveError(
            f"{label}: {len(infos)} members, more than exchange.zip_max_members "
            f"({limits.max_members})"
        )
    total, seen = 0, set()
    for info in infos:
        if info.is_dir():
            continue
        name = _member_name(info, label)
        if name in seen:
            raise ArchiveError(f"{label}: member {name!r} appears twice")
        seen.add(name)
        _check_ratio(info, label, limits)
        total += info.file_size
        if total > limits.max_bytes:
            raise ArchiveError(
                f"{label}: expands to more than exchange.zip_max_bytes ({limits.max_bytes} bytes)"
            )
        yield info, name
    if total > _RATIO_FLOOR and total > limits.max_ratio * max(archive_size, 1):
        raise ArchiveError(
            f"{label}: expands {total // max(archive_size, 1)} times, more than "
            f"exchange.zip_max_ratio ({limits.max_ratio}); refused as a zip bomb"
        )


def _member_name(info: zipfile.ZipInfo, label: str) -> str:
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{label}: member {info.filename!r} is encrypted")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError(f"{label}: member {info.filename!r} is a symbolic link")
    try:
        return sanitize_filename(info.filename)
    except UnsafeNameError as exc:
        raise ArchiveError(f"{label}: refused member: {exc}") from exc


def _check_ratio(info: zipfile.ZipInfo, label: str, limits: ArchiveLimits) -> None:
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        raise ArchiveError(
            f"{label}: member {info.filename!r} expands "
            f"{info.file_size // max(info.compress_size, 1)} times, more than "
            f"exchange.zip_max_ratio ({limits.max_ratio}); refused as a zip bomb"
        )


def _extract(
    zf: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, str]],
    dest: Path,
    limits: ArchiveLimits,
    media: MediaStore,
    label: str,
) -> Extracted:
    result = Extracted()
    written: list[Path] = []
    budget = _Budget(limits.max_bytes, label)
    try:
        for info, name in members:
            with zf.open(info) as source:
                reader = _CountingReader(source, info, budget, label)
                if kind_of(name) == "image":
                    blob = media.put_stream(reader)
                    result.images.append(MediaEntry(name, blob))
                    continue
                target = dest / name
                written.append(target)
                result.documents.append((name, target, _write(reader, target)))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return result


def _write(reader: _CountingReader, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as out:
        while piece := reader.read(_PIECE):
            out.write(piece)
            size += len(piece)
    return size


class _Budget:
    """Real bytes extracted so far, against ``zip_max_bytes``."""

    def __init__(self, limit: int, label: str) -> None:
        self.limit, self.used, self.label = limit, 0, label

    def spend(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise ArchiveError(
                f"{self.label}: expands to more than exchange.zip_max_bytes ({self.limit} bytes)"
            )


class _CountingReader:
    """A member's bytes, refusing more than its header declared (a lying header is a bomb)."""

    def __init__(self, source: IO[bytes], info: zipfile.ZipInfo, budget: _Budget, label: str):
        self._source, self._info, self._budget, self._label = source, info, budget, label
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        piece = self._source.read(_PIECE if size < 0 else size)
        self._count += len(piece)
        if self._count > self._info.file_size:
            raise ArchiveError(
                f"{self._label}: member {self._info.filename!r} holds more bytes than declared"
            )
        self._budget.spend(len(piece))
        return piece
