"""Random catalogs rendered as 1C would write them read back as the same records."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange_formats.commerceml import open_document
from exchange_formats.records import Offer, OfferPrices, OfferStock, Record

from . import strategies as s
from .catalog_xml import Style, render_import, render_offers
from .helpers import NAMESPACES

styles = st.builds(
    Style,
    namespace=st.sampled_from(list(NAMESPACES.values())),
    encoding=st.sampled_from(["utf-8", "windows-1251"]),
    bom=st.booleans(),
    comma=st.booleans(),
    rests=st.booleans(),
    status_attribute=st.booleans(),
).filter(lambda style: not (style.bom and style.encoding != "utf-8"))

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(data: bytes) -> list[Record]:
    return list(open_document(io.BytesIO(data), name="roundtrip.xml").records())


@SETTINGS
@given(
    style=styles,
    groups=s.group_forest(),
    properties=st.lists(s.properties(), max_size=3),
    price_types=st.lists(s.price_types(), max_size=2),
    warehouses=st.lists(s.warehouses(), max_size=2),
    units=st.lists(s.units(), max_size=2),
    products=st.lists(s.products(), max_size=4),
)
def test_an_import_file_reads_back_equal(
    style: Style,
    groups: list,  # type: ignore[type-arg]
    properties: list,  # type: ignore[type-arg]
    price_types: list,  # type: ignore[type-arg]
    warehouses: list,  # type: ignore[type-arg]
    units: list,  # type: ignore[type-arg]
    products: list,  # type: ignore[type-arg]
) -> None:
    data = render_import(
        style,
        groups=groups,
        properties=properties,
        price_types=price_types,
        warehouses=warehouses,
        units=units,
        products=products,
    )
    expected = [*groups, *properties, *price_types, *warehouses, *units, *products]
    assert read(data) == expected


@SETTINGS
@given(
    style=styles,
    price_types=st.lists(s.price_types(), max_size=2),
    warehouses=st.lists(s.warehouses(), max_size=2),
    offers=st.lists(s.offers(), max_size=5),
)
def test_an_offers_file_reads_back_equal(
    style: Style,
    price_types: list,  # type: ignore[type-arg]
    warehouses: list,  # type: ignore[type-arg]
    offers: list[tuple[Offer, OfferPrices | None, OfferStock | None]],
) -> None:
    data = render_offers(style, price_types=price_types, warehouses=warehouses, offers=offers)
    expected: list[Record] = [*price_types, *warehouses]
    for offer, prices, stock in offers:
        expected.extend(record for record in (offer, prices, stock) if record is not None)
    assert read(data) == expected
