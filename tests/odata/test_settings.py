"""[odata] settings: entity names and field maps for configurations other than УТ 11."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings
from syncd.odata.streams import make_streams


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "onec-sync.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_field_override_changes_one_role_and_keeps_the_others(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[odata]\nstock_entity = "AccumulationRegister_ЗапасыНаСкладах"\n'
        '[odata.product_fields]\nsku = "КодТовара"\ndescription = ""\n'
        '[odata.stock_fields]\nwarehouse = "СтруктурнаяЕдиница_Key"\nquantity = "КоличествоBalance"\n',
    )
    odata = load_settings(path, env={}).odata
    products = odata.fields("products")
    assert products["sku"] == "КодТовара"
    assert products["name"] == "Description"
    streams = make_streams(odata)
    assert "Описание" not in streams["products"].select
    assert "КодТовара" in streams["products"].select
    stock = streams["stock"]
    assert stock.entity == "AccumulationRegister_ЗапасыНаСкладах"
    assert stock.select == (
        "Номенклатура_Key", "Характеристика_Key", "СтруктурнаяЕдиница_Key", "КоличествоBalance",
    )  # fmt: skip
    assert stock.resources() == [
        "AccumulationRegister_ЗапасыНаСкладах/Balance("
        "Dimensions='Номенклатура,Характеристика,СтруктурнаяЕдиница')"
    ]


def test_unknown_roles_streams_and_refs_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[odata]\nstreams = ["products", "orders"]\nprice_types = ["Розничная"]\n'
        'timezone = "Mars/Olympus"\n[odata.product_fields]\nweight = "Вес"\n'
        '[odata.order_fields]\nnumber = ""\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    problems = "\n".join(caught.value.problems)
    assert "odata.product_fields.weight: unknown role" in problems
    assert "odata.streams: unknown stream(s) ['orders']" in problems
    assert "odata.price_types: not Ref_Keys" in problems
    assert "odata.timezone: unknown time zone" in problems
    assert "odata.order_fields.number: must name" in problems


def test_price_and_stock_filters_become_one_call_each(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[odata]\nprice_types = ["0135f909-5b65-11ee-84bf-00d861dd2b4a"]\n'
        'stock_warehouses = ["081bc346-2abc-13e4-a1bd-0050568b1688", '
        '"081BC346-2ABC-13E4-A1BD-0050568B1689"]\n',
    )
    streams = make_streams(load_settings(path, env={}).odata)
    assert streams["prices"].resources() == [
        "InformationRegister_ЦеныНоменклатуры_RecordType/SliceLast("
        "Condition='ВидЦены_Key eq guid'0135f909-5b65-11ee-84bf-00d861dd2b4a'')"
    ]
    assert [r.split("Condition=")[1] for r in streams["stock"].resources()] == [
        "'Склад_Key eq guid'081bc346-2abc-13e4-a1bd-0050568b1688'')",
        "'Склад_Key eq guid'081bc346-2abc-13e4-a1bd-0050568b1689'')",
    ]
