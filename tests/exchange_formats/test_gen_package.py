"""The benchmark's package generator writes what it says, in both layouts and encodings."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.gen_package import PackageSpec, generate_package
from exchange_formats.commerceml import detect, open_document
from exchange_formats.records import DocumentKind, OfferPrices, OfferStock


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
def test_a_generated_package_reads_back_with_its_counts(
    tmp_path: Path, split: bool, encoding: str
) -> None:
    spec = PackageSpec(
        products=50, variants=3, price_types=3, warehouses=2, encoding=encoding, split=split
    )
    package = generate_package(tmp_path, spec)
    kinds: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for path in package.files:
        header = detect(path)
        assert header.encoding == encoding
        kinds[header.kind] += 1
        for record in open_document(path).records():
            counts[type(record).__name__] += 1
            if isinstance(record, OfferPrices):
                counts["prices"] += len(record.prices)
            if isinstance(record, OfferStock):
                counts["levels"] += len(record.levels)
    assert counts["Product"] == package.products == 50
    assert counts["Offer"] == package.offers == 150
    assert counts["prices"] == package.prices == 150 * 3
    assert counts["levels"] == package.stock_rows == 150 * 2
    assert (counts["PriceType"], counts["Warehouse"]) == (3, 2)
    assert kinds[DocumentKind.CATALOG] == (2 if split else 1)
    assert kinds[DocumentKind.OFFERS] == (3 if split else 1)


def test_the_same_spec_writes_the_same_bytes(tmp_path: Path) -> None:
    spec = PackageSpec(products=20, variants=1)
    first = generate_package(tmp_path / "a", spec)
    second = generate_package(tmp_path / "b", spec)
    assert [p.read_bytes() for p in first.files] == [p.read_bytes() for p in second.files]


def test_a_missing_file_is_an_os_error_not_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        detect(tmp_path / "absent.xml")


def test_the_208_shape_lists_price_types_and_warehouses_in_import_xml(tmp_path: Path) -> None:
    spec = PackageSpec(products=10, price_types=3, warehouses=3, classifier_references=True)
    import_xml, offers_xml = generate_package(tmp_path, spec).files
    assert detect(import_xml).schema_version == "2.08"
    in_import = Counter(type(r).__name__ for r in open_document(import_xml).records())
    in_offers = Counter(type(r).__name__ for r in open_document(offers_xml).records())
    assert (in_import["PriceType"], in_import["Warehouse"], in_import["Product"]) == (3, 3, 10)
    assert (in_offers["PriceType"], in_offers["Warehouse"]) == (3, 3)
