"""Orders: what 1C sends (full and status-only) and what we send it (mode=query)."""

from __future__ import annotations

import copy
import dataclasses
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from exchange_formats.commerceml import delivery_line, detect, read_orders, write_orders
from exchange_formats.errors import FormatError
from exchange_formats.records import (
    Contractor,
    DocumentKind,
    Order,
    OrderLine,
    Requisite,
    UnitRef,
)

from .helpers import document
from .strategies import MOSCOW, orders

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
XSD = {
    "2.08": SAMPLES / "dobromyslov__commerceml-parser/doc/commerceml-2.08.xsd",
    "2.09": SAMPLES / "carono__yii2-1c-exchange/files/doc/commerceML 2.09.xsd",
    "2.10": SAMPLES / "dobromyslov__commerceml-parser/doc/commerceml-2.10.xsd",
}
# No XSD of 2.05-2.07 is published in the samples; 2.07 is structurally identical to 2.08
# (PROTOCOL.md 2.6) and 2.05/2.06 differ from it only in parts orders do not use, so those
# versions are validated against the 2.08 schema. 3.1 has no public XSD: its documents are
# checked against 2.10's Документ type (3.1 changed the wrapping, not the document).
SCHEMA_OF = {
    "2.05": "2.08",
    "2.06": "2.08",
    "2.07": "2.08",
    "2.08": "2.08",
    "2.09": "2.09",
    "2.10": "2.10",
    "3.1": "2.10",
}
NS_2 = "urn:1C.ru:commerceml_2"


def read(data: bytes) -> list[Order]:
    return list(read_orders(io.BytesIO(data), name="orders.xml", tz=MOSCOW))


def write(items: list[Order], **options: object) -> bytes:
    out = io.BytesIO()
    write_orders(
        items, out, tz=MOSCOW, generated_at=datetime(2024, 5, 1, 12, tzinfo=MOSCOW), **options
    )  # type: ignore[arg-type]
    return out.getvalue()


# --- reading what 1C sends ------------------------------------------------------------------

FROM_1C = """
<Документ>
  <Ид>142</Ид><НомерВерсии>AAAAEAAAAAA=</НомерВерсии><ПометкаУдаления>false</ПометкаУдаления>
  <Номер>142</Номер><Номер1С>ТДЦУ-000001</Номер1С><Дата>2015-06-29</Дата><Дата1С>2015-06-29</Дата1С>
  <Время>15:39:10</Время><ХозОперация>Заказ товара</ХозОперация>
  <Валюта>руб</Валюта><Курс>1.0000</Курс><Сумма>8186.84</Сумма><Роль>Продавец</Роль>
  <Товары><Товар><Ид>P#V</Ид><Наименование>Ботинки</Наименование>
    <Единица><Ид>715</Ид><НаименованиеКраткое>пар</НаименованиеКраткое><Код>715</Код>
      <НаименованиеПолное>Пара (2 шт.)</НаименованиеПолное></Единица>
    <Коэффициент>1</Коэффициент><Количество>1</Количество><Цена>3600</Цена><Сумма>3600</Сумма>
  </Товар></Товары>
  <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Проведен</Наименование>
    <Значение>true</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
</Документ>
"""

STATUS_ONLY = """
<Документ><Ид>92</Ид><Номер>92</Номер><Дата>2015-08-12</Дата><Время>13:38:17</Время>
  <ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль>
  <ЗначенияРеквизитов>
    <ЗначениеРеквизита><Наименование>Номер по 1С</Наименование><Значение>MM92</Значение></ЗначениеРеквизита>
    <ЗначениеРеквизита><Наименование>Дата по 1С</Наименование><Значение>2015-08-12</Значение></ЗначениеРеквизита>
    <ЗначениеРеквизита><Наименование>ПометкаУдаления</Наименование><Значение>true</Значение></ЗначениеРеквизита>
    <ЗначениеРеквизита><Наименование>Статус заказа</Наименование><Значение>Открыт</Значение></ЗначениеРеквизита>
  </ЗначенияРеквизитов>
</Документ>
"""


def test_a_1c_order_document_reads_its_1c_number_and_lines() -> None:
    [order] = read(document(FROM_1C, version="2.09"))
    assert order.number_1c == "ТДЦУ-000001"
    assert order.date == datetime(2015, 6, 29, 15, 39, 10, tzinfo=MOSCOW)
    assert order.date_1c == datetime(2015, 6, 29, tzinfo=MOSCOW)
    assert (order.currency, order.rate, order.total) == ("RUB", Decimal(1), Decimal("8186.84"))
    assert order.deleted is False
    assert order.version == "AAAAEAAAAAA="
    assert order.lines == (
        OrderLine(
            onec_id="P#V",
            name="Ботинки",
            quantity=Decimal(1),
            price=Decimal(3600),
            total=Decimal(3600),
            unit=UnitRef(text="пар", code="715", full_name="Пара (2 шт.)"),
            coefficient=Decimal(1),
        ),
    )
    assert order.requisites == (Requisite(name="Проведен", value="true"),)


def test_a_status_only_update_keeps_lines_unknown() -> None:
    [order] = read(document(STATUS_ONLY, namespace=None, version="2.03"))
    assert order.lines is None
    assert (order.number_1c, order.deleted) == ("MM92", True)
    assert order.date_1c == datetime(2015, 8, 12, tzinfo=MOSCOW)
    assert order.total is None
    assert [r.name for r in order.requisites] == [
        "Номер по 1С",
        "Дата по 1С",
        "ПометкаУдаления",
        "Статус заказа",
    ]


def test_documents_of_other_operations_and_containers() -> None:
    payment = (
        "<Документ><Ид>PAY-1</Ид><ХозОперация>Выплата безналичных денег</ХозОперация></Документ>"
    )
    body = f"<Контейнер>{STATUS_ONLY}{payment}</Контейнер>"
    assert [order.onec_id for order in read(document(body, version="3.1"))] == ["92"]


def test_an_order_without_id_is_an_error_naming_the_element() -> None:
    with pytest.raises(FormatError, match="order document has no Ид") as caught:
        read(document("<Документ><Номер>1</Номер></Документ>"))
    assert caught.value.element == "Документ"


def test_a_line_without_quantity_is_an_error() -> None:
    body = "<Документ><Ид>1</Ид><Товары><Товар><Ид>P</Ид></Товар></Товары></Документ>"
    with pytest.raises(FormatError, match="no Количество"):
        read(document(body))


# --- writing what 1C loads ------------------------------------------------------------------

SITE_ORDER = Order(
    onec_id="1001",
    number="1001",
    date=datetime(2024, 5, 1, 11, 59, tzinfo=MOSCOW),
    operation="Заказ товара",
    role="Продавец",
    currency="RUB",
    rate=Decimal(1),
    total=Decimal("2067.00"),
    comment="Позвонить до 18:00 — «домофон» не работает",
    contractors=(
        Contractor(
            onec_id="site-user-17",
            name="Иванов Иван",
            full_name="Иванов Иван",
            role="Покупатель",
            first_name="Иван",
            last_name="Иванов",
        ),
    ),
    lines=(
        OrderLine(
            onec_id="PROD-1#CHAR-38",
            name="Сапоги женские (38)",
            quantity=Decimal(1),
            price=Decimal(1719),
            total=Decimal(1719),
            unit=UnitRef(text="шт", code="796", full_name="Штука", international="PCE"),
            requisites=(
                Requisite(name="ВидНоменклатуры", value="Товар"),
                Requisite(name="ТипНоменклатуры", value="Товар"),
            ),
        ),
        delivery_line(Decimal(348)),
    ),
    requisites=(Requisite(name="Метод оплаты", value="Картой онлайн"),),
)


def test_no_orders_give_the_root_element_only() -> None:
    data = write([])
    root = etree.fromstring(data)
    assert etree.QName(root).localname == "КоммерческаяИнформация"
    assert len(root) == 0
    assert root.get("ВерсияСхемы") == "2.05"
    assert read(data) == []


def test_utf8_output_has_a_bom_and_a_matching_declaration() -> None:
    data = write([SITE_ORDER])
    assert data.startswith(b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>')
    assert detect(io.BytesIO(data)).kind == DocumentKind.ORDERS


def test_windows_1251_output_is_cp1251_and_keeps_foreign_characters() -> None:
    order = dataclasses.replace(SITE_ORDER, comment="Цена в € и ¥, 中文")
    data = write([order], encoding="windows-1251")
    assert data.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert "Сапоги".encode("cp1251") in data
    assert "€".encode("cp1251") in data
    assert b"&#20013;" in data  # 中 has no windows-1251 byte: a character reference
    assert read(data) == [order]


def test_the_delivery_line_is_a_service() -> None:
    line = delivery_line(Decimal("348.00"))
    assert (line.onec_id, line.quantity, line.price, line.total) == (
        "ORDER_DELIVERY",
        Decimal(1),
        Decimal("348.00"),
        Decimal("348.00"),
    )
    assert Requisite(name="ТипНоменклатуры", value="Услуга") in line.requisites


def test_a_site_order_reads_back_unchanged() -> None:
    assert read(write([SITE_ORDER])) == [SITE_ORDER]


def test_version_3_1_wraps_documents_in_containers() -> None:
    data = write([SITE_ORDER, SITE_ORDER], version="3.1")
    root = etree.fromstring(data)
    assert root.nsmap[None] == "urn:1C.ru:commerceml_3"
    assert [etree.QName(child).localname for child in root] == ["Контейнер", "Контейнер"]
    assert read(data) == [SITE_ORDER, SITE_ORDER]


@pytest.mark.parametrize(
    ("version", "namespace"),
    [
        ("2.05", None),
        ("2.06", None),
        ("2.07", NS_2),
        ("2.10", NS_2),
        ("3.1", "urn:1C.ru:commerceml_3"),
    ],
)
def test_each_version_writes_the_namespace_1c_expects(version: str, namespace: str | None) -> None:
    root = etree.fromstring(write([SITE_ORDER], version=version))
    assert root.nsmap.get(None) == namespace
    assert root.get("ВерсияСхемы") == version


def test_1c_fields_travel_as_requisites_1c_reads() -> None:
    order = dataclasses.replace(
        SITE_ORDER, number_1c="ТД-7", date_1c=datetime(2024, 5, 2, tzinfo=MOSCOW), deleted=True
    )
    [back] = read(write([order]))
    assert (back.number_1c, back.date_1c, back.deleted) == ("ТД-7", order.date_1c, True)
    assert back.requisites[-3:] == (
        Requisite(name="Номер по 1С", value="ТД-7"),
        Requisite(name="Дата по 1С", value="2024-05-02T00:00:00"),
        Requisite(name="ПометкаУдаления", value="true"),
    )


def test_unknown_versions_and_encodings_are_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        write([], version="2.11")
    with pytest.raises(ValueError, match="encoding"):
        write([], encoding="koi8-r")


def test_the_writer_streams_its_input() -> None:
    consumed = []

    def produce() -> object:
        for index in range(3):
            consumed.append(index)
            yield dataclasses.replace(SITE_ORDER, onec_id=str(index))

    out = io.BytesIO()
    assert write_orders(produce(), out) == 3  # type: ignore[arg-type]
    assert consumed == [0, 1, 2]


# --- XSD validation ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schemas(samples_dir: Path) -> dict[str, object]:
    import xmlschema

    return {version: xmlschema.XMLSchema(str(path)) for version, path in XSD.items()}


def _for_schema(data: bytes, version: str) -> bytes:
    """3.1 documents moved into a 2.10 root (same Документ type, namespace commerceml_2)."""
    if version != "3.1":
        return data
    root = etree.fromstring(data)
    target = etree.Element(f"{{{NS_2}}}КоммерческаяИнформация", root.attrib, nsmap={None: NS_2})
    for found in root.iter("{*}Документ"):
        moved = copy.deepcopy(found)
        for element in moved.iter():
            element.tag = f"{{{NS_2}}}{etree.QName(element).localname}"
        target.append(moved)
    etree.cleanup_namespaces(target)
    return etree.tostring(target, encoding="utf-8")


def _validate(schemas: dict[str, object], data: bytes, version: str) -> list[str]:
    schema = schemas[SCHEMA_OF[version]]
    errors = schema.iter_errors(io.BytesIO(_for_schema(data, version)))  # type: ignore[attr-defined]
    return [str(error).splitlines()[0] for error in errors]


def _namespaced(version: str) -> dict[str, object]:
    # 2.05/2.06 are written without a namespace by default (as 1С-Битрикс does); the XSD has
    # one, so these are validated as written with the 2.x namespace.
    return {"namespace": NS_2} if version in ("2.05", "2.06") else {}


@pytest.mark.samples
@pytest.mark.parametrize("version", SCHEMA_OF)
@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
def test_the_output_validates_against_the_xsd_of_its_version(
    schemas: dict[str, object], version: str, encoding: str
) -> None:
    data = write([SITE_ORDER], version=version, encoding=encoding, **_namespaced(version))
    assert _validate(schemas, data, version) == []


def _expected_after_round_trip(order: Order) -> Order:
    """1C's own fields travel as requisites (see write_orders): they come back as such."""
    extra = []
    if order.number_1c is not None:
        extra.append(Requisite(name="Номер по 1С", value=order.number_1c))
    if order.date_1c is not None:
        stamp = order.date_1c.astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S")
        extra.append(Requisite(name="Дата по 1С", value=stamp))
    if order.deleted is not None:
        extra.append(Requisite(name="ПометкаУдаления", value=str(order.deleted).lower()))
    return dataclasses.replace(order, requisites=order.requisites + tuple(extra))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(orders(), max_size=3))
def test_written_orders_read_back_equal(items: list[Order]) -> None:
    for version in ("2.05", "2.10", "3.1"):
        for encoding in ("utf-8", "windows-1251"):
            data = write(items, version=version, encoding=encoding)
            assert read(data) == [_expected_after_round_trip(order) for order in items]


@pytest.mark.samples
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=orders().map(lambda order: [order]))
def test_written_orders_validate_against_the_xsd(
    schemas: dict[str, object], items: list[Order]
) -> None:
    for version in SCHEMA_OF:
        data = write(items, version=version, **_namespaced(version))
        assert _validate(schemas, data, version) == [], version


def test_writing_what_was_read_is_a_fixed_point(samples_dir: Path) -> None:
    """Real documents (1C's and Bitrix's) survive read -> write -> read -> write unchanged."""
    found: list[Order] = []
    for path in sorted(samples_dir.rglob("*.xml")):
        if detect(path).kind == DocumentKind.ORDERS:
            found.extend(read_orders(path, tz=MOSCOW))
    assert len(found) == 10
    first = write(found, version="2.10")
    assert write(read(first), version="2.10") == first
