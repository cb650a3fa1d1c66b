"""Zip archives from 1C are unpacked safely, or refused whole with the reason."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from syncd.importer.archive import ArchiveLimits, extract_archive
from syncd.importer.errors import ArchiveError
from syncd.importer.media import MediaStore

LIMITS = ArchiveLimits(max_ratio=200, max_bytes=50 * 1024 * 1024, max_members=100)
XML = '<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация/>'.encode()


def make_zip(path: Path, members: dict[str, bytes], **kwargs: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def test_documents_land_in_staging_and_images_in_the_media_store(
    tmp_path: Path, media: MediaStore
) -> None:
    archive = make_zip(
        tmp_path / "v8_1065_3a.zip",
        {"import0_1.xml": XML, "import_files/ab/ab12.jpg": b"\xff\xd8jpeg"},
    )
    dest = tmp_path / "staging"
    extracted = extract_archive(archive, dest, LIMITS, media)
    assert [(name, size) for name, _, size in extracted.documents] == [("import0_1.xml", len(XML))]
    assert (dest / "import0_1.xml").read_bytes() == XML
    assert not (dest / "import_files").exists()
    [image] = extracted.images
    assert image.path == "import_files/ab/ab12.jpg"
    assert media.path_of(image.blob.sha256).read_bytes() == b"\xff\xd8jpeg"


def test_a_resent_image_costs_no_new_bytes(tmp_path: Path, media: MediaStore) -> None:
    members = {"import.xml": XML, "import_files/x.png": b"\x89PNG same bytes"}
    first = extract_archive(make_zip(tmp_path / "a.zip", members), tmp_path / "s1", LIMITS, media)
    again = extract_archive(make_zip(tmp_path / "b.zip", members), tmp_path / "s2", LIMITS, media)
    assert first.images[0].blob.new
    assert not again.images[0].blob.new
    stored = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert len(stored) == 1


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../evil.xml", "'..'"),
        ("import_files/../../evil.xml", "'..'"),
        ("/etc/cron.d/evil", "absolute path"),
        ("C:\\Windows\\evil.xml", "absolute Windows path"),
        ("import_files/shell.php", "script extension"),
    ],
)
def test_an_archive_with_a_dangerous_member_is_refused_whole(
    tmp_path: Path, media: MediaStore, member: str, reason: str
) -> None:
    archive = make_zip(tmp_path / "bad.zip", {"import.xml": XML, member: b"x"})
    dest = tmp_path / "staging"
    with pytest.raises(ArchiveError, match=reason):
        extract_archive(archive, dest, LIMITS, media)
    assert not dest.exists() or not any(dest.rglob("*"))
    assert not (tmp_path / "evil.xml").exists()
    assert archive.exists()


def test_a_zip_bomb_is_refused_by_ratio_before_anything_is_written(
    tmp_path: Path, media: MediaStore
) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"import.xml": b"\0" * (20 * 1024 * 1024)})
    assert archive.stat().st_size < 100 * 1024
    with pytest.raises(ArchiveError, match="zip_max_ratio"):
        extract_archive(archive, tmp_path / "staging", LIMITS, media)
    assert not (tmp_path / "staging").exists()


def test_an_archive_expanding_past_the_size_limit_is_refused(
    tmp_path: Path, media: MediaStore
) -> None:
    small = ArchiveLimits(max_ratio=10_000, max_bytes=1024 * 1024, max_members=100)
    archive = make_zip(tmp_path / "big.zip", {"a.xml": b"a" * 700_000, "b.xml": b"b" * 700_000})
    with pytest.raises(ArchiveError, match="zip_max_bytes"):
        extract_archive(archive, tmp_path / "staging", small, media)


def test_an_archive_with_too_many_members_is_refused(tmp_path: Path, media: MediaStore) -> None:
    few = ArchiveLimits(max_ratio=200, max_bytes=10**9, max_members=3)
    archive = make_zip(tmp_path / "many.zip", {f"import_files/{i}.jpg": b"x" for i in range(5)})
    with pytest.raises(ArchiveError, match="zip_max_members"):
        extract_archive(archive, tmp_path / "staging", few, media)


def test_a_truncated_upload_is_refused_as_incomplete(tmp_path: Path, media: MediaStore) -> None:
    whole = make_zip(tmp_path / "whole.zip", {"import.xml": XML * 1000})
    truncated = tmp_path / "v8_cut.zip"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ArchiveError, match="not a complete zip archive"):
        extract_archive(truncated, tmp_path / "staging", LIMITS, media)
    assert truncated.exists()


def test_a_member_whose_header_lies_about_its_size_is_refused(
    tmp_path: Path, media: MediaStore
) -> None:
    data = b"<x>" + b"a" * 5000 + b"</x>"
    archive = make_zip(tmp_path / "liar.zip", {"import.xml": data})
    raw = bytearray(archive.read_bytes())
    # Shrink the declared size in the central directory (the local header is not consulted).
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError):
        extract_archive(archive, tmp_path / "staging", LIMITS, media)
    assert not (tmp_path / "staging" / "import.xml").exists()


def test_a_symbolic_link_member_is_refused(tmp_path: Path, media: MediaStore) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("import_files/link.jpg")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    path = tmp_path / "link.zip"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ArchiveError, match="symbolic link"):
        extract_archive(path, tmp_path / "staging", LIMITS, media)
