"""``type=sale``: orders to 1C (``query`` / ``success``) and order updates from 1C.

An order handed out by ``query`` becomes ``pending`` for that exchange session; only that session's
``success`` makes it ``exported``. Without ``success`` (1C crashed, the reply was lost) the next
``query`` sends it again, and a ``success`` of another session never confirms it. An order changed
on the site after that goes back to ``new`` (the storefront's part) and is sent again.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from exchange_formats.commerceml import write_orders
from exchange_formats.commerceml.orders_writer import VERSIONS as WRITER_VERSIONS
from syncd.exchange.order_records import order_record
from syncd.store.models import Order

PENDING, EXPORTED, NEW = "pending", "exported", "new"
BOM = b"\xef\xbb\xbf"


def orders_to_send(db: Session, *, limit: int | None = None) -> Sequence[Order]:
    """Orders never confirmed by 1C: new ones and those handed out without a ``success``."""
    query = (
        select(Order)
        .where(Order.export_state.in_((NEW, PENDING)), Order.is_deleted.is_(False))
        .options(selectinload(Order.lines))
        .order_by(Order.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return db.scalars(query).all()


def has_new_orders(db: Session) -> bool:
    """Whether an order exists that no exchange has handed out yet (what ``type=listen`` waits
    for)."""
    query = select(Order.id).where(Order.export_state == NEW, Order.is_deleted.is_(False))
    return db.scalars(query.limit(1)).first() is not None


def site_statuses(db: Session, status_map: Mapping[str, str], *, limit: int = 500) -> list[str]:
    """The shop's order statuses for ``mode=info``: ``new``, those ``exchange.status_map`` maps
    1C's statuses to, ``cancelled``, then any other status orders carry (at most ``limit``)."""
    found = dict.fromkeys([NEW, *status_map.values(), "cancelled"])
    stored = db.scalars(select(Order.status).distinct().order_by(Order.status).limit(limit))
    found.update(dict.fromkeys(stored))
    return list(found)[:limit]


def hand_out(db: Session, orders: Sequence[Order], session_digest: str) -> None:
    """Mark ``orders`` pending for the exchange session ``session_digest``. Flushes, no commit."""
    for order in orders:
        order.export_state, order.export_session = PENDING, session_digest
    db.flush()


def query_version(negotiated: str | None, default: str) -> str:
    """The ВерсияСхемы of the orders document: what 1C asked for on ``init`` if the writer
    speaks it (2.05 and newer), else ``exchange.schema_version``."""
    return negotiated if negotiated in WRITER_VERSIONS else default


def render_orders(orders: Sequence[Order], *, version: str, encoding: str, tz_name: str) -> bytes:
    """The ``mode=query`` document; UTF-8 gets a BOM (what 1C's XML reader expects)."""
    from zoneinfo import ZoneInfo

    out = io.BytesIO()
    write_orders(
        (order_record(order) for order in orders),
        out,
        version=version,
        encoding=encoding,
        generated_at=datetime.now(UTC),
        tz=ZoneInfo(tz_name),
    )
    body = out.getvalue()
    if encoding == "utf-8" and not body.startswith(BOM):
        body = BOM + body
    return body


def confirm(db: Session, session_digest: str) -> int:
    """``success``: the orders this session handed out become ``exported``; returns how many."""
    result = db.execute(
        update(Order)
        .where(Order.export_session == session_digest, Order.export_state == PENDING)
        .values(export_state=EXPORTED, exported_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
