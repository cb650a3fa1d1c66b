"""The group tree, price types and warehouses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import not_, select, text
from sqlalchemy.orm import Session

from syncd.store.models import Group, PriceType, Warehouse

G = Group.__table__
PT = PriceType.__table__
W = Warehouse.__table__


def group_tree(session: Session) -> list[dict[str, Any]]:
    """Active groups as a tree; a group whose parent is unknown or deleted becomes a root."""
    rows = session.execute(
        select(G.c.onec_id, G.c.parent_onec_id, G.c.name, G.c.sort)
        .where(not_(G.c.is_deleted))
        .order_by(G.c.sort.is_(None), G.c.sort, G.c.name, G.c.onec_id)
    ).all()
    nodes = {
        row.onec_id: {"id": row.onec_id, "name": row.name, "sort": row.sort, "children": []}
        for row in rows
    }
    roots: list[dict[str, Any]] = []
    for row in rows:
        parent = nodes.get(row.parent_onec_id) if row.parent_onec_id else None
        if parent is not None and row.parent_onec_id != row.onec_id:
            parent["children"].append(nodes[row.onec_id])
        else:
            roots.append(nodes[row.onec_id])
    return roots


def price_types(session: Session, default_setting: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(PT.c.onec_id, PT.c.name, PT.c.currency, PT.c.tax_name, PT.c.tax_included)
        .where(not_(PT.c.is_deleted))
        .order_by(PT.c.id)
    ).all()
    default = resolve_price_type(session, None, default_setting)
    return [
        {
            "id": row.onec_id,
            "name": row.name,
            "currency": row.currency,
            "tax_name": row.tax_name,
            "tax_included": row.tax_included,
            "is_default": default is not None and row.onec_id == default.onec_id,
        }
        for row in rows
    ]


# The price type a request prices in, in one statement of the same text for every request (so
# psycopg prepares it once per connection, and no statement is built per request): the type
# named by Ид or name, an Ид match first; without a name, the configured default (by Ид or
# name), else the first one.
_RESOLVE_PRICE_TYPE = text(
    """
SELECT onec_id, name, currency FROM price_types
 WHERE NOT is_deleted AND (:wanted = '' OR onec_id = :wanted OR name = :wanted)
 ORDER BY CASE WHEN :wanted = ''
               THEN NOT (:setting <> '' AND (onec_id = :setting OR name = :setting))
               ELSE onec_id <> :wanted END,
          id
 LIMIT 1
"""
)


def resolve_price_type(session: Session, wanted: str | None, default_setting: str) -> Any:
    """The price type named by Ид or name (``wanted``), else the configured default, else the
    first one; None when there is none (or ``wanted`` names none)."""
    return session.execute(
        _RESOLVE_PRICE_TYPE, {"wanted": wanted or "", "setting": default_setting or ""}
    ).first()


def warehouses(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(W.c.onec_id, W.c.name, W.c.address).where(not_(W.c.is_deleted)).order_by(W.c.name)
    ).all()
    return [{"id": row.onec_id, "name": row.name, "address": row.address} for row in rows]
