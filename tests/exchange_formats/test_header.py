"""What a file is comes from its content: detect reads only as far as it must."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from exchange_formats.commerceml import detect, open_document
from exchange_formats.records import DocumentKind, Product

from .helpers import document

MOSCOW = ZoneInfo("Europe/Moscow")
STUB_CLASSIFIER = "<Классификатор><Ид>C</Ид><Наименование>Каталог</Наименование></Классификатор>"
BIG_CLASSIFIER = (
    "<Классификатор><Группы>"
    + "<Группа><Ид>G</Ид><Наименование>g</Наименование></Группа>" * 20_000
    + "</Группы></Классификатор>"
)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (STUB_CLASSIFIER + "<Каталог><Товары/></Каталог>", DocumentKind.CATALOG),
        (BIG_CLASSIFIER, DocumentKind.CATALOG),
        (
            STUB_CLASSIFIER + '<ПакетПредложений СодержитТолькоИзменения="true"/>',
            DocumentKind.OFFERS,
        ),
        ("<ПакетПредложений/>" + BIG_CLASSIFIER, DocumentKind.OFFERS),
        ("<ИзмененияПакетаПредложений/>", DocumentKind.OFFER_CHANGES),
        ("<Документ><Ид>1</Ид></Документ>", DocumentKind.ORDERS),
        ("<Контейнер><Документ/></Контейнер>", DocumentKind.ORDERS),
        ('<Контрагенты СодержитТолькоИзменения="true"/>', DocumentKind.CONTRACTORS),
        ("", DocumentKind.UNKNOWN),
        ("<ПользовательскиеСправочники/>", DocumentKind.UNKNOWN),
    ],
    ids=[
        "catalog",
        "classifier-only",
        "offers-after-stub-classifier",
        "offers-before-classifier",
        "offer-changes",
        "orders",
        "orders-in-containers",
        "contractors",
        "empty-root",
        "reference-books",
    ],
)
def test_the_kind_comes_from_the_content(body: str, kind: DocumentKind) -> None:
    header = detect(io.BytesIO(document(body)), name="v8_1065_3a.xml")
    assert header.kind == kind
    assert header.source == "v8_1065_3a.xml"


def test_the_header_states_version_time_namespace_encoding_and_flag() -> None:
    data = document(
        STUB_CLASSIFIER + '<ПакетПредложений СодержитТолькоИзменения="true"/>',
        namespace="urn:1C.ru:commerceml_210",
        version="2.08",
        encoding="windows-1251",
    )
    header = detect(io.BytesIO(data), tz=MOSCOW)
    assert header.schema_version == "2.08"
    assert header.generated_at == datetime(2024, 5, 1, 10, tzinfo=MOSCOW)
    assert header.namespace == "urn:1C.ru:commerceml_210"
    assert header.encoding == "windows-1251"
    assert header.only_changes is True


def test_a_bare_fragment_root_has_no_namespace_and_no_version() -> None:
    header = detect(io.BytesIO("<Классификатор><Группы/></Классификатор>".encode()))
    assert (header.kind, header.namespace, header.schema_version) == (
        DocumentKind.CATALOG,
        None,
        None,
    )


def test_a_garbled_generation_time_is_only_a_missing_hint() -> None:
    data = '<КоммерческаяИнформация ДатаФормирования="вчера"><Каталог/></КоммерческаяИнформация>'
    assert detect(io.BytesIO(data.encode())).generated_at is None


def test_detect_stops_once_it_knows() -> None:
    # Everything after the opening of Каталог is never read: a broken tail does not matter.
    data = document("<Каталог><Товары>").replace("</КоммерческаяИнформация>".encode(), b"<<<junk")
    assert detect(io.BytesIO(data)).kind == DocumentKind.CATALOG


def test_detect_leaves_a_file_where_it_was_and_open_document_rewinds_it(tmp_path: Path) -> None:
    path = tmp_path / "import.xml"
    path.write_bytes(
        document(
            "<Каталог><Товары><Товар><Ид>1</Ид><Наименование>a</Наименование></Товар></Товары></Каталог>"
        )
    )
    with path.open("rb") as stream:
        stream.seek(0)
        doc = open_document(stream)
        assert list(doc.records()) == [Product(onec_id="1", name="a")]
        assert doc.name == str(path)


class _Pipe(io.RawIOBase):
    """A non-seekable stream, like a socket or a decompressor."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_non_seekable_stream_is_read_whole_after_its_header() -> None:
    body = (
        STUB_CLASSIFIER
        + "<Каталог><Товары>"
        + "<Товар><Ид>1</Ид><Наименование>a</Наименование></Товар>" * 500
        + "</Товары></Каталог>"
    )
    doc = open_document(_Pipe(document(body)), name="upload.xml")
    assert doc.header.kind == DocumentKind.CATALOG
    assert len(list(doc.records())) == 500
