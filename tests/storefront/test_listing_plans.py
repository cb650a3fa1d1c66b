"""The product listing's plans on PostgreSQL at a realistic size: every common listing (each sort,
group with subgroups, price range in a price type, in stock, a property) reads the catalog
through indexes, never a sequential scan of products, offers, prices or stock, and a page costs
the same few statements whatever its size (no query per product): on PostgreSQL one for the
page and one for its summaries, after one for a group's subgroups."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from config import DatabaseSettings
from storefront.database import Database
from storefront.metrics import StorefrontMetrics
from storefront.queries import products
from storefront.queries.product_detail import product_detail
from storefront.queries.products import ProductFilters, list_products
from storefront.queries.search import search_products
from syncd.store.engine import make_engine
from tests.conftest import PgServer

pytestmark = pytest.mark.postgres

PRODUCTS = 20_000
CATALOG_TABLES = {"products", "offers", "prices", "stock", "product_groups"}
RETAIL, WHOLESALE = "pt-retail", "pt-wholesale"

# 5 top groups of 9 subgroups each; product n is in subgroup n % 45; two price types, two
# warehouses (a third of the offers out of stock), a colour on every product.
_BULK = [
    """INSERT INTO catalog_groups (onec_id, parent_onec_id, name, is_deleted, created_at, updated_at)
       SELECT 'g' || t, NULL, 'Group ' || t, false, now(), now() FROM generate_series(0, 4) t""",
    """INSERT INTO catalog_groups (onec_id, parent_onec_id, name, is_deleted, created_at, updated_at)
       SELECT 'g' || (s / 9) || '-' || s, 'g' || (s / 9), 'Sub ' || s, false, now(), now()
         FROM generate_series(0, 44) s""",
    """INSERT INTO price_types (onec_id, name, currency, is_deleted, created_at, updated_at)
       VALUES ('pt-retail', 'Retail', 'RUB', false, now(), now()),
              ('pt-wholesale', 'Wholesale', 'RUB', false, now(), now())""",
    """INSERT INTO warehouses (onec_id, name, is_deleted, created_at, updated_at)
       VALUES ('wh-1', 'One', false, now(), now()), ('wh-2', 'Two', false, now(), now())""",
    """INSERT INTO products (onec_id, name, group_onec_id, requisites, taxes, is_deleted,
                            created_at, updated_at)
       SELECT md5('p' || n), 'Product ' || md5(n::text), 'g' || (n % 45 / 9) || '-' || (n % 45),
              '[]', '[]', n % 50 = 0, now(), now() - n * interval '1 minute'
         FROM generate_series(1, :products) n""",
    """INSERT INTO product_groups (product_onec_id, group_onec_id)
       SELECT onec_id, group_onec_id FROM products""",
    """INSERT INTO offers (onec_id, product_onec_id, characteristics, property_values,
                          is_deleted, created_at, updated_at)
       SELECT onec_id, onec_id, '[]', '[]', false, now(), now() FROM products""",
    """INSERT INTO prices (offer_onec_id, product_onec_id, price_type_onec_id, value, currency,
                          updated_at)
       SELECT o.onec_id, o.product_onec_id, t.id, 10 + (o.id * 7919 % 100000) / 10.0 * t.k,
              'RUB', now()
         FROM offers o, (VALUES ('pt-retail', 1.0), ('pt-wholesale', 0.8)) t(id, k)""",
    """INSERT INTO stock (offer_onec_id, product_onec_id, warehouse_onec_id, quantity, updated_at)
       SELECT o.onec_id, o.product_onec_id, w, CASE WHEN o.id % 3 = 0 THEN 0 ELSE o.id % 7 END,
              now()
         FROM offers o, (VALUES ('wh-1'), ('wh-2')) v(w)""",
    """INSERT INTO properties (onec_id, name, value_type, is_multiple, is_deleted, created_at,
                              updated_at)
       VALUES ('prop-color', 'Colour', 'Справочник', false, false, now(), now())""",
    """INSERT INTO property_options (property_onec_id, onec_id, value, updated_at)
       SELECT 'prop-color', 'opt-' || c, 'Colour ' || c, now() FROM generate_series(0, 19) c""",
    """INSERT INTO product_property_values (product_onec_id, property_onec_id, position, value)
       SELECT onec_id, 'prop-color', 0, 'opt-' || (id % 20) FROM products""",
]

LISTINGS = {
    "by name": ProductFilters(),
    "by name, descending": ProductFilters(sort="-name"),
    "by last change": ProductFilters(sort="-updated"),
    "by first change": ProductFilters(sort="updated"),
    "by price": ProductFilters(sort="price", price_type=RETAIL),
    "by price, descending": ProductFilters(sort="-price", price_type=WHOLESALE),
    "a group with its subgroups": ProductFilters(group="g1"),
    "a subgroup by price": ProductFilters(group="g1-12", sort="price", price_type=RETAIL),
    "a wide price range": ProductFilters(
        price_type=RETAIL, price_min=Decimal(1000), price_max=Decimal(9000)
    ),
    "a narrow price range": ProductFilters(
        price_type=RETAIL, price_min=Decimal(500), price_max=Decimal(501)
    ),
    "in stock": ProductFilters(in_stock=True),
    "in stock at a warehouse, newest first": ProductFilters(warehouse="wh-2", sort="-updated"),
    "a property": ProductFilters(properties=(("prop-color", "opt-7"),)),
    "a group in a price range, newest first": ProductFilters(
        group="g2",
        price_type=RETAIL,
        price_min=Decimal(100),
        price_max=Decimal(5000),
        sort="-updated",
    ),
    "in stock by price, descending": ProductFilters(
        in_stock=True, sort="-price", price_type=RETAIL
    ),
    "a property by name, descending": ProductFilters(
        properties=(("prop-color", "opt-11"),), sort="-name"
    ),
    "a group in stock with a property": ProductFilters(
        group="g3", in_stock=True, properties=(("prop-color", "Colour 3"),)
    ),
}


@pytest.fixture(scope="module")
def big_catalog(pg_server: PgServer) -> Iterator[Engine]:
    url = pg_server.create()
    engine = make_engine(DatabaseSettings(url=url))
    with engine.begin() as connection:
        for statement in _BULK:
            connection.execute(text(statement), {"products": PRODUCTS})
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    yield engine
    engine.dispose()
    pg_server.drop(url)


def _statements_of(engine: Engine, filters: ProductFilters) -> tuple[list[Any], dict[str, Any]]:
    """Run the listing; return what it sent to the database and its page."""
    return _recorded(engine, lambda session: list_products(session, filters))


def _recorded(
    engine: Engine,
    read: Callable[[Session], dict[str, Any] | None],
    session: Session | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """Run ``read`` (on ``session``, else on a session of its own); return what it sent to the
    database and what it found."""
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        if session is not None:
            found = read(session)
        else:
            with Session(engine) as own:
                found = read(own)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert found is not None
    return sent, found


def _sequential_scans(engine: Engine, statement: str, parameters: Any) -> set[str]:
    plan = _plan(engine, statement, parameters)
    return {node["Relation Name"] for node in _nodes(plan) if node["Node Type"] == "Seq Scan"}


def _plan(engine: Engine, statement: str, parameters: Any) -> dict[str, Any]:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan: dict[str, Any] = cursor.fetchone()[0][0]["Plan"]
        return plan
    finally:
        connection.close()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("listing", list(LISTINGS))
def test_each_common_listing_reads_the_catalog_through_indexes(
    big_catalog: Engine, listing: str
) -> None:
    sent, page = _statements_of(big_catalog, LISTINGS[listing])
    assert page["items"], "the listing found nothing: the plan would prove nothing"
    for statement, parameters in sent:
        scanned = _sequential_scans(big_catalog, statement, parameters) & CATALOG_TABLES
        assert not scanned, f"{listing}: sequential scan of {scanned} in\n{statement}"


def test_product_detail_and_search_read_the_catalog_through_indexes(big_catalog: Engine) -> None:
    with big_catalog.connect() as connection:
        some = connection.execute(text("SELECT onec_id FROM products WHERE id = 777")).scalar_one()
    reads: dict[str, Callable[[Session], dict[str, Any] | None]] = {
        "detail": lambda session: product_detail(session, some),
        "search": lambda session: search_products(
            session, "product", limit=20, cursor=None, group="g2", price_type=RETAIL
        ),
    }
    for name, read in reads.items():
        sent, found = _recorded(big_catalog, read)
        assert found
        for statement, parameters in sent:
            scanned = _sequential_scans(big_catalog, statement, parameters) & CATALOG_TABLES
            assert not scanned, f"{name}: sequential scan of {scanned} in\n{statement}"


@pytest.mark.parametrize("listing", ["by name", "a group in stock with a property", "by price"])
def test_a_page_costs_the_same_few_statements_whatever_its_size(
    big_catalog: Engine, listing: str
) -> None:
    small, _ = _statements_of(big_catalog, _with_limit(LISTINGS[listing], 2))
    large, page = _statements_of(big_catalog, _with_limit(LISTINGS[listing], 60))
    assert len(page["items"]) == 60
    assert len(large) == len(small) <= 3  # the subgroups, the page, then its summaries


@pytest.mark.parametrize("read", ["few", "hashed"])
def test_a_range_of_a_few_hundred_products_checks_them_one_by_one(
    big_catalog: Engine, read: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A narrow range's products (a few hundred here) are known before the page is read, or
    hashed once: their offers, prices and stock are looked up per product, never read whole.
    (Joins made the planner read every offer and every stock row; at 100,000 products that was
    most of a 31 ms page. The few products themselves may be fetched by a scan when the catalog
    is this small.)"""
    _read_ranges(monkeypatch, read)
    filters = ProductFilters(
        price_type=RETAIL, price_min=Decimal(500), price_max=Decimal(800), in_stock=True
    )
    sent, page = _statements_of(big_catalog, filters)
    assert len(page["items"]) == 20
    for statement, parameters in sent:
        scanned = _sequential_scans(big_catalog, statement, parameters) & CATALOG_TABLES
        assert not scanned - {"products"}, f"sequential scan of {scanned} in\n{statement}"


def _read_ranges(monkeypatch: pytest.MonkeyPatch, read: str) -> None:
    """Make every non-empty price range read as ``read`` (``PriceRangeRead``)."""
    few, hashed = {"few": (1e9, 1e9), "hashed": (0.0, 1e9), "walk": (0.0, 0.0)}[read]
    monkeypatch.setattr(products, "FEW_RANGE", few)
    monkeypatch.setattr(products, "HASHED_RANGE", hashed)


def test_ranges_are_read_by_their_size_against_the_catalog(big_catalog: Engine) -> None:
    """With the factors the listing ships with, at 20,000 products: a range of about 80 prices
    is read from its products, one of about 600 against a hash of them walking the name index
    (built from the price index, never a lookup per product walked), and one of 6,000 by
    walking the name index with a lookup per product."""
    reads = {}
    for low, high in ((500, 540), (500, 800), (1000, 4000)):
        filters = ProductFilters(
            price_type=RETAIL, price_min=Decimal(low), price_max=Decimal(high), in_stock=True
        )
        sent, page = _statements_of(big_catalog, filters)
        assert page["items"]
        [(statement, parameters)] = [(s, p) for s, p in sent if "sort_key" in s]
        plan = json.dumps(_plan(big_catalog, statement, parameters))
        hashed = "hashed SubPlan" in plan
        reads[high - low] = "few" if "in_range" in parameters else "hashed" if hashed else "walk"
        if hashed:
            assert "ix_prices_price_type_onec_id_value" in plan
            assert "ix_products_active" in plan
    assert reads == {40: "few", 300: "hashed", 3000: "walk"}


@pytest.mark.parametrize(
    "filters",
    [
        ProductFilters(in_stock=True, sort="name"),
        ProductFilters(in_stock=True, sort="-name", limit=7),
        ProductFilters(sort="-updated", limit=9),
        ProductFilters(group="g1", warehouse="wh-1", sort="updated", limit=5),
        ProductFilters(properties=(("prop-color", "opt-3"),), sort="name", limit=3),
        ProductFilters(in_stock=True, sort="-price", limit=8),
    ],
    ids=["in stock", "by name, descending", "newest", "group and warehouse", "property", "price"],
)
def test_a_narrow_range_lists_what_the_general_listing_lists(
    big_catalog: Engine, filters: ProductFilters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page of a narrow range (its products looked up first, or hashed) equals the page
    the general listing (a semi-join on the range) gives, cursor by cursor."""
    ranged = replace(filters, price_type=RETAIL, price_min=Decimal(500), price_max=Decimal(800))
    listed = {}
    for read in ("few", "hashed", "walk"):
        _read_ranges(monkeypatch, read)
        listed[read] = _all_pages(big_catalog, ranged)
    assert len(listed["walk"]) > 2 * filters.limit
    assert listed["few"] == listed["walk"]
    assert listed["hashed"] == listed["walk"]


def _all_pages(engine: Engine, filters: ProductFilters) -> list[str]:
    listed: list[str] = []
    with Session(engine) as session:
        cursor = None
        while True:
            page = list_products(session, replace(filters, cursor=cursor))
            listed.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return listed


def test_a_narrow_price_range_sends_its_products_as_one_parameter(big_catalog: Engine) -> None:
    """The products of a narrow range go to the page statement as one array, not a parameter
    each: its text is the same however many products the range holds (so psycopg prepares it
    once per connection), and no statement carries a thousand parameters."""
    texts, parameter_counts, found = set(), set(), []
    for high in (Decimal(501), Decimal(540)):
        filters = ProductFilters(price_type=RETAIL, price_min=Decimal(500), price_max=high)
        sent, page = _statements_of(big_catalog, filters)
        [(statement, parameters)] = [(s, p) for s, p in sent if "sort_key" in s]
        texts.add(statement)
        parameter_counts.add(len(parameters))
        found.append(len(page["items"]))
    assert 0 < found[0] < found[1], "the two ranges must hold different numbers of products"
    assert len(texts) == 1
    assert len(parameter_counts) == 1


def _with_limit(filters: ProductFilters, limit: int) -> ProductFilters:
    return replace(filters, limit=limit)


def test_storefront_reads_start_no_parallel_workers(big_catalog: Engine) -> None:
    """A parallel plan's workers took about 10 ms to start, more than a whole listing costs on
    one: the storefront's connections (the primary's and a replica's) plan without them."""
    url = big_catalog.url.render_as_string(hide_password=False)
    db = Database(DatabaseSettings(url=url, replica_urls=(url,)), StorefrontMetrics())
    try:
        engines = [db.engine, *(replica.engine for replica in db.replicas.replicas)]
        assert len(engines) == 2
        for engine in engines:
            with engine.connect() as connection:
                workers = connection.execute(text("SHOW max_parallel_workers_per_gather"))
                assert workers.scalar() == "0"
    finally:
        db.dispose()
    with big_catalog.connect() as connection:  # the server's own default is left alone
        assert connection.execute(text("SHOW max_parallel_workers_per_gather")).scalar() != "0"


@pytest.mark.parametrize(
    "filters",
    [
        ProductFilters(group="g1-12", sort="price", price_type=RETAIL, limit=9),
        ProductFilters(group="g1-12", sort="-name", limit=11),
        ProductFilters(group="g2", sort="-price", price_type=WHOLESALE, limit=40),
        ProductFilters(group="g3", sort="updated", in_stock=True, limit=30),
        ProductFilters(group="g4-40", properties=(("prop-color", "opt-0"),), limit=2),
    ],
    ids=["subgroup by price", "subgroup by name", "group by price", "group in stock", "property"],
)
@pytest.mark.parametrize("shape", ["members first", "index walked, hashed", "index walked"])
def test_a_group_lists_the_same_products_whichever_way_it_is_read(
    big_catalog: Engine, filters: ProductFilters, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group's page is read from its members or by walking the sort's index (checking each
    product against a hash of the members, or looking it up), by its size; every way, every
    page, cursor by cursor, is the one the planner's own semi-join gives."""
    members_first, hashed = {
        "members first": (1e9, 1e9),
        "index walked, hashed": (0.0, 1e9),
        "index walked": (0.0, 0.0),
    }[shape]
    _read_groups(monkeypatch, members_first=members_first, hashed=hashed)
    read = _all_pages(big_catalog, filters)
    monkeypatch.setattr(products, "_listed_group", _group_without_size)
    general = _all_pages(big_catalog, filters)
    assert len(read) > 2 * filters.limit
    assert read == general


def _read_groups(monkeypatch: pytest.MonkeyPatch, *, members_first: float, hashed: float) -> None:
    """Make groups read as ``MEMBERS_FIRST`` / ``HASHED`` factors of these sizes say."""
    monkeypatch.setattr(
        products, "MEMBERS_FIRST", dict.fromkeys(products.MEMBERS_FIRST, members_first)
    )
    monkeypatch.setattr(products, "HASHED", dict.fromkeys(products.HASHED, hashed))


def test_a_mid_sized_group_is_checked_against_a_hash_of_its_members(big_catalog: Engine) -> None:
    """With the factors the listing ships with, a subgroup of 444 of the 20,000 products (too
    many to read first by price) is walked in price order against one hash of its members,
    built from the index on (group, product), never a lookup per price; a group of 4,000 is
    walked with a lookup per price, never hashed whole."""
    subgroup = _page_plan(
        big_catalog, ProductFilters(group="g1-12", sort="price", price_type=RETAIL)
    )
    assert _hashes_members(subgroup), subgroup
    group = _page_plan(big_catalog, ProductFilters(group="g1", sort="price", price_type=RETAIL))
    assert "hashed SubPlan" not in json.dumps(group)
    assert "pk_product_groups" in _indexes(group)


@pytest.mark.parametrize("sort", ["-price", "name", "-updated"])
def test_each_sort_can_walk_a_group_against_a_hash_of_its_members(
    big_catalog: Engine, sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read_groups(monkeypatch, members_first=0.0, hashed=1e9)
    plan = _page_plan(big_catalog, ProductFilters(group="g2-18", sort=sort, price_type=RETAIL))
    assert _hashes_members(plan), json.dumps(plan, indent=1)


def _page_plan(engine: Engine, filters: ProductFilters) -> dict[str, Any]:
    sent, page = _statements_of(engine, filters)
    assert page["items"]
    [(statement, parameters)] = [(s, p) for s, p in sent if "sort_key" in s]
    return _plan(engine, statement, parameters)


def _hashes_members(plan: dict[str, Any]) -> bool:
    """One hash of the group's members, read from the index alone, checked per row."""
    hashed = any("hashed SubPlan" in node.get("Filter", "") for node in _nodes(plan))
    indexes = _indexes(plan)
    return (
        hashed
        and "ix_product_groups_group_onec_id_product_onec_id" in indexes
        and "pk_product_groups" not in indexes
    )


def _indexes(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


def _group_without_size(
    session: Session, filters: ProductFilters, *, postgres: bool
) -> products.ListedGroup:
    assert filters.group is not None
    return products.ListedGroup(products.subgroups(session, filters.group, active=True))


def test_a_wide_price_range_is_planned_for_its_own_bounds(big_catalog: Engine) -> None:
    """A wide range's page statement carries its bounds in its text, not as parameters: with
    parameters, psycopg prepares the statement after its fifth run and PostgreSQL may then
    plan every range alike (one generic plan, which measured twice as slow as the range's
    own). Each range is planned for its bounds, and the narrow range's sizing statement,
    whose plan the bounds do not change, keeps them as parameters."""
    low, high = Decimal("1000.25"), Decimal("4000.5")
    filters = ProductFilters(price_type=RETAIL, price_min=low, price_max=high, in_stock=True)
    sent, page = _statements_of(big_catalog, filters)
    assert page["items"]
    [(statement, parameters)] = [(s, p) for s, p in sent if "sort_key" in s]
    assert "1000.25" in statement
    assert "4000.5" in statement
    assert low not in parameters.values()
    assert high not in parameters.values()
    [(sizing, bounds)] = [(s, p) for s, p in sent if "array_agg" in s]
    assert "1000.25" not in sizing
    assert low in bounds.values()


def test_a_search_parses_its_words_once_even_in_a_reused_plan(big_catalog: Engine) -> None:
    """psycopg prepares a statement after its fifth run, and PostgreSQL may then reuse one
    generic plan, in which a function of a parameter is no longer a constant. Search's words
    are parsed in an InitPlan (once per search), never per match ranked or checked."""
    sent, _found = _recorded(
        big_catalog,
        lambda session: search_products(
            session, "product", limit=20, cursor=None, group=None, price_type=RETAIL
        ),
    )
    [(statement, parameters)] = [(s, p) for s, p in sent if "ts_rank" in s]
    plan = _generic_plan(big_catalog, statement, parameters)
    parsing = [n for n in _nodes(plan) if "websearch_to_tsquery" in json.dumps(_own(n))]
    assert parsing, "the plan must parse the words somewhere"
    assert all(n.get("Parent Relationship") == "InitPlan" for n in parsing), json.dumps(plan)


def _generic_plan(engine: Engine, statement: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The plan PostgreSQL makes of ``statement`` once for any values (its generic plan)."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
    connection = engine.raw_connection()
    cursor = connection.cursor()
    try:
        cursor.execute(f"PREPARE generic AS {numbered}")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        values = ", ".join(_literal(parameters[name]) for name in names)
        cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE generic({values})")
        plan: dict[str, Any] = cursor.fetchone()[0][0]["Plan"]
        return plan
    finally:
        # The connection goes back to the pool: leave it as the next test expects it.
        cursor.execute("DEALLOCATE ALL")
        cursor.execute("RESET plan_cache_mode")
        connection.close()


@pytest.mark.parametrize(
    ("filters", "read"),
    [
        (ProductFilters(group="g1-12", sort="price", price_type=RETAIL), "hashed"),
        (ProductFilters(group="g1-12", sort="-name", limit=30), "members"),
    ],
    ids=["by price", "by name"],
)
def test_a_leaf_groups_page_is_planned_once_per_connection(
    big_catalog: Engine, filters: ProductFilters, read: str
) -> None:
    """psycopg prepares a statement after its fifth run, and PostgreSQL then keeps one generic
    plan when it costs no more than planning for the values at hand. A group without subgroups
    is named by one parameter and the page size is written into the text, so its page is not
    planned anew on every run; and that one plan reads the group as its size says."""
    with big_catalog.connect() as connection:
        session = Session(bind=connection)
        # psycopg prepares on the sixth run; PostgreSQL plans the first five executions of a
        # prepared statement for their values before it weighs a generic plan.
        for _ in range(14):
            sent, page = _recorded(big_catalog, lambda on: list_products(on, filters), session)
            assert len(page["items"]) == filters.limit
        prepared = connection.execute(
            text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        ).all()
    [(statement, parameters)] = [(s, p) for s, p in sent if "sort_key" in s]
    [generic_runs] = [runs for text_, runs, _custom in prepared if "sort_key" in text_]
    assert generic_runs >= 2, [(" ".join(t.split())[:40], g, c) for t, g, c in prepared]
    plan = json.dumps(_generic_plan(big_catalog, statement, parameters))
    if read == "hashed":
        assert "hashed SubPlan" in plan, plan
    else:
        assert "hashed SubPlan" not in plan, plan
    assert "ix_product_groups_group_onec_id_product_onec_id" in plan


def _own(node: dict[str, Any]) -> dict[str, Any]:
    """A plan node's own fields, without its children."""
    return {key: value for key, value in node.items() if key != "Plans"}


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"
