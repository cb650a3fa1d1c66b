"""Which packages may be imported in two lanes at once (syncd.importer.lanes.split)."""

from __future__ import annotations

from pathlib import Path

from syncd.importer import lanes
from syncd.importer.package import describe_files
from tests.cml_builder import HEAD, TAIL, P, catalog, import_xml, offers_xml, write_package


def split_of(paths: list[Path]) -> tuple[list[str], list[str]] | None:
    found = lanes.split(describe_files(paths))
    if found is None:
        return None
    return [f.name for f in found.catalog], [f.name for f in found.offers]


def test_the_standard_package_splits_into_catalog_and_offers(tmp_path: Path) -> None:
    files = write_package(tmp_path, catalog(5))
    assert split_of(files) == (["import.xml"], ["offers.xml"])


def test_variants_sent_as_goods_keep_the_files_in_order(tmp_path: Path) -> None:
    """``Товар BASE#38`` in import.xml writes offers, as offers.xml does."""
    files = write_package(tmp_path, catalog(3))
    files[0].write_text(import_xml([P("BASE#38", "Сапоги (38)")]), encoding="utf-8")
    assert split_of(files) is None


def test_a_hash_sign_in_descriptions_is_not_a_variant(tmp_path: Path) -> None:
    files = write_package(tmp_path, [P("A-1", "Кольцо &#8470; 5 #хит")])
    assert "#" in files[0].read_text(encoding="utf-8")
    assert split_of(files) is not None


REFERENCES = (
    "<ТипыЦен><ТипЦены><Ид>PT-RETAIL</Ид><Наименование>Р</Наименование></ТипЦены></ТипыЦен>"
    "<Склады><Склад><Ид>WH-1</Ид><Наименование>Главный</Наименование></Склад></Склады>"
)


def test_price_types_and_warehouses_leading_import_xml_split_with_the_offers_lane_owning_them(
    tmp_path: Path,
) -> None:
    """CommerceML 2.08+ lists ТипыЦен and Склады in import.xml's Классификатор too."""
    files = write_package(tmp_path, catalog(3))
    text = files[0].read_text(encoding="utf-8")
    files[0].write_text(text.replace("</Классификатор>", REFERENCES + "</Классификатор>"), "utf-8")
    found = lanes.split(describe_files(files))
    assert found is not None
    assert ([f.name for f in found.catalog], [f.name for f in found.offers]) == (
        ["import.xml"],
        ["offers.xml"],
    )
    assert found.references_first


def test_price_types_after_the_catalog_keep_the_files_in_order(tmp_path: Path) -> None:
    """Read up to its first product, the file would not show them all: no split."""
    files = write_package(tmp_path, catalog(3))
    text = files[0].read_text(encoding="utf-8")
    late = text.replace("</Каталог>", "</Каталог><Классификатор>" + REFERENCES + "</Классификатор>")
    files[0].write_text(late, "utf-8")
    assert split_of(files) is None


def test_other_tables_in_both_files_keep_them_in_order(tmp_path: Path) -> None:
    files = write_package(tmp_path, catalog(3))
    files[0].write_text(import_xml([P("BASE#38", "Сапоги (38)")]), encoding="utf-8")
    text = files[0].read_text(encoding="utf-8")
    files[0].write_text(text.replace("</Классификатор>", REFERENCES + "</Классификатор>"), "utf-8")
    assert split_of(files) is None


def test_one_document_holding_catalog_and_offers_goes_alone(tmp_path: Path) -> None:
    both = tmp_path / "import.xml"
    catalog_part = import_xml(catalog(2)).removesuffix(TAIL)
    offers_part = offers_xml(catalog(2)).removeprefix(HEAD)
    both.write_text(catalog_part + offers_part, encoding="utf-8")
    offers = tmp_path / "offers.xml"
    offers.write_text(offers_xml(catalog(2)), encoding="utf-8")
    assert split_of([both, offers]) is None


def test_one_kind_only_or_other_documents_are_not_split(tmp_path: Path) -> None:
    files = write_package(tmp_path, catalog(3))
    assert split_of(files[:1]) is None
    assert split_of(files[1:]) is None
    orders = tmp_path / "orders.xml"
    orders.write_text(HEAD + "<Документ><Ид>1</Ид></Документ>" + TAIL, encoding="utf-8")
    assert split_of([*files, orders]) is None


def test_windows_1251_files_are_searched_in_their_encoding(tmp_path: Path) -> None:
    files = write_package(tmp_path, catalog(3))
    for path in files:
        text = path.read_text(encoding="utf-8-sig").replace(
            'encoding="UTF-8"', 'encoding="windows-1251"'
        )
        path.write_bytes(text.encode("cp1251"))
    assert split_of(files) == (["import.xml"], ["offers.xml"])
    variant = import_xml([P("BASE#38", "Сапоги")]).removeprefix("\ufeff")
    files[0].write_bytes(
        variant.replace('encoding="UTF-8"', 'encoding="windows-1251"').encode("cp1251")
    )
    assert split_of(files) is None


def test_the_search_sees_a_name_cut_by_a_chunk_boundary(tmp_path: Path) -> None:
    path = tmp_path / "offers.xml"
    head, marker, rest = offers_xml(catalog(3)).partition("<Предложения>\n")
    before = len((head + marker).encode()) + len("<!---->")
    pad = " " * (lanes._CHUNK - 5 - before)  # "<Предложение>" starts 5 bytes before the cut
    path.write_text(head + marker + f"<!--{pad}-->" + rest, encoding="utf-8")
    assert path.read_bytes().find("<Предложение>".encode()) == lanes._CHUNK - 5
    assert "offers" in lanes.tables_written(path, "utf-8")


def test_the_bench_generates_the_208_package_shape_that_splits_with_references_first(
    tmp_path: Path,
) -> None:
    from bench.gen_package import PackageSpec, generate_package

    shaped = generate_package(
        tmp_path / "208", PackageSpec(products=20, classifier_references=True)
    )
    plain = generate_package(tmp_path / "207", PackageSpec(products=20))
    assert "<ТипыЦен>" in shaped.files[0].read_text(encoding="utf-8")
    found = lanes.split(describe_files(list(shaped.files)))
    assert found is not None
    assert found.references_first
    found = lanes.split(describe_files(list(plain.files)))
    assert found is not None
    assert not found.references_first
