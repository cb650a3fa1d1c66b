"""Hostile and broken inputs are refused with FormatError, quickly and in a few MB.

The timeouts are a safety net against hangs, not performance assertions. Memory is checked in a
child process (its own peak RSS) for the inputs that try to make the parser hold a lot.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator

import pytest

from exchange_formats.commerceml import detect, open_document, read_orders
from exchange_formats.errors import FormatError, UnsafeDocumentError

ROOT_OPEN = '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.07">'
ROOT_CLOSE = "</КоммерческаяИнформация>"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<КоммерческаяИнформация><Каталог><Товары><Товар><Ид>1</Ид><Наименование>&lol9;</Наименование>
</Товар></Товары></Каталог></КоммерческаяИнформация>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<КоммерческаяИнформация><Каталог><Товары><Товар><Ид>&x;</Ид></Товар></Товары></Каталог>
</КоммерческаяИнформация>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE КоммерческаяИнформация SYSTEM "http://127.0.0.1:9/evil.dtd">
<КоммерческаяИнформация/>"""

DTD_AFTER_LONG_PROLOG = (
    '<?xml version="1.0"?>\n<!--' + "x" * 200_000 + '-->\n<!DOCTYPE r SYSTEM "x.dtd"><r/>'
)

Reader = Callable[[bytes], object]


def _records(data: bytes) -> object:
    return list(open_document(io.BytesIO(data), name="hostile.xml").records())


def _orders(data: bytes) -> object:
    return list(read_orders(io.BytesIO(data), name="hostile.xml"))


def _detect(data: bytes) -> object:
    return detect(io.BytesIO(data), name="hostile.xml")


READERS = {"records": _records, "orders": _orders, "detect": _detect}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, DTD_AFTER_LONG_PROLOG],
    ids=["billion-laughs", "external-entity", "external-dtd", "dtd-after-long-prolog"],
)
def test_any_doctype_is_refused_before_parsing(reader: str, data: str) -> None:
    with pytest.raises(UnsafeDocumentError, match="DOCTYPE") as caught:
        READERS[reader](data.encode())
    assert caught.value.source == "hostile.xml"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", READERS)
def test_deep_nesting_is_refused(reader: str) -> None:
    # inside a Классификатор, which detect has to read through to find the document's kind
    deep = "<a>" * 10_000 + "</a>" * 10_000
    data = ROOT_OPEN + f"<Классификатор>{deep}</Классификатор><Каталог/>" + ROOT_CLOSE
    with pytest.raises(FormatError, match="depth"):
        READERS[reader](data.encode())


@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", ["records", "orders"])
def test_a_truncated_file_is_an_error_with_its_line(reader: str) -> None:
    data = (ROOT_OPEN + "\n<Каталог><Товары>\n<Товар><Ид>1</Ид><Наименование>ab").encode()
    with pytest.raises(FormatError) as caught:
        READERS[reader](data)
    assert caught.value.line == 4
    assert caught.value.source == "hostile.xml"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            (
                '<?xml version="1.0" encoding="windows-1251"?>' + "<КоммерческаяИнформация/>"
            ).encode(),
            "declares windows-1251 but its bytes are UTF-8",
        ),
        (
            ('<?xml version="1.0" encoding="UTF-8"?>' + "<КоммерческаяИнформация/>").encode(
                "cp1251"
            ),
            "declares utf-8 but its bytes are not UTF-8",
        ),
        (
            "<КоммерческаяИнформация/>".encode("cp1251"),
            "has no encoding declaration but its bytes are not UTF-8",
        ),
        (
            b"\xef\xbb\xbf" + b'<?xml version="1.0" encoding="windows-1251"?><r/>',
            "declares windows-1251 but its bytes are UTF-8",
        ),
        ("<r/>".encode("utf-16"), "UTF-16"),
        (b"", "empty"),
        (b"PK\x03\x04\x14\x00\x00\x00", "text before the root element"),
        (b'<?xml version="1.0" encoding="x-nonsense"?><r/>', "unknown encoding"),
    ],
    ids=[
        "1251-declared-utf8-bytes",
        "utf8-declared-1251-bytes",
        "undeclared-1251-bytes",
        "bom-with-1251-declaration",
        "utf16",
        "empty",
        "zip-not-xml",
        "unknown-encoding",
    ],
)
def test_wrong_encodings_and_non_xml_are_refused(reader: str, data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        READERS[reader](data)


@pytest.mark.timeout(10)
def test_bad_bytes_after_the_head_are_an_error_with_their_line() -> None:
    padding = "<Группа><Ид>x</Ид><Наименование>y</Наименование></Группа>\n" * 2000
    body = (
        "<Классификатор><Группы>\n"
        + padding
        + "<Группа><Ид>Ошибка</Ид></Группа></Группы></Классификатор>"
    )
    data = (
        (ROOT_OPEN + body + ROOT_CLOSE)
        .encode("utf-8")
        .replace("Ошибка".encode(), "Ошибка".encode("cp1251"))
    )
    with pytest.raises(FormatError, match=r"(?i)bytes|encoding|utf-8") as caught:
        _records(data)
    assert caught.value.line == 2003


@pytest.mark.timeout(10)
def test_an_undefined_entity_is_an_error() -> None:
    data = (ROOT_OPEN + "<Каталог><Ид>&nbsp;</Ид></Каталог>" + ROOT_CLOSE).encode()
    with pytest.raises(FormatError, match="nbsp"):
        _records(data)


# --- huge inputs: checked in a child process for time and memory ----------------------------

_CHILD = textwrap.dedent(
    """
    import io, json, resource, sys
    from exchange_formats.commerceml import open_document
    from exchange_formats.errors import FormatError

    class Lazy(io.RawIOBase):
        # head + body * count + tail, produced as read: the test never holds it all
        def __init__(self, head, body, count, tail):
            self.parts = iter([head] + [body] * count + [tail])
            self.pending = b""
        def readable(self):
            return True
        def readinto(self, buffer):
            while not self.pending:
                self.pending = next(self.parts, None)
                if self.pending is None:
                    return 0
            n = min(len(buffer), len(self.pending))
            buffer[:n] = self.pending[:n]
            self.pending = self.pending[n:]
            return n

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    head, body, count, tail = json.loads(sys.argv[1])
    small = io.BytesIO((head + tail).encode())
    try:
        list(open_document(small).records())
    except FormatError:
        pass
    before = peak()
    stream = io.BufferedReader(Lazy(head.encode(), body.encode(), count, tail.encode()))
    try:
        list(open_document(stream, name="huge.xml").records())
        outcome = "read"
    except FormatError as exc:
        outcome = type(exc).__name__ + ": " + str(exc)
    print(json.dumps({"outcome": outcome, "growth_mb": peak() - before}))
    """
)


def _huge(head: str, body: str, count: int, tail: str) -> Iterator[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([head, body, count, tail])],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    yield json.loads(result.stdout)


HUGE = {
    # 50 MB of text in one node
    "text-node": (
        ROOT_OPEN + "<Каталог><Описание>",
        "x" * 1024,
        50 * 1024,
        "</Описание></Каталог>" + ROOT_CLOSE,
    ),
    # 50 MB in one attribute value
    "attribute": (ROOT_OPEN + '<Каталог Ид="', "y" * 1024, 50 * 1024, '"/>' + ROOT_CLOSE),
    # 50 MB of CDATA with markup-like text inside
    "cdata": (
        ROOT_OPEN + "<Каталог><Описание><![CDATA[",
        "<p>" * 340,
        50 * 1024,
        "]]></Описание></Каталог>" + ROOT_CLOSE,
    ),
    # a 50 MB comment
    "comment": (ROOT_OPEN + "<Каталог><!--", "<a>" * 340, 50 * 1024, "--></Каталог>" + ROOT_CLOSE),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", HUGE)
def test_a_50_mb_node_is_refused_in_a_few_mb(shape: str) -> None:
    [result] = list(_huge(*HUGE[shape]))
    assert str(result["outcome"]).startswith("UnsafeDocumentError"), result
    assert float(result["growth_mb"]) < 16, result  # type: ignore[arg-type]


def test_cdata_comments_and_instructions_of_normal_size_read_fine() -> None:
    body = (
        "<!-- a comment with <markup> -->\n<?pi data?>"
        "<Каталог><Товары><Товар><Ид>1</Ид><Наименование><![CDATA[A <b>bold</b> name]]>"
        "</Наименование></Товар></Товары></Каталог>"
    )
    [product] = _records((ROOT_OPEN + body * 1 + ROOT_CLOSE).encode())
    assert product.name == "A <b>bold</b> name"  # type: ignore[attr-defined]


class _Trickle(io.RawIOBase):
    """Hands out a few bytes per read, so every marker gets split across reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.position = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.data[self.position : self.position + self.step]
        self.position += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 13])
def test_the_length_guard_sees_markers_split_across_reads(step: int) -> None:
    sections = "<!-- <x> -->" + "<![CDATA[<y>]]>" + "<?pi <z>?>"
    ok = (ROOT_OPEN + "<Каталог>" + sections * 50 + "</Каталог>" + ROOT_CLOSE).encode()
    doc = open_document(_Trickle(ok, step), max_text_bytes=64)
    assert list(doc.records()) == []

    long_cdata = "<![CDATA[" + "<a>" * 100 + "]]>"
    bad = (ROOT_OPEN + "<Каталог>" + sections + long_cdata + "</Каталог>" + ROOT_CLOSE).encode()
    with pytest.raises(UnsafeDocumentError):
        list(open_document(_Trickle(bad, step), max_text_bytes=64).records())
