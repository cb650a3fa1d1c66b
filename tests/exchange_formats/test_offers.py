"""offers.xml and the split files: offers, prices and stock in every shape 1C writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_formats.errors import FormatError
from exchange_formats.records import (
    Characteristic,
    Offer,
    OfferPrices,
    OfferStock,
    Price,
    PriceType,
    StockLevel,
    UnitRef,
    Warehouse,
)

from .helpers import document, read


def offers(inner: str, head: str = "") -> bytes:
    return document(
        f"<ПакетПредложений><Ид>CAT#</Ид>{head}<Предложения>{inner}</Предложения></ПакетПредложений>"
    )


FULL_OFFER = """
<Предложение>
  <Ид>P1#C38</Ид><Артикул>A-1</Артикул><Наименование>Сапоги (38)</Наименование>
  <БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
  <ХарактеристикиТовара><ХарактеристикаТовара><Ид>CH</Ид><Наименование>Размер</Наименование>
    <Значение>38</Значение></ХарактеристикаТовара></ХарактеристикиТовара>
  <Цены>
    <Цена><Представление>1 719 руб. за шт</Представление><ИдТипаЦены>PT1</ИдТипаЦены>
      <ЦенаЗаЕдиницу>1719</ЦенаЗаЕдиницу><Валюта>руб.</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена>
    <Цена><ИдТипаЦены>PT2</ИдТипаЦены><ЦенаЗаЕдиницу>1 500,50</ЦенаЗаЕдиницу><Валюта>грн</Валюта>
      <МинКоличество>10</МинКоличество></Цена>
  </Цены>
  <Количество>20</Количество>
  <Склад ИдСклада="WH1" КоличествоНаСкладе="15"/><Склад ИдСклада="WH2" КоличествоНаСкладе="5"/>
</Предложение>
"""


def test_one_offer_gives_its_description_prices_and_stock() -> None:
    head = """<ТипыЦен><ТипЦены><Ид>PT1</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен>
      <Склады><Склад><Ид>WH1</Ид><Наименование>Магазин</Наименование></Склад></Склады>"""
    assert read(offers(FULL_OFFER, head)) == [
        PriceType(onec_id="PT1", name="Розничная", currency="RUB"),
        Warehouse(onec_id="WH1", name="Магазин"),
        Offer(
            onec_id="P1#C38",
            product_onec_id="P1",
            name="Сапоги (38)",
            sku="A-1",
            unit=UnitRef(text="шт", code="796", full_name="Штука"),
            characteristics=(Characteristic(name="Размер", value="38", onec_id="CH"),),
        ),
        OfferPrices(
            offer_onec_id="P1#C38",
            product_onec_id="P1",
            prices=(
                Price(
                    price_type_onec_id="PT1",
                    value=Decimal("1719"),
                    currency="RUB",
                    unit="шт",
                    coefficient=Decimal(1),
                    presentation="1 719 руб. за шт",
                ),
                Price(
                    price_type_onec_id="PT2",
                    value=Decimal("1500.50"),
                    currency="UAH",
                    min_quantity=Decimal(10),
                ),
            ),
        ),
        OfferStock(
            offer_onec_id="P1#C38",
            product_onec_id="P1",
            total=Decimal(20),
            levels=(
                StockLevel(warehouse_onec_id="WH1", quantity=Decimal(15)),
                StockLevel(warehouse_onec_id="WH2", quantity=Decimal(5)),
            ),
        ),
    ]


def test_a_prices_file_gives_no_offer_only_prices() -> None:
    body = """<Предложение><Ид>P1</Ид><Цены><Цена><ИдТипаЦены>PT</ИдТипаЦены>
      <ЦенаЗаЕдиницу>790</ЦенаЗаЕдиницу></Цена></Цены></Предложение>"""
    assert read(offers(body)) == [
        OfferPrices(
            offer_onec_id="P1",
            product_onec_id="P1",
            prices=(Price(price_type_onec_id="PT", value=Decimal(790)),),
        )
    ]


def test_a_bitrix_offers_file_gives_offers_without_prices_or_stock() -> None:
    body = """<Предложение><Ид>P1</Ид><НомерВерсии>AAA=</НомерВерсии><ПометкаУдаления>false</ПометкаУдаления>
      <Наименование>Дезодорант </Наименование></Предложение>
      <Предложение><Ид>P2</Ид><ПометкаУдаления>true</ПометкаУдаления></Предложение>"""
    assert read(offers(body)) == [
        Offer(onec_id="P1", product_onec_id="P1", name="Дезодорант", version="AAA="),
        Offer(onec_id="P2", product_onec_id="P2", deleted=True),
    ]


STOCK_SHAPES = {
    "total only": ("<Количество>3</Количество>", Decimal(3), ()),
    "attribute rows": (
        '<Склад ИдСклада="W1" КоличествоНаСкладе="2"/><Склад ИдСклада="W2" КоличествоНаСкладе="-1"/>',
        None,
        (("W1", "2"), ("W2", "-1")),
    ),
    "rests with warehouses": (
        "<Остатки><Остаток><Склад><Ид>W1</Ид><Количество>0</Количество></Склад></Остаток>"
        "<Остаток><Склад><Ид>W2</Ид><Количество>1.5</Количество></Склад></Остаток></Остатки>",
        None,
        (("W1", "0"), ("W2", "1.5")),
    ),
    "rests without warehouse": (
        "<Остатки><Остаток><Количество>2</Количество></Остаток></Остатки>",
        Decimal(2),
        (),
    ),
    "rests with the quantity beside the warehouse": (
        "<Остатки><Остаток><Склад><Ид>W1</Ид></Склад><Количество>4</Количество></Остаток></Остатки>",
        None,
        (("W1", "4"),),
    ),
    "quick-update Склады": (
        '<Склады ИдСклада="W1" КоличествоНаСкладе="7"/>',
        None,
        (("W1", "7"),),
    ),
    "total and rows": (
        '<Количество>5</Количество><Склад ИдСклада="W1" КоличествоНаСкладе="5"/>',
        Decimal(5),
        (("W1", "5"),),
    ),
}


@pytest.mark.parametrize("shape", STOCK_SHAPES)
def test_every_stock_shape_gives_the_same_record(shape: str) -> None:
    xml, total, levels = STOCK_SHAPES[shape]
    [stock] = read(offers(f"<Предложение><Ид>P1</Ид>{xml}</Предложение>"))
    assert stock == OfferStock(
        offer_onec_id="P1",
        product_onec_id="P1",
        total=total,
        levels=tuple(StockLevel(warehouse_onec_id=w, quantity=Decimal(q)) for w, q in levels),
    )


def test_absent_stock_is_not_zero() -> None:
    records = read(offers("<Предложение><Ид>P1</Ид><Наименование>x</Наименование></Предложение>"))
    assert not any(isinstance(record, OfferStock) for record in records)
    empty = read(offers("<Предложение><Ид>P1</Ид><Количество/></Предложение>"))
    assert empty == []


def test_quick_update_offers_join_the_characteristic_id() -> None:
    body = """<ИзмененияПакетаПредложений><Ид>X</Ид><Предложения><Предложение>
      <Ид>P1</Ид><ИдХарактеристики>C1</ИдХарактеристики><Количество>1</Количество>
      </Предложение></Предложения></ИзмененияПакетаПредложений>"""
    assert read(document(body)) == [
        OfferStock(offer_onec_id="P1#C1", product_onec_id="P1", total=Decimal(1))
    ]


def test_warehouses_of_offer_rows_are_not_read_as_a_dictionary() -> None:
    records = read(offers(FULL_OFFER))
    assert not any(isinstance(record, Warehouse) for record in records)


@pytest.mark.parametrize(
    ("inner", "message", "element"),
    [
        ("<Цена><ЦенаЗаЕдиницу>1</ЦенаЗаЕдиницу></Цена>", "no ИдТипаЦены", "Предложение/Цены/Цена"),
        (
            "<Цена><ИдТипаЦены>T</ИдТипаЦены><ЦенаЗаЕдиницу>дорого</ЦенаЗаЕдиницу></Цена>",
            "not a number",
            "Предложение/Цены/Цена/ЦенаЗаЕдиницу",
        ),
        (
            "<Цена><ИдТипаЦены>T</ИдТипаЦены><ЦенаЗаЕдиницу>NaN</ЦенаЗаЕдиницу></Цена>",
            "not a number",
            "Предложение/Цены/Цена/ЦенаЗаЕдиницу",
        ),
    ],
)
def test_a_bad_price_is_an_error_naming_its_element(inner: str, message: str, element: str) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        read(offers(f"<Предложение><Ид>P1</Ид><Цены>{inner}</Цены></Предложение>"))
    assert caught.value.element == element


def test_an_offer_without_id_is_an_error() -> None:
    with pytest.raises(FormatError, match="offer has no Ид"):
        read(offers("<Предложение><Наименование>x</Наименование></Предложение>"))


@pytest.mark.parametrize(
    ("inner", "presentation"),
    [
        (
            "<Представление>Уточните у менеджера</Представление><ИдТипаЦены>T</ИдТипаЦены>"
            "<ЦенаЗаЕдиницу/><Валюта>RUB</Валюта>",
            "Уточните у менеджера",
        ),
        ("<ИдТипаЦены>T</ИдТипаЦены><ЦенаЗаЕдиницу>  </ЦенаЗаЕдиницу>", None),
        ("<ИдТипаЦены>T</ИдТипаЦены>", None),
    ],
)
def test_a_price_without_a_value_is_a_price_on_request_keeping_its_presentation(
    inner: str, presentation: str | None
) -> None:
    records = read(
        offers(f"<Предложение><Ид>P1</Ид><Цены><Цена>{inner}</Цена></Цены></Предложение>")
    )
    (prices,) = [record for record in records if isinstance(record, OfferPrices)]
    (price,) = prices.prices
    assert price.value is None
    assert price.presentation == presentation
    assert price.price_type_onec_id == "T"
