"""The change feed's reads: a page of events after a position, and the retention horizon."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storefront.formatting import iso
from syncd.store.models import CHANGE_FEED_HORIZON, ChangeEvent, Checkpoint


def horizon(session: Session) -> int:
    """The highest position retention removed (0: none)."""
    checkpoint = session.get(Checkpoint, CHANGE_FEED_HORIZON)
    return int(checkpoint.cursor.get("through", 0)) if checkpoint else 0


def head(session: Session) -> int:
    return int(session.execute(select(func.max(ChangeEvent.position))).scalar() or 0)


def page(session: Session, *, after: int, limit: int, kinds: Sequence[str]) -> list[dict[str, Any]]:
    """Events after ``after`` in position order (one index range scan), at most ``limit``."""
    stmt = (
        select(ChangeEvent)
        .where(ChangeEvent.position > after)
        .order_by(ChangeEvent.position)
        .limit(limit)
    )
    if kinds:
        stmt = stmt.where(ChangeEvent.kind.in_(list(kinds)))
    return [_event(e) for e in session.execute(stmt).scalars()]


def _event(e: ChangeEvent) -> dict[str, Any]:
    return {
        "position": e.position,
        "kind": e.kind,
        "id": e.resource_id,
        "action": e.action,
        "data": e.data,
        "run_id": e.run_id,
        "at": iso(e.created_at),
    }
