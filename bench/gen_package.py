"""Deterministic generator of realistic CommerceML packages, streamed to disk.

    python bench/gen_package.py --products N [--variants K] [--price-types P] [--warehouses W]
        [--encoding windows-1251] [--split] [--classifier-references] [--seed S] --out DIR

Writes ``import.xml`` + ``offers.xml`` (2.07-style, namespace ``urn:1C.ru:commerceml_2``, UTF-8
with BOM like real 1C 8 exports), or with ``--split`` the Bitrix-style 2.09 set
``import___<guid>.xml`` (classifier: groups, properties, price types, warehouses, units),
``import___<guid>.xml`` (products), ``offers___``, ``prices___`` and ``rests___``.
``--classifier-references`` writes the 2.08+ shape of the pair: import.xml (version 2.08) lists
the price types, warehouses and units in its classifier as well as offers.xml.

Each product is ~2 KB and each offer ~1-1.5 KB of XML, in line with real exports. The same
arguments always give the same bytes. Output is written product by product, so memory stays flat
whatever N is (1,000,000 products is ~2 GB of import.xml).

Use ``generate_package(...)`` from Python (tests, other benchmarks); it returns the file paths.
"""

from __future__ import annotations

import argparse
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

NS = "urn:1C.ru:commerceml_2"
GENERATED_AT = "2024-05-01T10:00:00"

_NOUNS = ["Сапоги", "Ботинки", "Куртка", "Шапка", "Перчатки", "Кроссовки", "Брюки", "Рубашка"]
_ADJECTIVES = ["женские", "мужские", "детские", "демисезонные", "зимние", "летние"]
_COLOURS = ["чёрный", "коричневый", "бежевый", "синий", "красный", "белый", "серый"]
_SIZES = ["36", "37", "38", "39", "40", "41", "42", "43", "44", "45"]
_COUNTRIES = ["РОССИЯ", "ИТАЛИЯ", "КИТАЙ", "ТУРЦИЯ", "ВЬЕТНАМ"]
_DESCRIPTION = (
    "&lt;p&gt;Модель {n} из натуральной кожи. Подошва из термопластичной резины; каблук {h} мм. "
    "Гарантия {g} месяцев.&lt;/p&gt;"
)


@dataclass(frozen=True, slots=True)
class PackageSpec:
    products: int
    variants: int = 0  # variant offers per product; 0 = one offer per product (bare Ид)
    price_types: int = 2
    warehouses: int = 2
    encoding: str = "utf-8"
    split: bool = False
    seed: int = 1
    groups: int = 40
    properties: int = 12
    # the 2.08+ shape: import.xml (version 2.08) lists ТипыЦен, Склады and ЕдиницыИзмерения in
    # its classifier as well as offers.xml
    classifier_references: bool = False


@dataclass(frozen=True, slots=True)
class Package:
    """What was written, in the order 1C would send it."""

    files: tuple[Path, ...]
    products: int
    offers: int
    prices: int  # Цена elements
    stock_rows: int  # per-warehouse stock entries


class _Ids:
    """Deterministic UUIDs from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class _Dictionary:
    groups: tuple[tuple[str, str, str | None], ...]  # (id, name, parent id)
    properties: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]  # id, name, options
    price_types: tuple[tuple[str, str], ...]
    warehouses: tuple[tuple[str, str], ...]
    catalog_id: str


def _dictionary(spec: PackageSpec, ids: _Ids) -> _Dictionary:
    groups: list[tuple[str, str, str | None]] = []
    for i in range(spec.groups):
        parent = groups[i // 5 - 1][0] if i >= 5 else None
        groups.append((ids(), f"{_NOUNS[i % len(_NOUNS)]} группа {i}", parent))
    properties = []
    for i in range(spec.properties):
        options = tuple((ids(), f"Значение {i}.{j}") for j in range(8))
        properties.append((ids(), f"Свойство {i}", options))
    price_types = tuple(
        (ids(), name) for name in (["Розничная", "Оптовая", "Закупочная", "Акция"] * 4)
    )[: spec.price_types]
    warehouses = tuple((ids(), f"Склад №{i + 1}") for i in range(spec.warehouses))
    return _Dictionary(tuple(groups), tuple(properties), price_types, warehouses, ids())


def _open(path: Path, encoding: str) -> TextIO:
    # 1C 8 writes UTF-8 with a BOM; windows-1251 files have none.
    codec = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
    return open(path, "w", encoding=codec, newline="\n", buffering=1 << 20)


def _root_open(out: TextIO, encoding: str, version: str = "2.07") -> None:
    out.write(f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n')
    out.write(
        f'<КоммерческаяИнформация xmlns="{NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'ВерсияСхемы="{version}" ДатаФормирования="{GENERATED_AT}">\n'
    )


def _classifier(out: TextIO, d: _Dictionary, *, bitrix: bool) -> None:
    out.write(f"\t<Классификатор>\n\t\t<Ид>{d.catalog_id}</Ид>\n")
    out.write("\t\t<Наименование>Классификатор (Основной каталог)</Наименование>\n")
    out.write("\t\t<Группы>\n")
    for gid, name, parent in d.groups:
        if parent is None:
            _group(out, d, gid, name, 3)
    out.write("\t\t</Группы>\n\t\t<Свойства>\n")
    for pid, name, options in d.properties:
        out.write(f"\t\t\t<Свойство>\n\t\t\t\t<Ид>{pid}</Ид>\n")
        out.write(f"\t\t\t\t<Наименование>{escape(name)}</Наименование>\n")
        out.write("\t\t\t\t<ТипЗначений>Справочник</ТипЗначений>\n\t\t\t\t<ВариантыЗначений>\n")
        for oid, value in options:
            out.write(
                f"\t\t\t\t\t<Справочник><ИдЗначения>{oid}</ИдЗначения>"
                f"<Значение>{escape(value)}</Значение></Справочник>\n"
            )
        out.write("\t\t\t\t</ВариантыЗначений>\n\t\t\t</Свойство>\n")
    out.write("\t\t</Свойства>\n")
    if bitrix:
        out.write("\t\t<ТипыЦен>\n")
        _price_types(out, d)
        out.write("\t\t</ТипыЦен>\n\t\t<Склады>\n")
        _warehouses(out, d)
        out.write("\t\t</Склады>\n\t\t<ЕдиницыИзмерения>\n")
        out.write(
            "\t\t\t<ЕдиницаИзмерения><Ид>796</Ид><НаименованиеКраткое>шт</НаименованиеКраткое>"
            "<Код>796</Код><НаименованиеПолное>Штука</НаименованиеПолное>"
            "<МеждународноеСокращение>PCE</МеждународноеСокращение></ЕдиницаИзмерения>\n"
        )
        out.write("\t\t</ЕдиницыИзмерения>\n")
    out.write("\t</Классификатор>\n")


def _group(out: TextIO, d: _Dictionary, gid: str, name: str, depth: int) -> None:
    tabs = "\t" * depth
    out.write(f"{tabs}<Группа>\n{tabs}\t<Ид>{gid}</Ид>\n")
    out.write(f"{tabs}\t<Наименование>{escape(name)}</Наименование>\n")
    children = [(cid, cname) for cid, cname, parent in d.groups if parent == gid]
    if children:
        out.write(f"{tabs}\t<Группы>\n")
        for cid, cname in children:
            _group(out, d, cid, cname, depth + 2)
        out.write(f"{tabs}\t</Группы>\n")
    out.write(f"{tabs}</Группа>\n")


def _price_types(out: TextIO, d: _Dictionary) -> None:
    for tid, name in d.price_types:
        out.write(
            f"\t\t\t<ТипЦены>\n\t\t\t\t<Ид>{tid}</Ид>\n\t\t\t\t<Наименование>{name}</Наименование>\n"
            "\t\t\t\t<Валюта>RUB</Валюта>\n\t\t\t\t<Налог>\n\t\t\t\t\t<Наименование>НДС"
            "</Наименование>\n\t\t\t\t\t<УчтеноВСумме>true</УчтеноВСумме>\n\t\t\t\t</Налог>\n"
            "\t\t\t</ТипЦены>\n"
        )


def _warehouses(out: TextIO, d: _Dictionary) -> None:
    for wid, name in d.warehouses:
        out.write(
            f"\t\t\t<Склад>\n\t\t\t\t<Ид>{wid}</Ид>\n\t\t\t\t<Наименование>{name}</Наименование>\n"
            "\t\t\t</Склад>\n"
        )


@dataclass(frozen=True, slots=True)
class _Item:
    """One generated product and its offers (variant ids and characteristics)."""

    index: int
    onec_id: str
    name: str
    sku: str
    offers: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]  # id, name, characteristics


def _items(spec: PackageSpec, ids: _Ids, rng: random.Random) -> Iterator[_Item]:
    for n in range(spec.products):
        onec_id = ids()
        name = f"{rng.choice(_NOUNS)} {rng.choice(_ADJECTIVES)} модель {n}"
        if spec.variants:
            offers = tuple(
                (
                    f"{onec_id}#{ids()}",
                    f"{name} ({_SIZES[k % len(_SIZES)]}, {_COLOURS[k % len(_COLOURS)]})",
                    (("Размер", _SIZES[k % len(_SIZES)]), ("Цвет", _COLOURS[k % len(_COLOURS)])),
                )
                for k in range(spec.variants)
            )
        else:
            offers = ((onec_id, name, ()),)
        yield _Item(n, onec_id, name, f"A-{n:07d}", offers)


def _product(out: TextIO, item: _Item, d: _Dictionary, rng: random.Random, bitrix: bool) -> None:
    n = item.index
    group = d.groups[n % len(d.groups)][0]
    img = item.onec_id.replace("-", "")
    out.write("\t\t\t<Товар>\n")
    out.write(f"\t\t\t\t<Ид>{item.onec_id}</Ид>\n")
    if bitrix:
        out.write("\t\t\t\t<НомерВерсии>AAAAAQAAAAA=</НомерВерсии>\n")
        out.write("\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n")
    out.write(f"\t\t\t\t<Штрихкод>{2000000000000 + n}</Штрихкод>\n")
    out.write(f"\t\t\t\t<Артикул>{item.sku}</Артикул>\n")
    out.write(f"\t\t\t\t<Наименование>{escape(item.name)}</Наименование>\n")
    if bitrix:
        out.write("\t\t\t\t<БазоваяЕдиница>796</БазоваяЕдиница>\n")
    else:
        out.write(
            '\t\t\t\t<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" '
            'МеждународноеСокращение="PCE">шт</БазоваяЕдиница>\n'
        )
    out.write(f"\t\t\t\t<Группы>\n\t\t\t\t\t<Ид>{group}</Ид>\n\t\t\t\t</Группы>\n")
    description = _DESCRIPTION.format(n=n, h=20 + n % 60, g=6 + n % 18)
    out.write(f"\t\t\t\t<Описание>{description}</Описание>\n")
    out.write(f"\t\t\t\t<Картинка>import_files/{img[:2]}/{img}_0.jpg</Картинка>\n")
    out.write(f"\t\t\t\t<Страна>{rng.choice(_COUNTRIES)}</Страна>\n")
    out.write("\t\t\t\t<ЗначенияСвойств>\n")
    for pid, _, options in d.properties[: 3 + n % 4]:
        out.write(
            f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{pid}</Ид>\n"
            f"\t\t\t\t\t\t<Значение>{options[n % len(options)][0]}</Значение>\n"
            "\t\t\t\t\t</ЗначенияСвойства>\n"
        )
    out.write("\t\t\t\t</ЗначенияСвойств>\n")
    out.write(
        "\t\t\t\t<СтавкиНалогов>\n\t\t\t\t\t<СтавкаНалога>\n\t\t\t\t\t\t<Наименование>НДС"
        "</Наименование>\n\t\t\t\t\t\t<Ставка>20</Ставка>\n\t\t\t\t\t</СтавкаНалога>\n"
        "\t\t\t\t</СтавкиНалогов>\n\t\t\t\t<ЗначенияРеквизитов>\n"
    )
    requisites = (
        ("ВидНоменклатуры", "Обувь"),
        ("ТипНоменклатуры", "Товар"),
        ("Полное наименование", item.name),
    )
    for name, value in requisites:
        out.write(
            "\t\t\t\t\t<ЗначениеРеквизита>\n"
            f"\t\t\t\t\t\t<Наименование>{name}</Наименование>\n"
            f"\t\t\t\t\t\t<Значение>{escape(value)}</Значение>\n"
            "\t\t\t\t\t</ЗначениеРеквизита>\n"
        )
    out.write("\t\t\t\t</ЗначенияРеквизитов>\n\t\t\t</Товар>\n")


def _price_value(n: int, k: int, t: int) -> str:
    return f"{(500 + (n * 37 + k * 11) % 9500) * (100 - 7 * t) // 100}.{(n + t) % 100:02d}"


def _offer(
    out: TextIO,
    item: _Item,
    k: int,
    d: _Dictionary,
    parts: tuple[bool, bool, bool],  # descriptive, prices, stock
    bitrix: bool,
) -> tuple[int, int]:
    onec_id, name, characteristics = item.offers[k]
    descriptive, prices, stock = parts
    n = item.index
    out.write(f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{onec_id}</Ид>\n")
    if descriptive:
        if bitrix:
            out.write("\t\t\t\t<НомерВерсии>AAAAAQAAAAA=</НомерВерсии>\n")
            out.write("\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n")
        out.write(f"\t\t\t\t<Артикул>{item.sku}</Артикул>\n")
        out.write(f"\t\t\t\t<Наименование>{escape(name)}</Наименование>\n")
        if not bitrix:
            out.write(
                '\t\t\t\t<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" '
                'МеждународноеСокращение="PCE">шт</БазоваяЕдиница>\n'
            )
        if characteristics:
            out.write("\t\t\t\t<ХарактеристикиТовара>\n")
            for cname, cvalue in characteristics:
                out.write(
                    "\t\t\t\t\t<ХарактеристикаТовара>\n"
                    f"\t\t\t\t\t\t<Наименование>{cname}</Наименование>\n"
                    f"\t\t\t\t\t\t<Значение>{escape(cvalue)}</Значение>\n"
                    "\t\t\t\t\t</ХарактеристикаТовара>\n"
                )
            out.write("\t\t\t\t</ХарактеристикиТовара>\n")
    price_count = 0
    if prices:
        out.write("\t\t\t\t<Цены>\n")
        for t, (tid, _) in enumerate(d.price_types):
            value = _price_value(n, k, t)
            whole = f"{int(value.split('.')[0]):,}".replace(",", "\u00a0")
            out.write(
                "\t\t\t\t\t<Цена>\n"
                f"\t\t\t\t\t\t<Представление>{whole} руб. за шт</Представление>\n"
                f"\t\t\t\t\t\t<ИдТипаЦены>{tid}</ИдТипаЦены>\n"
                f"\t\t\t\t\t\t<ЦенаЗаЕдиницу>{value}</ЦенаЗаЕдиницу>\n"
                "\t\t\t\t\t\t<Валюта>RUB</Валюта>\n"
                "\t\t\t\t\t\t<Единица>шт</Единица>\n"
                "\t\t\t\t\t\t<Коэффициент>1</Коэффициент>\n"
                "\t\t\t\t\t</Цена>\n"
            )
            price_count += 1
        out.write("\t\t\t\t</Цены>\n")
    stock_rows = 0
    if stock:
        levels = [(wid, (n * 7 + k * 3 + w) % 25) for w, (wid, _) in enumerate(d.warehouses)]
        if bitrix:
            out.write("\t\t\t\t<Остатки>\n")
            for wid, quantity in levels:
                out.write(
                    "\t\t\t\t\t<Остаток>\n\t\t\t\t\t\t<Склад>\n"
                    f"\t\t\t\t\t\t\t<Ид>{wid}</Ид>\n"
                    f"\t\t\t\t\t\t\t<Количество>{quantity}</Количество>\n"
                    "\t\t\t\t\t\t</Склад>\n\t\t\t\t\t</Остаток>\n"
                )
            out.write("\t\t\t\t</Остатки>\n")
        else:
            out.write(f"\t\t\t\t<Количество>{sum(q for _, q in levels)}</Количество>\n")
            for wid, quantity in levels:
                out.write(f'\t\t\t\t<Склад ИдСклада="{wid}" КоличествоНаСкладе="{quantity}"/>\n')
        stock_rows = len(levels)
    out.write("\t\t\t</Предложение>\n")
    return price_count, stock_rows


def _offers_open(out: TextIO, d: _Dictionary, *, with_dictionaries: bool) -> None:
    out.write('\t<ПакетПредложений СодержитТолькоИзменения="false">\n')
    out.write(f"\t\t<Ид>{d.catalog_id}#</Ид>\n")
    out.write("\t\t<Наименование>Пакет предложений (Основной каталог)</Наименование>\n")
    out.write(f"\t\t<ИдКаталога>{d.catalog_id}</ИдКаталога>\n")
    out.write(f"\t\t<ИдКлассификатора>{d.catalog_id}</ИдКлассификатора>\n")
    if with_dictionaries:
        out.write("\t\t<ТипыЦен>\n")
        _price_types(out, d)
        out.write("\t\t</ТипыЦен>\n\t\t<Склады>\n")
        _warehouses(out, d)
        out.write("\t\t</Склады>\n")
    out.write("\t\t<Предложения>\n")


def _offers_close(out: TextIO) -> None:
    out.write("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")


def _catalog_open(out: TextIO, d: _Dictionary) -> None:
    out.write('\t<Каталог СодержитТолькоИзменения="false">\n')
    out.write(
        f"\t\t<Ид>{d.catalog_id}</Ид>\n\t\t<ИдКлассификатора>{d.catalog_id}</ИдКлассификатора>\n"
    )
    out.write("\t\t<Наименование>Основной каталог</Наименование>\n\t\t<Товары>\n")


def generate_package(out_dir: Path, spec: PackageSpec) -> Package:
    """Write the package into ``out_dir`` (created if needed) and say what it holds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if spec.split:
        return _generate_split(out_dir, spec)
    return _generate_pair(out_dir, spec)


def _generate_pair(out_dir: Path, spec: PackageSpec) -> Package:
    ids = _Ids(random.Random(spec.seed))
    d = _dictionary(spec, ids)
    import_path, offers_path = out_dir / "import.xml", out_dir / "offers.xml"
    offers = prices = stock_rows = 0
    with _open(import_path, spec.encoding) as cat, _open(offers_path, spec.encoding) as off:
        _root_open(cat, spec.encoding, "2.08" if spec.classifier_references else "2.07")
        _classifier(cat, d, bitrix=spec.classifier_references)
        _catalog_open(cat, d)
        _root_open(off, spec.encoding)
        _offers_open(off, d, with_dictionaries=True)
        rng = random.Random(spec.seed + 1)
        for item in _items(spec, ids, rng):
            _product(cat, item, d, rng, bitrix=False)
            for k in range(len(item.offers)):
                p, s = _offer(off, item, k, d, (True, True, True), bitrix=False)
                offers, prices, stock_rows = offers + 1, prices + p, stock_rows + s
        cat.write("\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>\n")
        _offers_close(off)
    return Package((import_path, offers_path), spec.products, offers, prices, stock_rows)


def _generate_split(out_dir: Path, spec: PackageSpec) -> Package:
    ids = _Ids(random.Random(spec.seed))
    d = _dictionary(spec, ids)
    names = [f"{kind}___{ids()}.xml" for kind in ("import", "import", "offers", "prices", "rests")]
    paths = tuple(out_dir / name for name in names)
    with _open(paths[0], spec.encoding) as out:
        _root_open(out, spec.encoding, "2.09")
        _classifier(out, d, bitrix=True)
        out.write("</КоммерческаяИнформация>\n")
    files = [_open(path, spec.encoding) for path in paths[1:]]
    try:
        cat, off, pri, res = files
        for out in files:
            _root_open(out, spec.encoding, "2.09")
        _catalog_open(cat, d)
        for out in (off, pri, res):
            _offers_open(out, d, with_dictionaries=False)
        rng = random.Random(spec.seed + 1)
        offers = prices = stock_rows = 0
        for item in _items(spec, ids, rng):
            _product(cat, item, d, rng, bitrix=True)
            for k in range(len(item.offers)):
                _offer(off, item, k, d, (True, False, False), bitrix=True)
                p, _ = _offer(pri, item, k, d, (False, True, False), bitrix=True)
                _, s = _offer(res, item, k, d, (False, False, True), bitrix=True)
                offers, prices, stock_rows = offers + 1, prices + p, stock_rows + s
        cat.write("\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>\n")
        for out in (off, pri, res):
            _offers_close(out)
    finally:
        for out in files:
            out.close()
    return Package(paths, spec.products, offers, prices, stock_rows)


def parse_args(argv: list[str] | None = None) -> tuple[Path, PackageSpec]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, required=True)
    parser.add_argument("--variants", type=int, default=0)
    parser.add_argument("--price-types", type=int, default=2)
    parser.add_argument("--warehouses", type=int, default=2)
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "windows-1251"])
    parser.add_argument("--split", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--classifier-references",
        action="store_true",
        help="list ТипыЦен and Склады in import.xml's Классификатор too, as 2.08+ exports do",
    )
    args = parser.parse_args(argv)
    spec = PackageSpec(
        products=args.products,
        variants=args.variants,
        price_types=args.price_types,
        warehouses=args.warehouses,
        encoding=args.encoding,
        split=args.split,
        seed=args.seed,
        classifier_references=args.classifier_references,
    )
    return args.out, spec


def main(argv: list[str] | None = None) -> None:
    out, spec = parse_args(argv)
    package = generate_package(out, spec)
    for path in package.files:
        print(f"{path}  {path.stat().st_size:,} bytes")
    print(
        f"products={package.products} offers={package.offers} prices={package.prices} "
        f"stock_rows={package.stock_rows}"
    )


if __name__ == "__main__":
    main()
