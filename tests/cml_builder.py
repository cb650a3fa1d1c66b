"""Small CommerceML packages for tests, written the way 1C writes them (2.07, UTF-8 with BOM).

Kept deliberately plain (string templates) so a test reads like the file it imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

HEAD = (
    '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n'
    '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'ВерсияСхемы="2.07" ДатаФормирования="2024-05-01T10:00:00">\n'
)
TAIL = "</КоммерческаяИнформация>\n"


@dataclass
class P:
    """A product with its offer: price per price type, stock per warehouse."""

    onec_id: str
    name: str
    group: str = "G-1"
    prices: dict[str, str] = field(default_factory=lambda: {"PT-RETAIL": "100"})
    stock: dict[str, str] = field(default_factory=lambda: {"WH-1": "5"})
    deleted: bool = False
    variants: Sequence[str] = ()  # characteristic ids: offers "<onec_id>#<variant>"


def _flag(only_changes: bool | None) -> str:
    return "" if only_changes is None else f' СодержитТолькоИзменения="{str(only_changes).lower()}"'


def import_xml(products: Iterable[P], *, only_changes: bool | None = False) -> str:
    groups = (
        "<Группы><Группа><Ид>G-1</Ид><Наименование>Обувь</Наименование><Группы>"
        "<Группа><Ид>G-2</Ид><Наименование>Сапоги</Наименование></Группа></Группы>"
        "</Группа></Группы>"
    )
    props = (
        "<Свойства><Свойство><Ид>PR-BRAND</Ид><Наименование>Бренд</Наименование>"
        "<ТипЗначений>Справочник</ТипЗначений><ВариантыЗначений>"
        "<Справочник><ИдЗначения>V-1</ИдЗначения><Значение>Acme</Значение></Справочник>"
        "</ВариантыЗначений></Свойство></Свойства>"
    )
    items = "".join(_product(p) for p in products)
    return (
        HEAD
        + f"<Классификатор><Ид>CLS</Ид><Наименование>Классификатор</Наименование>{groups}{props}"
        "</Классификатор>\n"
        f"<Каталог{_flag(only_changes)}><Ид>CAT</Ид><ИдКлассификатора>CLS</ИдКлассификатора>"
        f"<Наименование>Каталог</Наименование><Товары>\n{items}</Товары></Каталог>\n" + TAIL
    )


def _product(p: P) -> str:
    status = ' Статус="Удален"' if p.deleted else ""
    return (
        f"<Товар{status}><Ид>{escape(p.onec_id)}</Ид><Артикул>A-{escape(p.onec_id)}</Артикул>"
        f"<Наименование>{escape(p.name)}</Наименование>"
        '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>'
        f"<Группы><Ид>{p.group}</Ид></Группы><Описание>Описание {escape(p.name)}</Описание>"
        "<ЗначенияСвойств><ЗначенияСвойства><Ид>PR-BRAND</Ид><Значение>V-1</Значение>"
        "</ЗначенияСвойства></ЗначенияСвойств></Товар>\n"
    )


def offers_xml(products: Iterable[P], *, only_changes: bool | None = False) -> str:
    offers = "".join(_offers(p) for p in products)
    return (
        HEAD
        + f"<ПакетПредложений{_flag(only_changes)}><Ид>CAT#</Ид><Наименование>Пакет</Наименование>"
        "<ИдКаталога>CAT</ИдКаталога><ИдКлассификатора>CLS</ИдКлассификатора>"
        "<ТипыЦен><ТипЦены><Ид>PT-RETAIL</Ид><Наименование>Розничная</Наименование>"
        "<Валюта>RUB</Валюта></ТипЦены><ТипЦены><Ид>PT-OPT</Ид><Наименование>Оптовая</Наименование>"
        "<Валюта>RUB</Валюта></ТипЦены></ТипыЦен>"
        "<Склады><Склад><Ид>WH-1</Ид><Наименование>Главный</Наименование></Склад>"
        "<Склад><Ид>WH-2</Ид><Наименование>Второй</Наименование></Склад></Склады>"
        f"<Предложения>\n{offers}</Предложения></ПакетПредложений>\n" + TAIL
    )


def _offers(p: P) -> str:
    ids = [f"{p.onec_id}#{v}" for v in p.variants] or [p.onec_id]
    return "".join(_offer(p, offer_id) for offer_id in ids)


def _offer(p: P, offer_id: str) -> str:
    prices = "".join(
        f"<Цена><Представление>{v} RUB за шт</Представление><ИдТипаЦены>{pt}</ИдТипаЦены>"
        f"<ЦенаЗаЕдиницу>{v}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица>"
        "<Коэффициент>1</Коэффициент></Цена>"
        for pt, v in p.prices.items()
    )
    total = sum(float(q) for q in p.stock.values())
    stock = "".join(f'<Склад ИдСклада="{w}" КоличествоНаСкладе="{q}"/>' for w, q in p.stock.items())
    characteristic = ""
    if "#" in offer_id:
        size = offer_id.split("#", 1)[1]
        characteristic = (
            "<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Размер</Наименование>"
            f"<Значение>{escape(size)}</Значение></ХарактеристикаТовара></ХарактеристикиТовара>"
        )
    return (
        f"<Предложение><Ид>{escape(offer_id)}</Ид><Наименование>{escape(p.name)}</Наименование>"
        f"{characteristic}<Цены>{prices}</Цены><Количество>{total:g}</Количество>{stock}"
        "</Предложение>\n"
    )


def write_package(
    directory: Path,
    products: Sequence[P],
    *,
    only_changes: bool | None = False,
    files: Sequence[str] = ("import.xml", "offers.xml"),
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in files:
        maker = import_xml if name.startswith("import") else offers_xml
        path = directory / name
        path.write_bytes(maker(products, only_changes=only_changes).encode("utf-8"))
        written.append(path)
    return written


def catalog(n: int, *, prefix: str = "P", price: int = 100) -> list[P]:
    return [
        P(
            onec_id=f"{prefix}-{i:05d}",
            name=f"Товар {i}",
            group="G-2" if i % 2 else "G-1",
            prices={"PT-RETAIL": str(price + i), "PT-OPT": str(price + i - 10)},
            stock={"WH-1": str(i % 7), "WH-2": "1"},
            variants=("38", "39") if i % 5 == 0 else (),
        )
        for i in range(n)
    ]
