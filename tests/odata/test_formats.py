"""1C OData JSON <-> records: pure functions, on the shapes ODATA.md documents."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from exchange_formats.errors import FormatError, UnsafeDocumentError
from exchange_formats.odata import catalog, orders, parties, registers, values, wire
from exchange_formats.odata.changes import Changed, Deleted, read_changes
from exchange_formats.odata.metadata import parse_metadata
from exchange_formats.records import Contractor, Offer, Order, OrderLine, Product

MOSCOW = ZoneInfo("Europe/Moscow")
PRODUCT_FIELDS = {
    "name": "Description",
    "code": "Code",
    "sku": "Артикул",
    "description": "Описание",
    "group": "Parent_Key",
    "unit": "",
}

CATALOG_PAGE = """{
  "odata.metadata": "https://1c.example.ru/ut11/odata/standard.odata/$metadata#Catalog_Номенклатура",
  "value": [
    {"Ref_Key": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09", "DataVersion": "AAAAAQAAAAA=",
     "DeletionMark": false, "Code": "00-00000001", "Description": "Мойка кухонная 60 см",
     "Parent_Key": "00000000-0000-0000-0000-000000000000", "IsFolder": false, "Артикул": "MK-60",
     "ЕдиницаИзмерения_Key": "f40235d5-d84c-11ea-8133-0050569f62a1",
     "Parent@navigationLinkUrl": "Catalog_Номенклатура(guid'f02ce7b3-e3b3-11eb-b4ad-000c29b45b09')/Parent"},
    {"Ref_Key": "B1C89D9C-CB6A-11E6-AEDE-5404A6B4B8ED", "DataVersion": "AAAABwAAAAA=",
     "DeletionMark": true, "Code": "00-00000002", "Description": "Смеситель (снят с продажи)",
     "Parent_Key": "bbb079ae-8c51-11db-a9b0-00055d49b45e", "IsFolder": false, "Артикул": "",
     "ЕдиницаИзмерения_Key": "f40235d5-d84c-11ea-8133-0050569f62a1"}
  ]
}"""


def test_a_bom_is_ignored_and_fractions_are_decimals() -> None:
    body = b"\xef\xbb\xbf" + json.dumps({"value": [{"Цена": 1490.1, "n": 7}]}).encode()
    [row] = wire.rows(wire.loads(body))
    assert row["Цена"] == Decimal("1490.1")
    assert isinstance(row["Цена"], Decimal)
    assert row["n"] == 7


def test_an_html_page_is_a_format_error_naming_the_source() -> None:
    with pytest.raises(FormatError, match=r"Catalog_X.*not JSON"):
        wire.loads(b"<html><title>502 Bad Gateway</title></html>", source="Catalog_X")


def test_decimals_are_sent_as_exact_json_numbers() -> None:
    body = wire.dumps({"Цена": Decimal("1490.50"), "Количество": Decimal("2.000"), "x": "я"})
    assert body == '{"Цена": 1490.5, "Количество": 2, "x": "я"}'.encode()
    with pytest.raises(FormatError, match="more digits"):
        wire.dumps({"Сумма": Decimal("12345678901234.5678")})


def test_products_from_a_catalog_page() -> None:
    rows = wire.rows(wire.loads(CATALOG_PAGE.encode()))
    records = list(catalog.read_products(rows, PRODUCT_FIELDS, source="Catalog_Номенклатура"))
    first, second = (r for r in records if isinstance(r, Product))
    assert first.onec_id == "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09"
    assert first.name == "Мойка кухонная 60 см"
    assert first.sku == "MK-60"
    assert first.group_onec_ids == ()  # the zero reference is no group
    assert not first.deleted
    assert second.onec_id == "b1c89d9c-cb6a-11e6-aede-5404a6b4b8ed"  # GUIDs normalised
    assert second.sku is None
    assert second.deleted
    assert second.group_onec_ids == ("bbb079ae-8c51-11db-a9b0-00055d49b45e",)
    assert first.version is None  # DataVersion is tracked beside records, never inside
    assert catalog.version(rows[0]) == "AAAAAQAAAAA="


def test_a_product_without_characteristics_sells_as_its_own_offer() -> None:
    rows = [
        {"Ref_Key": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09", "Description": "Мойка",
         "Артикул": "MK-60", "ИспользованиеХарактеристик": "НеИспользовать"},
        {"Ref_Key": "b1c89d9c-cb6a-11e6-aede-5404a6b4b8ed", "Description": "Футболка",
         "Артикул": "T-1", "ИспользованиеХарактеристик": "ОбщиеДляВидаНоменклатуры"},
    ]  # fmt: skip
    fields = {**PRODUCT_FIELDS, "characteristics_use": "ИспользованиеХарактеристик"}
    records = list(catalog.read_products(rows, fields, source="Catalog_Номенклатура"))
    offers = [r for r in records if isinstance(r, Offer)]
    assert [(o.onec_id, o.product_onec_id, o.name, o.sku, o.deleted) for o in offers] == [
        ("f02ce7b3-e3b3-11eb-b4ad-000c29b45b09", "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09",
         "Мойка", "MK-60", False),
        ("b1c89d9c-cb6a-11e6-aede-5404a6b4b8ed", "b1c89d9c-cb6a-11e6-aede-5404a6b4b8ed",
         "Футболка", "T-1", True),  # sold through its variants
    ]  # fmt: skip


def test_characteristics_a_product_kind_owns_become_offers_of_the_products_named_with_them() -> (
    None
):
    kind_owned = {
        "Ref_Key": "22222222-2222-2222-2222-222222222222", "Description": "Синий",
        "Owner": "33333333-3333-3333-3333-333333333333",
        "Owner_Type": "StandardODATA.Catalog_ВидыНоменклатуры",
    }  # fmt: skip
    product_a, product_b = (
        "a" * 8 + "-aaaa-aaaa-aaaa-" + "a" * 12,
        "b" * 8 + "-bbbb-bbbb-bbbb-" + "b" * 12,
    )
    offers = list(
        catalog.kind_offers(
            [kind_owned], {kind_owned["Ref_Key"]: {product_b, product_a}},
            {"name": "Description", "owner": "Owner"},
            products_entity="Catalog_Номенклатура", source="Catalog_ХарактеристикиНоменклатуры",
        )
    )  # fmt: skip
    assert [(o.onec_id, o.product_onec_id, o.characteristics[0].value) for o in offers] == [
        (f"{product_a}#{kind_owned['Ref_Key']}", product_a, "Синий"),
        (f"{product_b}#{kind_owned['Ref_Key']}", product_b, "Синий"),
    ]


def test_currencies_are_iso_codes_from_1cs_currency_catalog() -> None:
    rows = [
        {"Ref_Key": "9d5c4222-8c4c-11db-a9b0-00055d49b45f", "Code": "643", "Description": "руб."},
        {"Ref_Key": "9d5c4223-8c4c-11db-a9b0-00055d49b45f", "Code": "840", "Description": "USD"},
        {"Ref_Key": "9d5c4224-8c4c-11db-a9b0-00055d49b45f", "Code": "", "Description": "у.е."},
    ]
    currencies = catalog.read_currencies(rows, source="Catalog_Валюты")
    assert currencies == {
        "9d5c4222-8c4c-11db-a9b0-00055d49b45f": "RUB",
        "9d5c4223-8c4c-11db-a9b0-00055d49b45f": "USD",
        "9d5c4224-8c4c-11db-a9b0-00055d49b45f": "у.е.",
    }
    price_type = {"Ref_Key": "11111111-1111-1111-1111-111111111111", "Description": "Розничная",
                  "ВалютаЦены_Key": "9D5C4223-8C4C-11DB-A9B0-00055D49B45F"}  # fmt: skip
    (read,) = catalog.read_price_types(
        [price_type], {"name": "Description", "currency": "ВалютаЦены_Key"},
        source="Catalog_ВидыЦен", currencies=currencies,
    )  # fmt: skip
    assert read.currency == "USD"


def test_an_exchange_plan_package_gives_rows_as_json_reads_do_and_deleted_refs() -> None:
    body = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="http://purl.org/atompub/tombstones/1.0"
      xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"
      xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
 <entry>
  <id>https://1c.example.ru/ut11/odata/standard.odata/Catalog_Номенклатура(guid'f02ce7b3-e3b3-11eb-b4ad-000c29b45b09')</id>
  <category term="StandardODATA.Catalog_Номенклатура" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>
  <content type="application/xml"><m:properties>
   <d:Ref_Key>f02ce7b3-e3b3-11eb-b4ad-000c29b45b09</d:Ref_Key><d:DataVersion>AAAAAgAAAAA=</d:DataVersion>
   <d:DeletionMark>false</d:DeletionMark><d:Description>Мойка кухонная 60 см</d:Description>
   <d:Артикул/><d:Описание m:null="true"/><d:IsFolder>false</d:IsFolder>
  </m:properties></content>
 </entry>
 <at:deleted-entry ref="https://1c.example.ru/ut11/odata/standard.odata/Catalog_Номенклатура(guid'B1C89D9C-CB6A-11E6-AEDE-5404A6B4B8ED')" when="2025-01-21T10:00:00"/>
</feed>""".encode()
    changed, deleted = list(read_changes(body))
    assert isinstance(changed, Changed)
    assert changed.entity == "Catalog_Номенклатура"
    assert changed.row["Артикул"] == ""  # cleared in 1C, not absent
    assert changed.row["Описание"] is None
    (product,) = (
        r
        for r in catalog.read_products([changed.row], PRODUCT_FIELDS, source="x")
        if isinstance(r, Product)
    )
    assert (product.name, product.sku, product.deleted) == ("Мойка кухонная 60 см", None, False)
    assert deleted == Deleted(
        entity="Catalog_Номенклатура", ref="b1c89d9c-cb6a-11e6-aede-5404a6b4b8ed"
    )


def test_a_bad_reference_is_refused_naming_the_row_and_property() -> None:
    row = {
        "Ref_Key": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09",
        "Description": "x",
        "Parent_Key": "42",
    }
    with pytest.raises(FormatError) as caught:
        list(catalog.read_products([row], PRODUCT_FIELDS, source="Catalog_Номенклатура"))
    message = str(caught.value)
    assert "Catalog_Номенклатура" in message
    assert "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09" in message
    assert "Parent_Key" in message


def test_characteristics_of_a_product_become_its_offers_and_shared_ones_are_skipped() -> None:
    rows = [
        {"Ref_Key": "11111111-1111-1111-1111-111111111111", "Description": "Красный",
         "Owner": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09",
         "Owner_Type": "StandardODATA.Catalog_Номенклатура"},
        {"Ref_Key": "22222222-2222-2222-2222-222222222222", "Description": "Синий",
         "Owner": "33333333-3333-3333-3333-333333333333",
         "Owner_Type": "StandardODATA.Catalog_ВидыНоменклатуры"},
        {"Ref_Key": "44444444-4444-4444-4444-444444444444", "Description": "XL",
         "Owner_Key": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09"},
    ]  # fmt: skip
    offers = list(
        catalog.read_characteristics(
            rows, {"name": "Description", "owner": "Owner"},
            products_entity="Catalog_Номенклатура", source="Catalog_ХарактеристикиНоменклатуры",
        )
    )  # fmt: skip
    assert [o.onec_id for o in offers] == [
        "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09#11111111-1111-1111-1111-111111111111",
        "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09#44444444-4444-4444-4444-444444444444",
    ]
    assert offers[0].product_onec_id == "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09"
    assert offers[0].characteristics[0].value == "Красный"


def test_a_price_slice_groups_prices_by_offer() -> None:
    rows = [
        {"Period": "2025-01-10T00:00:00", "Номенклатура_Key": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09",
         "Характеристика_Key": "00000000-0000-0000-0000-000000000000",
         "ВидЦены_Key": "0135f909-5b65-11ee-84bf-00d861dd2b4a", "Цена": Decimal("1490")},
        {"Period": "2025-01-10T00:00:00", "Номенклатура_Key": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09",
         "Характеристика_Key": "00000000-0000-0000-0000-000000000000",
         "ВидЦены_Key": "0135f909-5b65-11ee-84bf-00d861dd2b4b", "Цена": Decimal("1290.5")},
    ]  # fmt: skip
    fields = {"product": "Номенклатура_Key", "characteristic": "Характеристика_Key",
              "price_type": "ВидЦены_Key", "price": "Цена"}  # fmt: skip
    [offer] = registers.read_prices(rows, fields, source="prices")
    assert offer.offer_onec_id == offer.product_onec_id == "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09"
    assert [p.value for p in offer.prices] == [Decimal("1490"), Decimal("1290.5")]


def test_a_balance_gives_levels_per_warehouse_and_their_total() -> None:
    product, char = "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09", "11111111-1111-1111-1111-111111111111"
    rows = [
        {"Номенклатура_Key": product, "Характеристика_Key": char,
         "Склад_Key": "081bc346-2abc-13e4-a1bd-0050568b1688", "ВНаличииBalance": 7},
        {"Номенклатура_Key": product, "Характеристика_Key": char,
         "Склад_Key": "081bc346-2abc-13e4-a1bd-0050568b1689", "ВНаличииBalance": Decimal("2.5")},
        {"Номенклатура_Key": product, "Характеристика_Key": "00000000-0000-0000-0000-000000000000",
         "Склад_Key": "081bc346-2abc-13e4-a1bd-0050568b1688", "ВНаличииBalance": None},
    ]  # fmt: skip
    fields = {"product": "Номенклатура_Key", "characteristic": "Характеристика_Key",
              "warehouse": "Склад_Key", "quantity": "ВНаличииBalance"}  # fmt: skip
    variant, plain = registers.read_stock(rows, fields, source="stock")
    assert variant.offer_onec_id == f"{product}#{char}"
    assert variant.total == Decimal("9.5")
    assert [lvl.quantity for lvl in variant.levels] == [Decimal(7), Decimal("2.5")]
    assert plain.offer_onec_id == product
    assert plain.total == Decimal(0)  # 1C leaves empty numbers null: zero


def test_a_counterparty_with_its_contact_table() -> None:
    row = {
        "Ref_Key": "3aa3cd58-c109-11e6-a7a6-5404a6b4b8ed", "DeletionMark": False,
        "Description": 'ООО "Ромашка"', "НаименованиеПолное": "Общество «Ромашка»",
        "ИНН": "7707083893", "КПП": "773601001",
        "КонтактнаяИнформация": [
            {"LineNumber": "1", "Тип": "АдресЭлектроннойПочты", "Представление": "zakaz@romashka.ru"},
            {"LineNumber": "2", "Тип": "Адрес", "Представление": "Москва, ул. Ленина, 1"},
        ],
    }  # fmt: skip
    fields = {"name": "Description", "full_name": "НаименованиеПолное", "inn": "ИНН",
              "kpp": "КПП", "contacts": "КонтактнаяИнформация"}  # fmt: skip
    [contractor] = parties.read_contractors([row], fields, source="Catalog_Контрагенты")
    assert contractor.inn == "7707083893"
    assert contractor.contacts[0].type == "Почта"
    assert contractor.address is not None
    assert contractor.address.presentation == "Москва, ул. Ленина, 1"


def test_dates_are_server_local_and_the_empty_date_is_none() -> None:
    moment = values.local_datetime("2025-01-21T10:14:02", MOSCOW)
    assert moment == datetime(2025, 1, 21, 7, 14, 2, tzinfo=UTC)
    assert values.local_datetime("0001-01-01T00:00:00", MOSCOW) is None
    assert (
        values.naive_local(datetime(2025, 1, 21, 7, 14, 2, tzinfo=UTC), MOSCOW)
        == "2025-01-21T10:14:02"
    )


def test_an_order_document_and_the_answer_to_its_create() -> None:
    order = Order(
        onec_id="42",
        number="SITE-10042",
        date=datetime(2025, 1, 21, 7, 14, 2, tzinfo=UTC),
        comment="Заказ с сайта #10042",
        contractors=(Contractor(onec_id="3AA3CD58-C109-11E6-A7A6-5404A6B4B8ED", name="Ромашка"),),
        lines=(
            OrderLine(onec_id="f02ce7b3-e3b3-11eb-b4ad-000c29b45b09", name="Мойка",
                      quantity=Decimal(2), price=Decimal("1490"), total=Decimal("2980")),
            OrderLine(onec_id="ORDER_DELIVERY", name="Доставка", quantity=Decimal(1)),
        ),
    )  # fmt: skip
    body = orders.order_document(
        order,
        fields={"number": "НомерПоДаннымКлиента", "date": "ДатаПоДаннымКлиента",
                "comment": "Комментарий", "customer": "Контрагент_Key", "lines": "Товары"},
        line_fields={"product": "Номенклатура_Key", "characteristic": "Характеристика_Key",
                     "quantity": "Количество", "price": "Цена", "total": "Сумма"},
        constants={"Статус": "НеСогласован", "ЦенаВключаетНДС": "true"},
        line_constants={"СтавкаНДС": "НДС20"},
        zone=MOSCOW,
    )  # fmt: skip
    assert body == {
        "Статус": "НеСогласован",
        "ЦенаВключаетНДС": True,
        "НомерПоДаннымКлиента": "SITE-10042",
        "ДатаПоДаннымКлиента": "2025-01-21T10:14:02",
        "Комментарий": "Заказ с сайта #10042",
        "Контрагент_Key": "3aa3cd58-c109-11e6-a7a6-5404a6b4b8ed",
        "Товары": [
            {"LineNumber": "1", "СтавкаНДС": "НДС20",
             "Номенклатура_Key": "f02ce7b3-e3b3-11eb-b4ad-000c29b45b09",
             "Характеристика_Key": "00000000-0000-0000-0000-000000000000",
             "Количество": Decimal(2), "Цена": Decimal(1490), "Сумма": Decimal(2980)},
        ],
    }  # fmt: skip
    created = orders.created_document(
        {"Ref_Key": "80066011-d7c7-11ef-bac8-00155d01d112", "Number": "УТ-00001004",
         "Date": "2025-01-21T10:15:36", "Posted": False, "DataVersion": None},
        MOSCOW,
    )  # fmt: skip
    assert created.number == "УТ-00001004"
    assert created.date == datetime(2025, 1, 21, 7, 15, 36, tzinfo=UTC)
    assert not created.posted


METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">
 <edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" m:DataServiceVersion="3.0">
  <Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">
   <EntityType Name="Catalog_Номенклатура">
    <Key><PropertyRef Name="Ref_Key"/></Key>
    <Property Name="Ref_Key" Type="Edm.Guid" Nullable="false"/>
    <Property Name="DataVersion" Type="Edm.String"/>
    <Property Name="Description" Type="Edm.String"/>
    <Property Name="Артикул" Type="Edm.String"/>
   </EntityType>
   <ComplexType Name="AccumulationRegister_ТоварыНаСкладах_Balance">
    <Property Name="Номенклатура_Key" Type="Edm.Guid"/>
    <Property Name="ВНаличииBalance" Type="Edm.Double"/>
   </ComplexType>
   <EntityContainer Name="StandardODATA" m:IsDefaultEntityContainer="true">
    <EntitySet Name="Catalog_Номенклатура" EntityType="StandardODATA.Catalog_Номенклатура"/>
    <EntitySet Name="AccumulationRegister_ТоварыНаСкладах" EntityType="StandardODATA.AccumulationRegister_ТоварыНаСкладах"/>
    <FunctionImport Name="Balance" ReturnType="Collection(StandardODATA.AccumulationRegister_ТоварыНаСкладах_Balance)"
                    m:HttpMethod="GET" IsBindable="true" EntitySetPath="AccumulationRegister_ТоварыНаСкладах"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""


def test_metadata_lists_entity_sets_their_properties_and_virtual_tables() -> None:
    metadata = parse_metadata(METADATA.encode())
    assert metadata.has_entity_set("Catalog_Номенклатура")
    assert "Артикул" in metadata.properties_of("Catalog_Номенклатура")
    balance = metadata.properties_of("AccumulationRegister_ТоварыНаСкладах", "Balance")
    assert balance == {"Номенклатура_Key", "ВНаличииBalance"}
    assert metadata.functions["AccumulationRegister_ТоварыНаСкладах"] == {"Balance"}


def test_metadata_with_entity_declarations_is_refused() -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(UnsafeDocumentError):
        parse_metadata(evil)


def test_the_odata_formats_import_no_http_database_or_web_library() -> None:
    code = (
        "import sys, exchange_formats.odata.catalog, exchange_formats.odata.orders, "
        "exchange_formats.odata.registers, exchange_formats.odata.parties, "
        "exchange_formats.odata.metadata, exchange_formats.odata.wire\n"
        "bad = {'httpx', 'sqlalchemy', 'flask', 'redis', 'syncd', 'config'} & set(sys.modules)\n"
        "print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
