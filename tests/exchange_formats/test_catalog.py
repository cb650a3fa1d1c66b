"""import.xml: classifier entries and products, read by local name in any namespace."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from exchange_formats.commerceml import open_document
from exchange_formats.errors import FormatError
from exchange_formats.records import (
    Characteristic,
    Group,
    Image,
    Manufacturer,
    Offer,
    PriceType,
    Product,
    Property,
    PropertyOption,
    PropertyValue,
    Requisite,
    TaxRate,
    Unit,
    UnitRef,
    Warehouse,
)

from .helpers import NAMESPACES, document, read

CLASSIFIER = """
<Классификатор>
  <Ид>CLS</Ид><Наименование>Классификатор</Наименование>
  <Группы>
    <Группа><Ид>G1</Ид><Наименование>Обувь</Наименование>
      <Группы>
        <Группа><Ид>G1-1</Ид><Наименование>Сапоги</Наименование>
          <Группы><Группа><Ид>G1-1-1</Ид><Наименование>Ботфорты</Наименование></Группа></Группы>
        </Группа>
        <Группа><Ид>G1-2</Ид><Наименование>Туфли </Наименование></Группа>
      </Группы>
    </Группа>
    <Группа><Ид>G2</Ид><Наименование>Одежда</Наименование><ПометкаУдаления>true</ПометкаУдаления></Группа>
  </Группы>
  <Свойства>
    <Свойство><Ид>P-BRAND</Ид><Наименование>Бренд</Наименование><ТипЗначений>Справочник</ТипЗначений>
      <ВариантыЗначений>
        <Справочник><ИдЗначения>V1</ИдЗначения><Значение>Acme</Значение></Справочник>
        <Справочник><ИдЗначения>V2 </ИдЗначения><Значение>160 </Значение></Справочник>
      </ВариантыЗначений>
    </Свойство>
    <Свойство><Ид>P-OLD</Ид><Наименование>Цвет</Наименование>
      <ВариантыЗначений><Значение>Белый</Значение><Значение>Красный</Значение></ВариантыЗначений>
    </Свойство>
    <Свойство><Ид>P-W</Ид><Наименование>Вес</Наименование><ТипЗначений>Число</ТипЗначений>
      <Множественное>true</Множественное><ДляПредложений>false</ДляПредложений></Свойство>
  </Свойства>
  <ТипыЦен><ТипЦены><Ид>PT</Ид><Наименование>Розничная</Наименование><Валюта>руб</Валюта>
    <Налог><Наименование>НДС</Наименование><УчтеноВСумме>true</УчтеноВСумме></Налог></ТипЦены></ТипыЦен>
  <Склады><Склад><Ид>WH</Ид><Наименование>Главный</Наименование>
    <Адрес><Представление>Москва</Представление></Адрес></Склад></Склады>
  <ЕдиницыИзмерения><ЕдиницаИзмерения><Ид>796 </Ид><НаименованиеКраткое>шт</НаименованиеКраткое>
    <Код>796 </Код><НаименованиеПолное>Штука     </НаименованиеПолное><МеждународноеСокращение/>
  </ЕдиницаИзмерения></ЕдиницыИзмерения>
</Классификатор>
"""

PRODUCT = """
<Каталог СодержитТолькоИзменения="false"><Ид>CAT</Ид><Товары>
  <Товар>
    <Ид> PROD-1 </Ид><Штрихкод>2000018987155</Штрихкод><Артикул>Б- 130005</Артикул>
    <Наименование>Сапоги &amp; туфли</Наименование>
    <БазоваяЕдиница Код="796 " НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>
    <Группы><Ид>G1-1</Ид></Группы>
    <Описание>&lt;p&gt;Кожа&lt;/p&gt;</Описание>
    <Картинка>import_files/ab/1.jpg</Картинка><Картинка>import_files/ab/2.jpg</Картинка>
    <Страна>РОССИЯ</Страна><ТорговаяМарка>Acme</ТорговаяМарка>
    <Изготовитель><Ид>M1</Ид><Наименование>Фабрика</Наименование></Изготовитель>
    <ЗначенияСвойств>
      <ЗначенияСвойства><Ид>P-BRAND</Ид><Значение>V1</Значение></ЗначенияСвойства>
      <ЗначенияСвойства><Ид>P-W</Ид><Значение>0,8</Значение><Значение>1.2</Значение></ЗначенияСвойства>
      <ЗначенияСвойства><Ид>P-EMPTY</Ид><Значение/></ЗначенияСвойства>
    </ЗначенияСвойств>
    <СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов>
    <ЗначенияРеквизитов>
      <ЗначениеРеквизита><Наименование>Полное наименование</Наименование><Значение>Сапоги женские</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>ОписаниеФайла</Наименование><Значение>import_files/ab/2.jpg#Вид сбоку</Значение></ЗначениеРеквизита>
    </ЗначенияРеквизитов>
    <НомерВерсии>AAAGwQAAAAA=</НомерВерсии>
  </Товар>
  <Товар Статус="Удален"><Ид>PROD-2</Ид><Наименование>Снят</Наименование></Товар>
</Товары></Каталог>
"""


def test_classifier_entries_come_parents_first_and_trimmed() -> None:
    records = read(document(CLASSIFIER))
    groups = [r for r in records if isinstance(r, Group)]
    assert [(g.onec_id, g.parent_onec_id) for g in groups] == [
        ("G1", None),
        ("G1-1", "G1"),
        ("G1-1-1", "G1-1"),
        ("G1-2", "G1"),
        ("G2", None),
    ]
    assert groups[3].name == "Туфли"
    assert groups[4].deleted
    properties = [r for r in records if isinstance(r, Property)]
    assert properties[0].options == (
        PropertyOption(onec_id="V1", value="Acme"),
        PropertyOption(onec_id="V2", value="160"),
    )
    assert properties[1].options == (
        PropertyOption(onec_id="Белый", value="Белый"),
        PropertyOption(onec_id="Красный", value="Красный"),
    )
    assert properties[1].value_type is None
    assert (properties[2].multiple, properties[2].for_offers, properties[2].for_products) == (
        True,
        False,
        None,
    )
    assert records[-3:] == [
        PriceType(
            onec_id="PT", name="Розничная", currency="RUB", tax_name="НДС", tax_included=True
        ),
        Warehouse(onec_id="WH", name="Главный", address="Москва"),
        Unit(onec_id="796", code="796", name="шт", full_name="Штука"),
    ]


def test_a_product_carries_every_field_raw() -> None:
    [product, deleted] = read(document(PRODUCT))
    assert product == Product(
        onec_id="PROD-1",
        name="Сапоги & туфли",
        sku="Б- 130005",
        barcode="2000018987155",
        unit=UnitRef(text="шт", code="796", full_name="Штука", international="PCE"),
        group_onec_ids=("G1-1",),
        description="<p>Кожа</p>",
        images=(
            Image(path="import_files/ab/1.jpg"),
            Image(path="import_files/ab/2.jpg", caption="Вид сбоку"),
        ),
        manufacturer=Manufacturer(name="Фабрика", onec_id="M1"),
        country="РОССИЯ",
        brand="Acme",
        property_values=(
            PropertyValue(property_onec_id="P-BRAND", values=("V1",)),
            PropertyValue(property_onec_id="P-W", values=("0,8", "1.2")),
            PropertyValue(property_onec_id="P-EMPTY", values=()),
        ),
        taxes=(TaxRate(name="НДС", rate="20"),),
        requisites=(
            Requisite(name="Полное наименование", value="Сапоги женские"),
            Requisite(name="ОписаниеФайла", value="import_files/ab/2.jpg#Вид сбоку"),
        ),
        version="AAAGwQAAAAA=",
    )
    assert deleted == Product(onec_id="PROD-2", name="Снят", deleted=True)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_namespace_reads_the_same(namespace: str) -> None:
    plain = read(document(CLASSIFIER + PRODUCT, namespace=None))
    assert read(document(CLASSIFIER + PRODUCT, namespace=NAMESPACES[namespace])) == plain


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", True), ("utf-8", False), ("windows-1251", False)]
)
def test_every_encoding_reads_the_same(encoding: str, bom: bool) -> None:
    plain = read(document(CLASSIFIER + PRODUCT))
    assert read(document(CLASSIFIER + PRODUCT, encoding=encoding, bom=bom)) == plain


def test_a_variant_товар_gives_an_offer_and_no_product() -> None:
    body = """<Каталог><Товары>
      <Товар><Ид>P1#C1</Ид><Наименование>Стол</Наименование>
        <ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Цвет</Наименование>
          <Значение>Белый</Значение></ХарактеристикаТовара></ХарактеристикиТовара></Товар>
    </Товары></Каталог>"""
    assert read(document(body, version="2.04", namespace=None)) == [
        Offer(
            onec_id="P1#C1",
            product_onec_id="P1",
            name="Стол",
            characteristics=(Characteristic(name="Цвет", value="Белый"),),
        )
    ]


def test_only_changes_from_the_attribute_and_from_a_trailing_element() -> None:
    doc = open_document(io.BytesIO(document(PRODUCT)))
    assert doc.only_changes is False
    list(doc.records())
    assert doc.only_changes is False

    trailing = """<Каталог><Товары><Товар><Ид>1</Ид><Наименование>a</Наименование></Товар></Товары>
      <СодержитТолькоИзменения>true</СодержитТолькоИзменения></Каталог>"""
    doc = open_document(io.BytesIO(document(trailing, version="2.03", namespace=None)))
    assert doc.only_changes is None  # not known from the opening tags
    list(doc.records())
    assert doc.only_changes is True


def test_only_changes_is_none_when_never_stated() -> None:
    doc = open_document(io.BytesIO(document("<Каталог><Товары/></Каталог>")))
    assert list(doc.records()) == []
    assert doc.only_changes is None


def test_a_product_without_an_id_is_an_error_naming_line_and_element() -> None:
    body = "<Каталог><Товары>\n<Товар><Наименование>x</Наименование></Товар></Товары></Каталог>"
    with pytest.raises(FormatError) as caught:
        read(document(body), name="import0_1.xml")
    assert caught.value.source == "import0_1.xml"
    assert caught.value.line == 4
    assert caught.value.element == "Товар"
    assert "no Ид" in str(caught.value)


def test_a_bad_number_names_its_element_path() -> None:
    body = """<Классификатор><Группы><Группа><Ид>G</Ид><Наименование>g</Наименование>
      <Сортировка>first</Сортировка></Группа></Группы></Классификатор>"""
    with pytest.raises(FormatError) as caught:
        read(document(body))
    assert caught.value.element == "Группа/Сортировка"
    assert caught.value.line == 4


def test_records_before_an_error_are_whole() -> None:
    body = """<Каталог><Товары>
      <Товар><Ид>1</Ид><Наименование>a</Наименование></Товар>
      <Товар><Наименование>b</Наименование></Товар></Товары></Каталог>"""
    stream = open_document(io.BytesIO(document(body))).records()
    assert next(stream) == Product(onec_id="1", name="a")
    with pytest.raises(FormatError, match="no Ид"):
        next(stream)


def test_a_product_with_an_empty_name_is_read_for_the_writer_to_refuse_alone() -> None:
    body = "<Каталог><Товары><Товар><Ид>2</Ид><Наименование/></Товар></Товары></Каталог>"
    assert read(document(body)) == [Product(onec_id="2", name="")]


def test_a_bare_classifier_root_is_read() -> None:
    data = "<Классификатор><Группы><Группа><Ид>G</Ид><Наименование>g</Наименование></Группа></Группы></Классификатор>"
    assert read(data.encode()) == [Group(onec_id="G", name="g")]


def test_bytes_read_advances_to_the_end() -> None:
    data = document(PRODUCT * 1)
    doc = open_document(io.BytesIO(data))
    assert doc.bytes_read == 0
    list(doc.records())
    assert doc.bytes_read == len(data)


def test_quantities_in_the_catalog_keep_decimal_precision() -> None:
    body = """<ПакетПредложений><Предложения><Предложение><Ид>1</Ид>
      <Количество>1.500</Количество></Предложение></Предложения></ПакетПредложений>"""
    [stock] = read(document(body))
    assert stock.total == Decimal("1.500")  # type: ignore[union-attr]
