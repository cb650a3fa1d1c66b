"""Full-text search: PostgreSQL ``websearch_to_tsquery`` over ``ix_products_fts`` (name and
description), ranked by the name's match; on SQLite a simpler case-insensitive substring match of
every word, name matches first."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storefront.formatting import RawJSON
from storefront.queries.cursor import decode_cursor, encode_cursor, invalid_cursor
from storefront.queries.products import in_groups, subgroups, summaries, summaries_json
from syncd.store.models import Product

P = Product.__table__

# Must stay exactly the expression of ix_products_fts (syncd/store/migrations/versions/0001), or
# PostgreSQL cannot use the index; tests/storefront checks both and the query plan.
PRODUCT_SEARCH_DOCUMENT = (
    "to_tsvector('russian', coalesce(name, '') || ' ' || coalesce(description, ''))"
)
# Matches are ranked by how well their *name* matches: what a shopper typed is usually what the
# product is called, and ranking on the name costs a fraction of re-parsing every matching
# description (the index holds lexemes, not positions, so ts_rank must rebuild the document).
# A query matching a large part of the catalog ("boots" in a shoe shop) ranks only the first
# MAX_RANKED_MATCHES matches the index yields: ranking must re-parse each match, and beyond a few
# thousand near-equal matches a better ranking is not worth a slower answer. Narrower queries
# (the usual case) are ranked in full.
MAX_RANKED_MATCHES = 500
MAX_OFFSET = MAX_RANKED_MATCHES  # deeper pages of a broad search are noise; refine the query
SQLITE_FOLD = "onec_sync_fold"  # a casefold() SQL function the storefront adds to SQLite
_MAX_WORDS = 8


def search_products(
    session: Session,
    q: str,
    *,
    limit: int,
    cursor: str | None,
    group: str | None,
    price_type: str | None,
    items_as_json: bool = False,
) -> dict[str, Any]:
    """``{"items": [... with "rank"], "next_cursor"}``; an empty query matches nothing. With
    ``items_as_json``, on PostgreSQL the items come as one ``RawJSON`` array written by the
    database (``summaries_json``), the bytes ``dumps`` would write of the dicts."""
    offset = decode_cursor(cursor, "search", 1)[0] if cursor else 0
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise invalid_cursor()
    params: dict[str, Any] = {"q": q, "limit": limit + 1, "offset": offset}
    if group:
        params["groups"] = subgroups(session, group)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        params["ranked"] = MAX_RANKED_MATCHES
        rows = list(session.execute(_postgres(bool(group)), params).all())
    else:
        rows = _fallback(session, q, params)
    more, rows = len(rows) > limit, rows[:limit]
    ids = [row.onec_id for row in rows]
    ranks = [round(float(row.rank), 6) for row in rows]
    items: list[dict[str, Any]] | RawJSON
    if items_as_json and postgres:
        items = summaries_json(session, ids, price_type, ranks=ranks)
    else:
        items = summaries(session, ids, price_type)
        by_id = dict(zip(ids, ranks, strict=True))
        for item in items:
            item["rank"] = by_id[item["id"]]
    next_offset = offset + limit
    next_cursor = (
        encode_cursor("search", [next_offset]) if more and next_offset <= MAX_OFFSET else None
    )
    return {"items": items, "next_cursor": next_cursor}


@lru_cache(maxsize=2)
def _postgres(group: bool) -> Select[Any]:
    """The search statement (parameters ``q``, ``ranked`` = MAX_RANKED_MATCHES, ``limit``,
    ``offset``, with ``group`` the ``groups`` to search in), built once: building it cost more
    CPU than running it."""
    document: ColumnElement[Any] = literal_column(PRODUCT_SEARCH_DOCUMENT)
    # The query parsed once per search, as a subquery's value: psycopg prepares the statement
    # after its fifth run, and in the generic plan PostgreSQL then reuses, a function of the
    # parameter is no longer a constant: it parsed the words again for every match ranked (a
    # broad word's search: 5.4 ms against 4.6 ms this way, statement alone).
    parsed = func.websearch_to_tsquery("russian", bindparam("q", type_=String))
    query = select(parsed).scalar_subquery()
    filters = [not_(P.c.is_deleted), *([in_groups()] if group else [])]
    hits = (
        select(P.c.id, P.c.onec_id, P.c.name)
        .where(document.op("@@")(query), *filters)
        .limit(bindparam("ranked", type_=Integer))
        .subquery("hits")
    )
    rank = func.ts_rank(func.to_tsvector("russian", func.coalesce(hits.c.name, "")), query)
    return (
        select(hits.c.onec_id, rank.label("rank"))
        .order_by(rank.desc(), hits.c.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


def _fallback(session: Session, q: str, params: dict[str, Any]) -> list[Any]:
    words = [w.casefold() for w in q.split() if w.strip('"-')][:_MAX_WORDS]
    if not words:
        return []
    name = func.onec_sync_fold(P.c.name)
    description = func.onec_sync_fold(func.coalesce(P.c.description, ""))
    matches = [
        or_(name.like(_contains(w), escape="\\"), description.like(_contains(w), escape="\\"))
        for w in (w.strip('"') for w in words)
    ]
    in_name = and_(*(name.like(_contains(w.strip('"')), escape="\\") for w in words))
    rank = case((in_name, 1.0), else_=0.5).label("rank")
    filters = [not_(P.c.is_deleted), *([in_groups()] if "groups" in params else [])]
    statement = (
        select(P.c.onec_id, rank)
        .where(*matches, *filters)
        .order_by(rank.desc(), P.c.name, P.c.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    return list(session.execute(statement, params).all())


def _contains(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
