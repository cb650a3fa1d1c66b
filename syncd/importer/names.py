"""File names 1C sends, made safe to write under a staging folder.

1C sends ``filename`` as it names the file on its side: ``import0_1.xml``,
``import_files/5c/5c44….jpg``, ``v8_1065_3a.zip``, but also ``C:\\v8_8789_c.xml`` (a sale file from
a Windows 1C server) or a path under its Linux temp folder. Bitrix strips ``/tmp/`` and
``upload/1c/webdata`` and turns ``\\`` into ``/`` "for 1c server on linux"; we do the same, drop a
drive letter in front of a bare file name, and refuse everything that could leave the staging folder
or be run by a web server.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from syncd.importer.errors import UnsafeNameError

MAX_NAME_LENGTH = 1024
MAX_PART_BYTES = 255  # one folder or file name (NAME_MAX of ext4, XFS, NTFS in UTF-16 units)
# Prefixes 1C on Linux puts in front of its temp files (Bitrix strips the same ones).
_STRIPPED_PREFIXES = ("/tmp/", "/var/tmp/", "upload/1c/webdata/", "upload/1c/webdata")  # noqa: S108
_DRIVE = re.compile(r"^[A-Za-z]:/?")
# What a web server may execute if the staging or media folder is ever served (Bitrix's
# HasScriptExtension list, plus Windows executables and server config files).
SCRIPT_EXTENSIONS = frozenset(
    {
        "php", "php3", "php4", "php5", "php6", "php7", "php8", "phtml", "pht", "phar", "phps",
        "pl", "py", "pyc", "cgi", "fcgi", "fcg", "fpl", "asp", "aspx", "asmx", "ascx", "ashx",
        "jsp", "jspx", "shtm", "shtml", "stm", "sh", "bash", "exe", "dll", "com", "bat", "cmd",
        "vbs", "ps1", "js", "mjs", "htm", "html", "xhtml", "svgz", "htaccess", "htpasswd",
    }
)  # fmt: skip
_FORBIDDEN_NAMES = frozenset({".htaccess", ".htpasswd", ".user.ini", "web.config"})


def sanitize_filename(raw: str) -> str:
    """The relative POSIX path to store ``raw`` under; raises ``UnsafeNameError`` with the reason.

    Keeps relative folders (``import_files/ab/x.jpg``). Refuses ``..``, NUL and control characters,
    absolute paths (after stripping 1C's temp prefixes), Windows paths with folders or UNC shares,
    script extensions and empty names.
    """
    if not raw or not raw.strip():
        raise UnsafeNameError("no file name given (filename=)")
    if len(raw) > MAX_NAME_LENGTH:
        raise UnsafeNameError(f"file name longer than {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise UnsafeNameError(f"file name {raw!r} contains control characters (NUL, ...)")
    name = raw.strip().replace("\\", "/")
    for prefix in _STRIPPED_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    name = _drop_drive(name, raw)
    if name.startswith("/"):
        raise UnsafeNameError(f"file name {raw!r} is an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts:
        raise UnsafeNameError(f"file name {raw!r} is empty")
    if ".." in parts:
        raise UnsafeNameError(f"file name {raw!r} contains '..'")
    if any(len(part.encode("utf-8")) > MAX_PART_BYTES for part in parts):
        raise UnsafeNameError(
            f"a folder or file name in {raw[:80]!r}... is longer than {MAX_PART_BYTES} bytes "
            "(what file systems allow)"
        )
    _refuse_executable(parts[-1], raw)
    return str(PurePosixPath(*parts))


def _drop_drive(name: str, raw: str) -> str:
    """``C:/v8_8789_c.xml`` -> ``v8_8789_c.xml``; a Windows path with folders is refused."""
    if name.startswith("//"):
        raise UnsafeNameError(f"file name {raw!r} is a Windows network path")
    match = _DRIVE.match(name)
    if not match:
        return name
    rest = name[match.end() :]
    if "/" in rest.strip("/"):
        raise UnsafeNameError(f"file name {raw!r} is an absolute Windows path")
    return rest


def _refuse_executable(base: str, raw: str) -> None:
    lowered = base.lower()
    if lowered in _FORBIDDEN_NAMES:
        raise UnsafeNameError(f"file name {raw!r} is a web server configuration file")
    # "x.php.jpg" is run as PHP by some Apache setups: check every dotted part, not just the last.
    for part in lowered.split(".")[1:]:
        if part in SCRIPT_EXTENSIONS:
            raise UnsafeNameError(f"file name {raw!r} has a script extension (.{part})")


IMAGE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "svg", "avif", "heic"}
)


def kind_of(name: str) -> str:
    """``zip``, ``image`` or ``xml`` (anything else is treated as a document to import)."""
    lowered = name.lower()
    extension = lowered.rsplit(".", 1)[-1] if "." in lowered.rsplit("/", 1)[-1] else ""
    if extension == "zip":
        return "zip"
    if lowered.startswith("import_files/") or extension in IMAGE_EXTENSIONS:
        return "image"
    return "xml"
