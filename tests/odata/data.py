"""Realistic УТ 11 rows (shapes from ODATA.md §1.6) for the fake 1C."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from tests.odata.fake1c import Fake1C

ZERO = "00000000-0000-0000-0000-000000000000"
_NS = uuid.UUID("6f1c0d0e-0000-4000-8000-000000000001")
PRODUCTS = "Catalog_Номенклатура"
CHARACTERISTICS = "Catalog_ХарактеристикиНоменклатуры"
PRICE_TYPES = "Catalog_ВидыЦен"
WAREHOUSES = "Catalog_Склады"
CUSTOMERS = "Catalog_Контрагенты"
CURRENCIES = "Catalog_Валюты"
RUB = "9d5c4222-8c4c-11db-a9b0-00055d49b45f"
PRICES = "InformationRegister_ЦеныНоменклатуры_RecordType"
STOCK = "AccumulationRegister_ТоварыНаСкладах"
ORDERS = "Document_ЗаказКлиента"
UNIT = "f40235d5-d84c-11ea-8133-0050569f62a1"
# Document_ЗаказКлиента as УТ 11 publishes it (the part we use; ODATA.md §1.6).
ORDER_PROPERTIES = [
    "Ref_Key", "DataVersion", "DeletionMark", "Number", "Date", "Posted", "Организация_Key",
    "Партнер_Key", "Контрагент_Key", "Склад_Key", "Валюта_Key", "ХозяйственнаяОперация", "Статус",
    "ЦенаВключаетНДС", "СуммаДокумента", "НомерПоДаннымКлиента", "ДатаПоДаннымКлиента",
    "Комментарий", "Товары",
]  # fmt: skip


def ref(kind: str, i: int) -> str:
    """A stable Ref_Key for the i-th object of a kind."""
    return str(uuid.uuid5(_NS, f"{kind}-{i}"))


def group_row(i: int, parent: str = ZERO) -> dict[str, Any]:
    return {
        "Ref_Key": ref("group", i),
        "DeletionMark": False,
        "Code": f"00-{i:08d}",
        "Description": f"Группа {i}",
        "Parent_Key": parent,
        "IsFolder": True,
        "Артикул": "",
        "Описание": "",
        "ЕдиницаИзмерения_Key": ZERO,
        "Parent@navigationLinkUrl": f"{PRODUCTS}(guid'{ref('group', i)}')/Parent",
    }


def product_row(i: int, group: int = 0, **changes: Any) -> dict[str, Any]:
    row = {
        "Ref_Key": ref("product", i),
        "DeletionMark": False,
        "Code": f"00-{100000 + i:08d}",
        "Description": f"Мойка кухонная {i} см",
        "Parent_Key": ref("group", group),
        "IsFolder": False,
        "Артикул": f"MK-{i}",
        "Описание": f"Нержавеющая сталь, модель {i}",
        "ЕдиницаИзмерения_Key": UNIT,
        "ИспользованиеХарактеристик": "НеИспользовать",
        "ВидНоменклатуры_Key": ref("kind", 0),
        "Parent@navigationLinkUrl": f"{PRODUCTS}(guid'{ref('product', i)}')/Parent",
    }
    row.update(changes)
    return row


def characteristic_row(i: int, product: int, *, owner_entity: str = PRODUCTS) -> dict[str, Any]:
    owner = ref("product", product) if owner_entity == PRODUCTS else ref("kind", product)
    return {
        "Ref_Key": ref("char", i),
        "DeletionMark": False,
        "Description": f"Цвет {i}",
        "Owner": owner,
        "Owner_Type": f"StandardODATA.{owner_entity}",
    }


def price_type_row(i: int) -> dict[str, Any]:
    return {
        "Ref_Key": ref("price_type", i),
        "DeletionMark": False,
        "Code": f"00000000{i}",
        "Description": ["Розничная", "Оптовая"][i % 2],
        "ЦенаВключаетНДС": True,
        "ВалютаЦены_Key": RUB,
    }


def currency_row(key: str = RUB, code: str = "643", name: str = "руб.") -> dict[str, Any]:
    return {"Ref_Key": key, "DeletionMark": False, "Code": code, "Description": name}


def warehouse_row(i: int) -> dict[str, Any]:
    return {
        "Ref_Key": ref("warehouse", i),
        "DeletionMark": False,
        "Code": f"0000{i}",
        "Description": f"Склад {i}",
        "IsFolder": False,
        "Parent_Key": ZERO,
    }


def customer_row(i: int) -> dict[str, Any]:
    key = ref("customer", i)
    return {
        "Ref_Key": key,
        "DeletionMark": False,
        "Code": f"000000{i:03d}",
        "Description": f'ООО "Ромашка {i}"',
        "НаименованиеПолное": f'Общество с ограниченной ответственностью "Ромашка {i}"',
        "ИНН": "7707083893",
        "КПП": "773601001",
        "IsFolder": False,
        "Parent_Key": ZERO,
        "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
        "Партнер_Key": "9d5c4222-8c4c-11db-a9b0-00055d49b45e",
        "КонтактнаяИнформация": [
            {
                "Ref_Key": key,
                "LineNumber": "1",
                "Тип": "АдресЭлектроннойПочты",
                "Вид_Key": "bd72d926-55bc-11d9-848a-00112f43529a",
                "Представление": f"zakaz{i}@romashka.ru",
                "АдресЭП": f"zakaz{i}@romashka.ru",
            },
            {
                "Ref_Key": key,
                "LineNumber": "2",
                "Тип": "Телефон",
                "Вид_Key": "bd72d927-55bc-11d9-848a-00112f43529a",
                "Представление": "+7 495 123-45-67",
            },
        ],
    }


def price_row(
    product: int, price_type: int, value: str, characteristic: str = ZERO
) -> dict[str, Any]:
    return {
        "Period": "2025-01-10T00:00:00",
        "Recorder": "7e1f0c2a-cf11-11ef-bac8-00155d01d112",
        "Recorder_Type": "StandardODATA.Document_УстановкаЦенНоменклатуры",
        "Номенклатура_Key": ref("product", product),
        "Характеристика_Key": characteristic,
        "ВидЦены_Key": ref("price_type", price_type),
        "Упаковка_Key": ZERO,
        "Цена": Decimal(value),
    }


def stock_row(
    product: int, warehouse: int, quantity: str, characteristic: str = ZERO
) -> dict[str, Any]:
    return {
        "Номенклатура_Key": ref("product", product),
        "Характеристика_Key": characteristic,
        "Склад_Key": ref("warehouse", warehouse),
        "ВНаличииBalance": Decimal(quantity),
    }


def fill(fake: Fake1C, *, products: int = 20, groups: int = 3) -> None:
    """A small УТ 11 base: groups, products, characteristics, price types, prices, stock..."""
    for g in range(groups):
        fake.put(PRODUCTS, group_row(g))
    uses = {0: "ИндивидуальныеДляНоменклатуры", 1: "ОбщиеДляВидаНоменклатуры"}
    for i in range(products):
        use = uses.get(i, "НеИспользовать")
        kind = ref("kind", 1 if i == 1 else 0)  # product 1: the kind owning characteristic 2
        fake.put(
            PRODUCTS,
            product_row(
                i, group=i % groups, ИспользованиеХарактеристик=use, ВидНоменклатуры_Key=kind
            ),
        )
    fake.put(CURRENCIES, currency_row())
    fake.entities[CHARACTERISTICS]  # published, even when empty
    fake.put(CHARACTERISTICS, characteristic_row(0, product=0))
    fake.put(CHARACTERISTICS, characteristic_row(1, product=0))
    fake.put(
        CHARACTERISTICS, characteristic_row(2, product=1, owner_entity="Catalog_ВидыНоменклатуры")
    )
    for p in range(2):
        fake.put(PRICE_TYPES, price_type_row(p))
    for w in range(2):
        fake.put(WAREHOUSES, warehouse_row(w))
    for c in range(3):
        fake.put(CUSTOMERS, customer_row(c))
    fake.virtual[f"{PRICES}/SliceLast"] = [
        price_row(i, p, f"{1000 + i}.50") for i in range(products) for p in range(2)
    ] + [price_row(1, 0, "555.00", characteristic=ref("char", 2))]  # a kind's characteristic
    fake.virtual[f"{STOCK}/Balance"] = [
        stock_row(i, i % 2, str(i % 7 + 1)) for i in range(products)
    ]
    fake.entities[ORDERS]
    fake.schemas[ORDERS] = ORDER_PROPERTIES


def products_page_request(skip: int) -> Any:
    """A respx-style predicate: the full products page at ``$skip``."""

    def match(request: Any) -> bool:
        params = request.url.params
        return (
            request.url.path.endswith(PRODUCTS)
            and params.get("$skip") == str(skip)
            and "Артикул" in params.get("$select", "")
        )

    return match
