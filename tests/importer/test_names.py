"""File names 1C sends are kept relative and harmless, or refused with the reason."""

from __future__ import annotations

import pytest

from syncd.importer.errors import UnsafeNameError
from syncd.importer.names import sanitize_filename


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("import0_1.xml", "import0_1.xml"),
        ("import_files/5c/5c44a0_5c44b1.jpg", "import_files/5c/5c44a0_5c44b1.jpg"),
        ("import_files\\5c\\5c44.jpg", "import_files/5c/5c44.jpg"),
        ("v8_1065_3a.zip", "v8_1065_3a.zip"),
        ("C:\\v8_8789_c.xml", "v8_8789_c.xml"),  # a sale file from 1C on Windows
        ("/tmp/v8_1A2B_1.xml", "v8_1A2B_1.xml"),  # 1C on Linux names its temp file
        ("upload/1c/webdata/import.xml", "import.xml"),
        ("./offers0_1.xml", "offers0_1.xml"),
        ("import___b815e2db-7a65.xml", "import___b815e2db-7a65.xml"),
        ("Каталог/товары.xml", "Каталог/товары.xml"),
    ],
)
def test_names_1c_really_sends_are_stored_relative(raw: str, stored: str) -> None:
    assert sanitize_filename(raw) == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../import.xml", "'..'"),
        ("import_files/../../etc/passwd", "'..'"),
        ("..\\..\\boot.ini", "'..'"),
        ("/etc/passwd", "absolute path"),
        ("C:\\Windows\\win.ini", "absolute Windows path"),
        ("\\\\server\\share\\import.xml", "network path"),
        ("import\x00.xml", "control characters"),
        ("shell.php", "script extension"),
        ("shell.php.jpg", "script extension"),
        ("import_files/x.phtml", "script extension"),
        (".htaccess", "web server configuration"),
        ("", "no file name"),
        ("   ", "no file name"),
        ("/tmp/", "empty"),
    ],
)
def test_dangerous_names_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(UnsafeNameError, match=reason.replace(".", r"\.")):
        sanitize_filename(raw)
