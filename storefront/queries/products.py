"""Product listings (filters, sorting, keyset pagination) and the summaries every listing shows."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from storefront.errors import BadRequest
from storefront.formatting import RawJSON, iso, money, quantity
from storefront.queries.cursor import decode_cursor, encode_cursor
from storefront.schemas import MAX_MONEY
from syncd.store.models import (
    Group,
    Offer,
    Price,
    Product,
    ProductGroup,
    ProductImage,
    ProductPropertyValue,
    PropertyOption,
    Stock,
)

P = Product.__table__
O = Offer.__table__  # noqa: E741 - the table's initial, like its neighbours
PR = Price.__table__
S = Stock.__table__
G = Group.__table__
PGR = ProductGroup.__table__
PI = ProductImage.__table__
PPV = ProductPropertyValue.__table__
PO = PropertyOption.__table__

# Aliases are built once: building one copies every column of its table, a cost per request.
_CHEAPER = PR.alias("cheaper")
_CHEAPER_OFFER = O.alias("cheaper_offer")
_RANGE_PRICE = PR.alias("range_price")
_RANGE_OFFER = O.alias("range_offer")
_STOCK_OFFER = O.alias("stock_offer")

_IDS = ARRAY(String(255))
SORTS = ("name", "-name", "price", "-price", "updated", "-updated")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductFilters:
    group: str | None = None  # a group Ид; its subgroups are included
    price_type: str | None = None  # the resolved price type Ид the prices/sort/range use
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    warehouse: str | None = None  # in stock at this warehouse (implies in_stock)
    properties: tuple[tuple[str, str], ...] = ()  # (property Ид, option Ид or literal value)
    sort: str = "name"
    limit: int = 20
    cursor: str | None = None


def list_products(
    session: Session, filters: ProductFilters, *, items_as_json: bool = False
) -> dict[str, Any]:
    """One page: ``{"items": [...], "next_cursor": str | None}``; 400 for an unknown group.

    The page is one statement and its summaries one more on PostgreSQL (four elsewhere), after
    one for the group's subgroups and, for a price range, one that sizes it. With
    ``items_as_json``, on PostgreSQL the items come as one ``RawJSON`` array written by the
    database (see ``summaries_json``), the bytes ``dumps`` would write of the dicts.

    The page statement is built once per shape of listing (``PageShape``: which filters, which
    sort, how the group and the range are read) with every value a named parameter, and kept:
    building it and computing SQLAlchemy's cache key for it cost more CPU than running it.
    """
    dialect = session.get_bind().dialect.name
    postgres = dialect == "postgresql"
    if filters.sort.lstrip("-") == "price" and filters.price_type is None:
        raise BadRequest(
            "sorting by price needs a price type, and there is none",
            details=[{"field": "sort", "message": "no price type"}],
        )
    group = _listed_group(session, filters, postgres=postgres) if filters.group else None
    if group is not None and not group.ids:
        raise BadRequest(
            f"there is no group {filters.group!r}",
            details=[{"field": "group", "message": "unknown group"}],
        )
    price_range = _price_range_read(session, filters, postgres=postgres)
    few = price_range is not None and price_range.read == "few"
    params: dict[str, Any] = {
        "limit": filters.limit + 1,
        "price_type": filters.price_type,
        **_bounds(filters),
    }
    group_read, one_group = None, False
    if group is not None:
        group_read = _group_read(group, filters.sort, few=few)
        one_group = _one_group(group_read, group)
        if one_group:
            params["group"] = group.ids[0]
        else:
            params["groups"] = group.ids
    if filters.warehouse:
        params["warehouse"] = filters.warehouse
    for n, (prop, value) in enumerate(filters.properties):
        params[f"property_{n}"], params[f"value_{n}"] = prop, value
    if price_range is not None and price_range.ids is not None:
        params["in_range"] = price_range.ids
    if filters.cursor:
        params["after_key"], params["after_id"] = _cursor_values(filters, dialect)
    shape = PageShape(
        sort=filters.sort,
        group=group_read,
        one_group=one_group,
        price_range=None if price_range is None else price_range.read,
        price_min=filters.price_min is not None,
        price_max=filters.price_max is not None,
        in_stock=filters.in_stock or bool(filters.warehouse),
        warehouse=bool(filters.warehouse),
        properties=len(filters.properties),
        cursor=bool(filters.cursor),
        postgres=postgres,
    )
    rows = session.execute(_page_statement(shape), params).all()
    page_ids = [r.onec_id for r in rows[: filters.limit]]
    items: list[dict[str, Any]] | RawJSON
    if items_as_json and postgres:
        items = summaries_json(session, page_ids, filters.price_type)
    else:
        items = summaries(session, page_ids, filters.price_type)
    more, rows = len(rows) > filters.limit, rows[: filters.limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(filters.sort, [_jsonable(last.sort_key), last.id])
    return {"items": items, "next_cursor": next_cursor}


@dataclass(frozen=True, slots=True)
class PageShape:
    """What a listing's page statement is built from; its values are parameters (``limit``,
    ``price_type``, ``groups``, ``price_min``/``price_max``, ``warehouse``, ``property_N`` /
    ``value_N``, ``in_range``, ``after_key``/``after_id``)."""

    sort: str
    group: str | None  # how the group is read (``_group_read``), None: no group
    one_group: bool  # the group has no subgroups: its Ид is the ``group`` parameter
    price_range: str | None  # None: no range; else how it is read (``PriceRangeRead``)
    price_min: bool
    price_max: bool
    in_stock: bool
    warehouse: bool
    properties: int
    cursor: bool
    postgres: bool


@lru_cache(maxsize=512)
def _page_statement(shape: PageShape) -> Select[Any]:
    """The page statement of ``shape`` (kept: a few dozen shapes are all a shop asks for)."""
    query, keys = _sorted_query(shape.sort)
    few = shape.price_range == "few"
    conditions = _conditions(shape)
    if shape.group is not None:
        conditions.insert(0, _group_condition(shape.group, shape.sort, one=shape.one_group))
    descending = shape.sort.startswith("-")
    # What the product's own row decides: whether it is listed at all, and where the page starts.
    own = [not_(P.c.is_deleted)]
    if few:
        own.append(_listed(postgres=shape.postgres))
    if shape.cursor:
        after = tuple_(
            bindparam("after_key", type_=keys[0].type), bindparam("after_id", type_=Integer)
        )
        key_tuple = tuple_(*keys)
        own.append(key_tuple < after if descending else key_tuple > after)
    order: list[ColumnElement[Any]] = [k.desc() for k in keys] if descending else list(keys)
    if few and shape.postgres and shape.sort.lstrip("-") != "price":
        query = _in_order_then_filtered(query.where(*own), conditions, order, descending)
    else:
        query = query.where(*own, *conditions).order_by(*order)
    # The page size is written into the text: as a parameter, PostgreSQL costed a generic plan
    # for a tenth of the rows and so planned the statement anew on every run (``_one_group``).
    return query.limit(bindparam("limit", type_=Integer, literal_execute=True))


def _in_order_then_filtered(
    query: Select[Any],
    conditions: list[ColumnElement[bool]],
    order: list[ColumnElement[Any]],
    descending: bool,
) -> Select[Any]:
    """The page of a narrow price range (its few products known) sorted by name or change:
    the products are put in order first, then checked one by one until the page is full.

    Checking every product before sorting cost each of them an index lookup per filter (a few
    hundred products: about 9,500 buffer reads, 10 ms); in order, the filters stop after the
    page's products and the ones skipped between them. ``OFFSET 0`` keeps PostgreSQL from
    moving the filters below the sort.
    """
    candidates = query.order_by(*order).offset(0).subquery("candidates")
    by = [candidates.c.sort_key, candidates.c.id]
    return (
        select(P.c.id, P.c.onec_id, candidates.c.sort_key)
        .select_from(candidates.join(P, P.c.id == candidates.c.id))
        .where(*conditions)
        .order_by(*(c.desc() for c in by) if descending else by)
    )


def _sorted_query(sort: str) -> tuple[Select[Any], tuple[ColumnElement[Any], ...]]:
    """The page query before filters, and its sort keys."""
    field = sort.lstrip("-")
    if field == "price":
        # Walk the product's prices in price order (ix_prices_price_type_onec_id_value) and keep
        # each product's cheapest active offer: the page is found after a few dozen rows instead
        # of aggregating every product of the category first.
        cheaper, cheaper_offer = _CHEAPER, _CHEAPER_OFFER
        cheapest = ~exists().where(
            cheaper.c.product_onec_id == PR.c.product_onec_id,
            cheaper.c.price_type_onec_id == PR.c.price_type_onec_id,
            cheaper_offer.c.onec_id == cheaper.c.offer_onec_id,
            not_(cheaper_offer.c.is_deleted),
            or_(
                cheaper.c.value < PR.c.value,
                and_(cheaper.c.value == PR.c.value, cheaper.c.offer_onec_id < PR.c.offer_onec_id),
            ),
        )
        query = (
            select(P.c.id, P.c.onec_id, PR.c.value.label("sort_key"))
            .select_from(PR)
            .join(P, P.c.onec_id == PR.c.product_onec_id)
            .join(O, and_(O.c.onec_id == PR.c.offer_onec_id, not_(O.c.is_deleted)))
            .where(PR.c.price_type_onec_id == bindparam("price_type"), cheapest)
        )
        return query, (PR.c.value, P.c.id)
    column = P.c.name if field == "name" else P.c.updated_at
    return select(P.c.id, P.c.onec_id, column.label("sort_key")), (column, P.c.id)


def _listed(*, postgres: bool) -> ColumnElement[bool]:
    """Products among ``in_range`` (a narrow range's few products)."""
    if postgres:
        # One array parameter, not one per product: a statement of the same text every time,
        # and up to FEW_IN_RANGE parameters less to expand, send and parse.
        return P.c.onec_id == any_(bindparam("in_range", type_=_IDS))
    return P.c.onec_id.in_(bindparam("in_range", expanding=True))


def _conditions(shape: PageShape) -> list[ColumnElement[bool]]:
    """The listing's filters beyond the product's own row and its group; when a narrow price
    range decides which products are checked at all (its few products, or a hash of them) each
    is checked per product, by its keys (see ``_per_product``)."""
    each = shape.price_range in ("few", "hashed")
    found: list[ColumnElement[bool]] = []
    if shape.price_range is not None:
        found.append(_price_in_range(shape.price_min, shape.price_max, read=shape.price_range))
    if shape.in_stock:
        found.append(_in_stock(shape.warehouse, each=each))
    found.extend(_has_property(n, each=each) for n in range(shape.properties))
    return found


def _per_product(*terms: ColumnElement[bool]) -> ColumnElement[bool]:
    """``EXISTS`` a row of ``terms``, checked for each product on its own.

    For the few products of a narrow price range: as a join the planner weighed a few hundred
    index lookups against reading a whole table and read the table (every offer, every stock
    row: 18 ms of a 31 ms page at 100,000 products). For a large group's page: each product
    met in sort order is checked, and only those of the group are looked up further. ``OFFSET
    0`` keeps the subquery from being turned into a join.
    """
    return select(literal(1)).where(*terms).offset(0).exists()


def _in_groups_of_each() -> ColumnElement[bool]:
    return _per_product(
        PGR.c.product_onec_id == P.c.onec_id,
        PGR.c.group_onec_id.in_(bindparam("groups", expanding=True)),
    )


@dataclass(frozen=True, slots=True)
class ListedGroup:
    """A listing's group: its Ид and its subgroups' (none: unknown or deleted), and, on
    PostgreSQL, how many products it lists (counted no further than its sort's ``HASHED``
    needs) and the catalog's size (the planner's estimate)."""

    ids: list[str]
    members: int | None = None
    catalog: float | None = None


# A group's page reads the group's products first when it has fewer than this many times the
# square root of the catalog's size, else walks the sort's index and checks each product met.
# Reading the members costs about one lookup per member (and, by price, its prices); the walk
# about catalog / members products per product listed: the two meet near the square root.
# Measured at 100,000 products (in ms, members first / walk): by price 4.9 / 8.6 at 500
# members, 10.0 / 5.3 at 1,000; by name 2.2 / 4.2 at 1,000, 6.4 / 1.5 at 2,500.
MEMBERS_FIRST = {"price": 2.3, "name": 4.4, "updated": 4.4}
# Up to this many times the square root, a larger group's page walks the sort's index and checks
# each product met against a hash of the group's members, built once from the index on
# (group, product); beyond it, each product is looked up in ``product_groups`` on its own. The
# hash costs about a lookup's worth per member, the lookups one per product walked (catalog /
# members per product listed): the two meet near the square root again. Measured at 100,000
# products (in ms, walk with a lookup per product / walk against the hash): by price 4.2-6.9 /
# 2.4-3.7 at 2,500 members, 4.0-4.8 / 4.4-4.7 at 5,000, 2.7-3.1 / 9.1-9.3 at 15,000; by name
# 2.6-3.9 / 1.2-1.5 at 2,500, 1.4-1.9 / 2.4-2.6 at 5,000.
HASHED = {"price": 11.0, "name": 9.0, "updated": 9.0}

_LISTED_GROUP_PG = text(
    """
WITH RECURSIVE tree(onec_id) AS (
    SELECT onec_id FROM catalog_groups WHERE onec_id = :group AND NOT is_deleted
    UNION
    SELECT g.onec_id FROM catalog_groups g JOIN tree ON g.parent_onec_id = tree.onec_id
), size AS (
    SELECT reltuples AS catalog,
           ceil(:factor * sqrt(greatest(reltuples, 0)))::bigint + 1 AS enough
      FROM pg_class WHERE oid = 'products'::regclass
)
SELECT (SELECT array_agg(onec_id) FROM tree) AS ids,
       (SELECT count(*) FROM (
            SELECT 1 FROM tree, LATERAL (
                SELECT 1 FROM product_groups m WHERE m.group_onec_id = tree.onec_id
                 LIMIT (SELECT enough FROM size)) one
             LIMIT (SELECT enough FROM size)) counted
       ) AS members,
       (SELECT catalog FROM size) AS catalog
"""
)


def _listed_group(session: Session, filters: ProductFilters, *, postgres: bool) -> ListedGroup:
    """The group, its subgroups and (PostgreSQL) its size, in one statement."""
    assert filters.group is not None
    if not postgres:
        return ListedGroup(subgroups(session, filters.group, active=True))
    factor = HASHED[filters.sort.lstrip("-")]
    row = session.execute(_LISTED_GROUP_PG, {"group": filters.group, "factor": factor}).one()
    # A catalog never analysed has no size yet (reltuples -1): the planner's own choice then.
    catalog = float(row.catalog) if row.catalog and row.catalog > 0 else None
    return ListedGroup(list(row.ids or ()), int(row.members), catalog)


def _group_read(group: ListedGroup, sort: str, *, few: bool) -> str:
    """How ``group``'s products are found, in the form that reads least.

    ``each``: the listing holds a narrow range's products, each checked on its own. On
    PostgreSQL, a group with few products (``MEMBERS_FIRST``) is read first (``members``), as
    one array the rest of the statement starts from; a larger one is checked product by
    product as the sort's index is walked (by price: for each price met, before its product
    is read), against a hash of its members while it is small enough (``hashed``, see
    ``HASHED``), else by a lookup per product (``walk``). The planner, left to choose, read
    1,000 members of 100,000 products in 14 ms by price and 500 in 13 ms by name, against
    5-6 ms and 1 ms this way. ``in``: the planner's own semi-join (SQLite, or a catalog
    PostgreSQL has not sized yet).
    """
    if few:
        return "each"
    if group.members is None or group.catalog is None:
        return "in"
    field, root = sort.lstrip("-"), group.catalog**0.5
    if group.members <= MEMBERS_FIRST[field] * root:
        return "members"
    if group.members <= HASHED[field] * root:
        return "hashed"
    return "walk"


def _one_group(read: str, group: ListedGroup) -> bool:
    """Whether the page statement names the group by one ``group`` parameter (a group without
    subgroups, read ``members``, ``hashed`` or ``walk``) rather than a ``groups`` array.

    PostgreSQL plans a statement psycopg has prepared for the values at hand until it finds a
    generic plan, made once, as cheap as those: for ``= :group`` it estimates the group's size
    from the column's statistics, for ``= ANY(:groups)`` ten times that, so a leaf group's page
    statement was planned anew on every run (0.3-1.9 ms of a 1-3.6 ms statement, at 100,000
    products) for the same plan its generic one has.
    """
    return read in ("members", "hashed", "walk") and len(group.ids) == 1


def _group_condition(read: str, sort: str, *, one: bool = False) -> ColumnElement[bool]:
    """Products listed in the ``groups`` parameter's groups (``one``: in the ``group``
    parameter's), read as ``_group_read`` says."""
    if read == "each":
        return _in_groups_of_each()
    if read == "in":
        return in_groups()
    in_any = (
        PGR.c.group_onec_id == bindparam("group", type_=String)
        if one
        else PGR.c.group_onec_id == any_(bindparam("groups", type_=_IDS))
    )
    if read == "members":
        members = select(PGR.c.product_onec_id).where(in_any).scalar_subquery()
        return P.c.onec_id == any_(func.array(members))
    walked = PR.c.product_onec_id if sort.lstrip("-") == "price" else P.c.onec_id
    if read == "hashed":
        # ``IS TRUE`` keeps the IN a condition PostgreSQL evaluates per row against a hash of
        # the subquery's rows ("hashed SubPlan") instead of turning it into a join, whose order
        # the planner would choose (it chose to hash every price of the type: 70 ms).
        return walked.in_(select(PGR.c.product_onec_id).where(in_any)).is_(true())
    return _per_product(PGR.c.product_onec_id == walked, in_any)


def subgroups(session: Session, group: str, *, active: bool = False) -> list[str]:
    """``group`` and the Ид of every group below it (one statement; the tree is small); with
    ``active``, none when ``group`` is unknown or deleted.

    Fetched before the listing so the planner sees the real list rather than guessing the size
    of a recursive query (which made it scan every price).
    """
    top = select(G.c.onec_id).where(G.c.onec_id == group)
    if active:
        top = top.where(not_(G.c.is_deleted))
    tree = top.cte("subgroups", recursive=True)
    tree = tree.union(select(G.c.onec_id).join(tree, G.c.parent_onec_id == tree.c.onec_id))
    return [str(onec_id) for onec_id in session.scalars(select(tree.c.onec_id))]


def in_groups() -> ColumnElement[bool]:
    """Products in any of the groups of the ``groups`` parameter (``product_groups`` lists every
    group of a product, its first one included)."""
    members = select(PGR.c.product_onec_id).where(
        PGR.c.group_onec_id.in_(bindparam("groups", expanding=True))
    )
    return P.c.onec_id.in_(members)


@dataclass(frozen=True, slots=True)
class PriceRangeRead:
    """How a listing's price range is read, by how many prices of the type it holds (``k``,
    counted from the price index) against the catalog's size (``N``, PostgreSQL's estimate):

    - ``few`` (``k`` up to ``FEW_RANGE`` times the square root of ``N``; on SQLite, or before
      PostgreSQL has sized the catalog, ``FEW_IN_RANGE``): the range's products (``ids``) are
      the listing's candidates, put in order and then checked one by one;
    - ``hashed`` (up to ``HASHED_RANGE`` times the root; by name or change): the sort's index
      is walked and each product met is checked against one hash of the range's products;
    - ``walk``: the sort's index is walked and each product's prices are looked up.

    Reading the candidates first costs about a lookup per candidate; the hash one heap read per
    price in range, plus the walk; the walk a lookup per product walked, about ``N / k`` per
    product listed: the ways meet near the square root of ``N``. Measured at 100,000 products
    (in-stock pages by name, ms, statement alone): 300 prices in range: first 1.8, hash 4.6-6.8;
    500: 2.6-3.5 / 2.4-2.8; 1,000: 4.1-4.3 / 1.4-1.7, walk 16-35; 1,500: hash 2.4-3.0, walk
    4.7-8.4; 3,000: hash 1.8-4.9, walk 1.4-7.7; 5,000: hash 3.1-4.0, walk 1.1-1.9.
    """

    read: str  # "few", "hashed" or "walk"
    ids: list[str] | None = None  # for ``few``: the range's products


FEW_RANGE = 1.4
HASHED_RANGE = 9.5
# Without the catalog's size (SQLite, or PostgreSQL before its first ANALYZE): this many
# products at most are read first, and wider ranges are walked.
FEW_IN_RANGE = 1000


def _price_range_read(
    session: Session, filters: ProductFilters, *, postgres: bool
) -> PriceRangeRead | None:
    """How the range is read (None: no range), after one statement that sizes it.

    A range is sized first because the planner cannot know how few rows a range has: guessing
    thousands for an empty one, it walked the whole catalog in name order.
    """
    if filters.price_min is None and filters.price_max is None:
        return None
    if filters.price_type is None:
        raise BadRequest(
            "a price range needs a price type, and there is none",
            details=[{"field": "price_type", "message": "no price type"}],
        )
    price_min, price_max = filters.price_min is not None, filters.price_max is not None
    bounds = _bounds(filters)
    if not postgres:
        statement = _range_candidates(price_min, price_max)
        params = {"price_type": filters.price_type, "enough": FEW_IN_RANGE + 1, **bounds}
        ids = session.scalars(statement, params).all()
        return (
            PriceRangeRead("few", list(dict.fromkeys(ids)))
            if len(ids) <= FEW_IN_RANGE
            else PriceRangeRead("walk")
        )
    params = {
        "price_type": filters.price_type,
        "few_factor": FEW_RANGE,
        "hashed_factor": HASHED_RANGE if filters.sort.lstrip("-") != "price" else 0.0,
        "few_unsized": FEW_IN_RANGE,
        **bounds,
    }
    found = session.execute(_range_sizing_pg(price_min, price_max), params).one()
    if found.few:
        return PriceRangeRead("few", list(dict.fromkeys(found.ids or ())))
    return PriceRangeRead("hashed" if found.hashed else "walk")


@lru_cache(maxsize=4)
def _range_candidates(price_min: bool, price_max: bool) -> Select[Any]:
    """The first ``enough`` products priced in the range (parameters ``price_type``, the
    bounds), offers unchecked: the exact condition is applied as well, the list only tells how
    few products there can be. Prices, not distinct products: DISTINCT made the planner walk
    every price of the type in product order. In price order, so that a wide range stops after
    ``enough`` entries of the price index."""
    terms = (
        PR.c.price_type_onec_id == bindparam("price_type"),
        *_range_terms(price_min, price_max),
    )
    return (
        select(PR.c.product_onec_id)
        .where(*terms)
        .order_by(PR.c.value)
        .limit(bindparam("enough", type_=Integer))
    )


@lru_cache(maxsize=4)
def _range_sizing_pg(price_min: bool, price_max: bool) -> Any:
    """One statement, one row: whether the range is read ``few`` (and then its products,
    ``ids``) or ``hashed`` (see ``PriceRangeRead``); parameters
    ``price_type``, the bounds, ``few_factor``, ``hashed_factor`` and ``few_unsized``.

    The count reads the price index alone (index-only), no further than the widest range read
    ``hashed``, and the products are read only when there are few (PostgreSQL runs a CASE
    branch's subquery only when its value is needed), so a wide range costs neither heap reads
    nor rows sent. Both subqueries walk the index in price order with a limit, whatever the
    planner guesses of the range; the limits come from the catalog's size in ``pg_class``.
    """
    terms = " AND ".join(
        ["price_type_onec_id = :price_type"]
        + (["value >= :price_min"] if price_min else [])
        + (["value <= :price_max"] if price_max else [])
    )
    return text(_RANGE_SIZING_PG.replace("/*terms*/", terms))


# ``_range_sizing_pg``'s statement; ``/*terms*/`` becomes the range's conditions.
_RANGE_SIZING_PG = """
WITH size AS (
    SELECT CASE WHEN reltuples > 0 THEN ceil(:few_factor * sqrt(reltuples))::bigint
                ELSE :few_unsized END AS few,
           CASE WHEN reltuples > 0 THEN ceil(:hashed_factor * sqrt(reltuples))::bigint
                ELSE 0 END AS hashed
      FROM pg_class WHERE oid = 'products'::regclass
), counted AS (
    SELECT count(*) AS n FROM (
        SELECT 1 FROM prices WHERE /*terms*/
         ORDER BY value LIMIT (SELECT greatest(few, hashed) + 1 FROM size)) candidates
)
SELECT counted.n <= size.few AS few, counted.n <= size.hashed AS hashed,
       CASE WHEN counted.n <= size.few THEN (
           SELECT array_agg(first.product_onec_id) FROM (
               SELECT product_onec_id FROM prices WHERE /*terms*/
                ORDER BY value LIMIT (SELECT few FROM size)) first)
       END AS ids
  FROM counted, size
"""


def _bounds(filters: ProductFilters) -> dict[str, Decimal]:
    """The range's bounds as the statements' ``price_min`` / ``price_max`` parameters (those
    it has)."""
    bounds = {"price_min": filters.price_min, "price_max": filters.price_max}
    return {name: value for name, value in bounds.items() if value is not None}


def _price_terms(price_min: bool, price_max: bool) -> list[ColumnElement[bool]]:
    """Prices of the ``price_type`` parameter in the range, of active offers, the bounds
    written into the statement (see ``_range_terms``)."""
    return [
        PR.c.price_type_onec_id == bindparam("price_type"),
        O.c.onec_id == PR.c.offer_onec_id,
        not_(O.c.is_deleted),
        *_range_terms(price_min, price_max, inline=True),
    ]


def _range_terms(
    price_min: bool, price_max: bool, price: FromClause = PR, *, inline: bool = False
) -> list[ColumnElement[bool]]:
    """The bounds (parameters ``price_min`` / ``price_max``, those the range has) on ``price``
    (the prices table or an alias of it).

    ``inline``: the bounds are written into the statement's text instead of sent as
    parameters. A wide range's page is a plan the bounds decide (how many products in name
    order pass the range before the page is full); with parameters, psycopg prepares the
    statement after a few runs and PostgreSQL may then reuse one generic plan for every range,
    which measured 11.6 ms against 6.3 ms planned for the range at hand.
    """
    value_type = PR.c.value.type
    terms = []
    if price_min:
        terms.append(
            price.c.value >= bindparam("price_min", type_=value_type, literal_execute=inline)
        )
    if price_max:
        terms.append(
            price.c.value <= bindparam("price_max", type_=value_type, literal_execute=inline)
        )
    return terms


def _price_in_range(price_min: bool, price_max: bool, *, read: str = "walk") -> ColumnElement[bool]:
    """Products with an active offer priced in the range, read as ``read`` says
    (``PriceRangeRead``).

    ``few``: the listing is already limited to the range's few candidates; each is then checked
    on its own (``_per_product``). ``hashed``: each product walked is first looked up in one
    hash of the range's products (from the price index, offers unchecked; ``IS TRUE`` keeps the
    planner from turning it into a join), and only those found are checked on their own.
    """
    if read in ("few", "hashed"):
        price, offer = _RANGE_PRICE, _RANGE_OFFER
        exact = _per_product(
            price.c.product_onec_id == P.c.onec_id,
            price.c.price_type_onec_id == bindparam("price_type"),
            offer.c.onec_id == price.c.offer_onec_id,
            not_(offer.c.is_deleted),
            *_range_terms(price_min, price_max, price),
        )
        if read == "few":
            return exact
        in_range = select(PR.c.product_onec_id).where(
            PR.c.price_type_onec_id == bindparam("price_type"),
            *_range_terms(price_min, price_max),
        )
        return and_(P.c.onec_id.in_(in_range).is_(true()), exact)
    # Its own prices and offers: the price-sorted listing selects from the same tables, and
    # auto-correlation would leave this subquery with no FROM at all.
    inner = select(PR.c.product_onec_id).where(*_price_terms(price_min, price_max)).correlate(None)
    return P.c.onec_id.in_(inner)


def _in_stock(warehouse: bool, *, each: bool = False) -> ColumnElement[bool]:
    """In stock (at the ``warehouse`` parameter's warehouse, with ``warehouse``); ``each``:
    checked per product (``_per_product``)."""
    # Its own offers: the price-sorted listing selects from offers too, and the subquery would
    # otherwise check the stock of the offer whose price is listed, not of any of the product's.
    offer = _STOCK_OFFER
    terms = [
        S.c.product_onec_id == P.c.onec_id,
        S.c.quantity > 0,
        offer.c.onec_id == S.c.offer_onec_id,
        not_(offer.c.is_deleted),
    ]
    if warehouse:
        terms.append(S.c.warehouse_onec_id == bindparam("warehouse"))
    return _per_product(*terms) if each else exists().where(*terms)


def _has_property(n: int, *, each: bool = False) -> ColumnElement[bool]:
    """The ``n``-th property filter: parameters ``property_<n>`` and ``value_<n>`` (an option's
    Ид or a literal value)."""
    prop: ColumnElement[str] = bindparam(f"property_{n}", type_=String)
    value: ColumnElement[str] = bindparam(f"value_{n}", type_=String)
    option_ids = select(PO.c.onec_id).where(PO.c.property_onec_id == prop, PO.c.value == value)
    terms = (
        PPV.c.product_onec_id == P.c.onec_id,
        PPV.c.property_onec_id == prop,
        or_(PPV.c.value == value, PPV.c.value.in_(option_ids)),
    )
    return _per_product(*terms) if each else exists().where(*terms)


def _cursor_values(filters: ProductFilters, dialect: str) -> list[Any]:
    assert filters.cursor is not None
    key, row_id = decode_cursor(filters.cursor, filters.sort, 2)
    try:
        field = filters.sort.lstrip("-")
        if not isinstance(row_id, int) or not isinstance(key, str):
            raise ValueError("bad cursor values")
        if field == "price":
            price = Decimal(key)
            if not price.is_finite() or abs(price) > MAX_MONEY:
                raise ValueError("price out of range")
            return [price, row_id]
        if field == "updated":
            moment = datetime.fromisoformat(key)
            if dialect == "sqlite":  # SQLite keeps naive UTC
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return [moment, row_id]
        return [key, row_id]
    except (ValueError, ArithmeticError) as exc:
        raise BadRequest(
            "the cursor is not valid for this listing",
            details=[{"field": "cursor", "message": "invalid cursor"}],
        ) from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo else value.replace(tzinfo=UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# --- summaries: what a listing shows of each product ------------------------------------------


def summaries(
    session: Session, onec_ids: Sequence[str], price_type: str | None
) -> list[dict[str, Any]]:
    """List items for ``onec_ids`` in that order: one statement on PostgreSQL, four elsewhere,
    for any number of products."""
    if not onec_ids:
        return []
    ids = list(onec_ids)
    if session.get_bind().dialect.name == "postgresql":
        parts = _summary_parts_pg(session, ids, price_type)
    else:
        parts = _summary_parts(session, ids, price_type)
    return [_summary(*parts[onec_id]) for onec_id in ids if onec_id in parts]


SummaryParts = tuple[Any, dict[str, Any] | None, Decimal | None, dict[str, Any] | None]


def _summary(
    row: Any, price: dict[str, Any] | None, total: Decimal | None, image: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": row["onec_id"],
        "name": row["name"],
        "sku": row["sku"],
        "code": row["code"],
        "barcode": row["barcode"],
        "group_id": row["group_onec_id"],
        "unit": row["unit"],
        "brand": row["brand"],
        "manufacturer": row["manufacturer"],
        "price": price,
        "quantity": quantity(total),
        "in_stock": total is not None and total > 0,
        "image": image,
        "updated_at": iso(row["updated_at"]),
    }


_SUMMARY_COLUMNS = (
    P.c.onec_id,
    P.c.name,
    P.c.sku,
    P.c.code,
    P.c.barcode,
    P.c.group_onec_id,
    P.c.unit,
    P.c.brand,
    P.c.manufacturer,
    P.c.updated_at,
)


def _summary_parts(
    session: Session, ids: list[str], price_type: str | None
) -> dict[str, SummaryParts]:
    products = session.execute(select(*_SUMMARY_COLUMNS).where(P.c.onec_id.in_(ids)))
    prices = _lowest_price_rows(session, ids, price_type)
    stock = stock_totals(session, ids)
    images = _first_images(session, ids)
    return {
        row.onec_id: (
            row._mapping,
            prices.get(row.onec_id),
            stock.get(row.onec_id),
            images.get(row.onec_id),
        )
        for row in products
    }


# What a listing shows of each product, for a list of products, on PostgreSQL: the products in
# the list's order with their price in one price type (of active offers), stock total and first
# image. The statements below read it. Their texts are the same for every listing and search,
# so psycopg prepares them once per connection and PostgreSQL reuses their plans instead of
# planning a page query with the summaries inside. The stock is totalled per offer before the
# offer is checked: one offer lookup per variant rather than one per stock row (a variant has a
# row per warehouse and one for its total), a third of the page's buffer reads.
_CHOSEN = "FROM unnest(CAST(:ids AS text[])) WITH ORDINALITY AS chosen(onec_id, position)"
# Search's: each id with its rank, as the JSON text Python writes of it.
_CHOSEN_RANKED = (
    "FROM unnest(CAST(:ids AS text[]), CAST(:ranks AS text[]))"
    " WITH ORDINALITY AS chosen(onec_id, rank, position)"
)
_SUMMARY_JOINS = """
  JOIN products item ON item.onec_id = chosen.onec_id
  LEFT JOIN LATERAL (
       SELECT min(x.value) AS lowest, max(x.value) AS highest, max(x.currency) AS currency,
              count(x.value) AS priced, count(*) AS counted,
              max(x.presentation) AS presentation
         FROM prices x JOIN offers o ON o.onec_id = x.offer_onec_id AND NOT o.is_deleted
        WHERE x.product_onec_id = item.onec_id AND x.price_type_onec_id = :price_type
       HAVING count(*) > 0) price ON true
  LEFT JOIN LATERAL (
       SELECT sum(t.total) AS total
         FROM (SELECT s.offer_onec_id,
                      coalesce(max(s.quantity) FILTER (WHERE s.warehouse_onec_id = ''),
                               sum(s.quantity) FILTER (WHERE s.warehouse_onec_id <> ''))
                      AS total
                 FROM stock s
                WHERE s.product_onec_id = item.onec_id
                GROUP BY s.offer_onec_id) t
         JOIN offers o ON o.onec_id = t.offer_onec_id AND NOT o.is_deleted) stock ON true
  LEFT JOIN LATERAL (
       SELECT i.path, i.caption FROM product_images i WHERE i.product_onec_id = item.onec_id
        ORDER BY i.position LIMIT 1) image ON true
"""


def _summary_sources(chosen: str) -> str:
    """The FROM clause of the summaries over ``chosen`` (``_CHOSEN`` or ``_CHOSEN_RANKED``)."""
    return "\n  " + chosen + _SUMMARY_JOINS


_SUMMARY_SOURCES = _summary_sources(_CHOSEN)

# The parts of each summary, as columns (for ``summaries``).
_SUMMARIES_PG = text(
    """
SELECT item.onec_id, item.name, item.sku, item.code, item.barcode, item.group_onec_id,
       item.unit, item.brand, item.manufacturer, item.updated_at,
       price.lowest, price.highest, price.currency, price.priced, price.counted,
       price.presentation, stock.total, image.path, image.caption
"""
    + _SUMMARY_SOURCES
)

# The same items as ``summaries`` gives, written as JSON by PostgreSQL: one text value, the
# bytes ``storefront.responses.dumps`` writes of the list of dicts (key order, compact
# separators, money with two to four decimals, quantities without trailing zeros, datetimes
# in ISO 8601 UTC with microseconds only when there are any). Building 20 dicts from 14
# columns and two JSON documents each, then writing them out again, was most of the Python
# a page's summaries cost. Kept equal to the dicts' JSON by a test of every kind of value.
_ITEMS_AS_JSON = """
SELECT '[' || coalesce(string_agg(
    '{"id":' || to_json(item.onec_id)::text
    || ',"name":' || coalesce(to_json(item.name)::text, 'null')
    || ',"sku":' || coalesce(to_json(item.sku)::text, 'null')
    || ',"code":' || coalesce(to_json(item.code)::text, 'null')
    || ',"barcode":' || coalesce(to_json(item.barcode)::text, 'null')
    || ',"group_id":' || coalesce(to_json(item.group_onec_id)::text, 'null')
    || ',"unit":' || coalesce(to_json(item.unit)::text, 'null')
    || ',"brand":' || coalesce(to_json(item.brand)::text, 'null')
    || ',"manufacturer":' || coalesce(to_json(item.manufacturer)::text, 'null')
    || ',"price":' || CASE WHEN price.counted IS NULL THEN 'null' ELSE
           '{"price_type_id":' || to_json(CAST(:price_type AS text))::text
           || ',"value":' || CASE WHEN price.lowest IS NULL THEN 'null'
                                  ELSE '"' || CASE WHEN scale(trim_scale(price.lowest)) <= 2
                                                   THEN round(price.lowest, 2)::text
                                                   ELSE trim_scale(price.lowest)::text END
                                       || '"' END
           || ',"currency":' || coalesce(to_json(price.currency)::text, 'null')
           || ',"varies":' || CASE WHEN price.lowest IS NOT NULL
                                        AND (price.highest <> price.lowest
                                             OR price.counted > price.priced)
                                   THEN 'true' ELSE 'false' END
           || ',"presentation":' || CASE WHEN price.lowest IS NULL
                                         THEN coalesce(to_json(price.presentation)::text, 'null')
                                         ELSE 'null' END
           || '}' END
    || ',"quantity":' || CASE WHEN stock.total IS NULL THEN 'null'
                              ELSE '"' || trim_scale(stock.total)::text || '"' END
    || ',"in_stock":' || CASE WHEN stock.total > 0 THEN 'true' ELSE 'false' END
    || ',"image":' || CASE WHEN image.path IS NULL THEN 'null' ELSE
           '{"path":' || to_json(image.path)::text
           || ',"caption":' || coalesce(to_json(image.caption)::text, 'null') || '}' END
    || ',"updated_at":' || CASE WHEN item.updated_at IS NULL THEN 'null' ELSE
           '"' || to_char(item.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN extract(microseconds FROM item.updated_at) % 1000000 = 0 THEN ''
                   ELSE to_char(item.updated_at AT TIME ZONE 'UTC', '.US') END
           || '+00:00"' END
    /*rank*/
    || '}', ',' ORDER BY chosen.position), '') || ']'
"""
_SUMMARIES_JSON_PG = text(_ITEMS_AS_JSON.replace("/*rank*/", "") + _SUMMARY_SOURCES)
# Search's items: the same, each with its rank last (where search puts it in the dicts).
_RANKED_SUMMARIES_JSON_PG = text(
    _ITEMS_AS_JSON.replace("/*rank*/", "|| ',\"rank\":' || chosen.rank")
    + _summary_sources(_CHOSEN_RANKED)
)


def summaries_json(
    session: Session,
    onec_ids: Sequence[str],
    price_type: str | None,
    *,
    ranks: Sequence[float] | None = None,
) -> RawJSON:
    """``summaries`` as the JSON array ``dumps`` would write of it, written by PostgreSQL;
    with ``ranks`` (one per id), each item ends with ``"rank"``, as search's items do."""
    if not onec_ids:
        return RawJSON("[]")
    params: dict[str, Any] = {"ids": list(onec_ids), "price_type": price_type or ""}
    statement = _SUMMARIES_JSON_PG
    if ranks is not None:
        params["ranks"] = [json.dumps(rank) for rank in ranks]
        statement = _RANKED_SUMMARIES_JSON_PG
    return RawJSON(str(session.execute(statement, params).scalar_one()))


def _summary_parts_pg(
    session: Session, ids: list[str], price_type: str | None
) -> dict[str, SummaryParts]:
    """The same parts as ``_summary_parts``, in one statement."""
    rows = session.execute(_SUMMARIES_PG, {"ids": ids, "price_type": price_type or ""})
    parts: dict[str, SummaryParts] = {}
    for row in rows:
        price = None
        if price_type is not None and row.counted is not None:
            price = _price_of_row(price_type, row)
        image = None if row.path is None else {"path": row.path, "caption": row.caption}
        parts[row.onec_id] = (row._mapping, price, row.total, image)
    return parts


def _lowest_price_rows(
    session: Session, ids: list[str], price_type: str | None
) -> dict[str, dict[str, Any]]:
    if price_type is None:
        return {}
    rows = session.execute(
        select(
            PR.c.product_onec_id,
            func.min(PR.c.value).label("lowest"),
            func.max(PR.c.value).label("highest"),
            func.max(PR.c.currency).label("currency"),
            func.count(PR.c.value).label("priced"),
            func.count().label("counted"),
            func.max(PR.c.presentation).label("presentation"),
        )
        .join(O, O.c.onec_id == PR.c.offer_onec_id)
        .where(
            PR.c.product_onec_id.in_(ids),
            PR.c.price_type_onec_id == price_type,
            not_(O.c.is_deleted),
        )
        .group_by(PR.c.product_onec_id)
    )
    return {row.product_onec_id: _price_of_row(price_type, row) for row in rows}


def _price_of_row(price_type: str, row: Any) -> dict[str, Any]:
    """``_price_summary`` of a row of the price type's aggregates (``lowest``, ``highest``,
    ``currency``, ``priced`` and ``counted`` prices, ``presentation``)."""
    return _price_summary(
        price_type,
        lowest=row.lowest,
        highest=row.highest,
        currency=row.currency,
        on_request=row.counted - row.priced,
        presentation=row.presentation,
    )


def _price_summary(
    price_type: str,
    *,
    lowest: Decimal | None,
    highest: Decimal | None,
    currency: str | None,
    on_request: int,
    presentation: str | None,
) -> dict[str, Any]:
    """The lowest price; ``value`` None when every variant's price is on request (1C sent no
    value, only a presentation such as "Уточните у менеджера", which is then served)."""
    return {
        "price_type_id": price_type,
        "value": money(lowest),
        "currency": currency,
        "varies": lowest is not None and (highest != lowest or on_request > 0),
        "presentation": presentation if lowest is None else None,
    }


def stock_totals(session: Session, ids: list[str]) -> dict[str, Decimal]:
    """Per product: the sum over its active offers of each offer's total (see ``offer_total``)."""
    rows = session.execute(
        select(S.c.product_onec_id, S.c.offer_onec_id, S.c.warehouse_onec_id, S.c.quantity)
        .join(O, O.c.onec_id == S.c.offer_onec_id)
        .where(S.c.product_onec_id.in_(ids), not_(O.c.is_deleted))
    )
    per_offer: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        per_offer[(row.product_onec_id, row.offer_onec_id)][row.warehouse_onec_id] = row.quantity
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (product, _offer), by_warehouse in per_offer.items():
        totals[product] += offer_total(by_warehouse)
    return dict(totals)


def offer_total(by_warehouse: dict[str, Decimal]) -> Decimal:
    """The total 1C sent (warehouse ``""``) when it sent one, else the sum over warehouses."""
    if "" in by_warehouse:
        return by_warehouse[""]
    return sum(by_warehouse.values(), Decimal(0))


def _first_images(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    first = (
        select(PI.c.product_onec_id, func.min(PI.c.position).label("position"))
        .where(PI.c.product_onec_id.in_(ids))
        .group_by(PI.c.product_onec_id)
        .subquery()
    )
    rows = session.execute(
        select(PI.c.product_onec_id, PI.c.path, PI.c.caption).join(
            first,
            and_(
                first.c.product_onec_id == PI.c.product_onec_id,
                first.c.position == PI.c.position,
            ),
        )
    )
    return {row.product_onec_id: {"path": row.path, "caption": row.caption} for row in rows}
