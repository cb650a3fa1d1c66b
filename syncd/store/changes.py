"""The change log: what the shop can see changed, appended in the transaction of the change.

Writers collect a batch's changes in a ``ChangeSet`` (one event per resource per batch: a
product created and then changed in one batch is one ``created`` event; an offer created in a
batch carries its prices and stock of that batch in its ``created`` event's data, later values
are ``price`` and ``stock`` events) and ``append`` them with one statement, in their own
transaction, so an event exists if and only if its change committed.

Positions are visible in commit order: ``append`` first takes a transaction-level lock
(PostgreSQL; SQLite has one writer anyway) that its transaction holds until it ends, so a
position is never handed out before an earlier one has committed or rolled back. A reader that
saw position N never later finds an event below N appear.

A run that may still be undone (a full package, ``syncd.importer.undo``) stages its events in
``change_batches_staged``, one row per batch (``stage``: the batch's events as one JSON array,
in their order); they join the log, in the order they were staged, in the transaction that
closes the run (``publish_staged``), or vanish with the undo (``drop_staged``): a failed package
leaves no event, and a reader never sees a change that is later taken back.

A session whose factory has the change log off (``make_session_factory(change_log=False)``,
``[changes] enabled``) appends nothing. One whose factory names a Redis announces each commit
that appended events (``announce_after_commit``), which wakes the API's waiting long-polls.

Retention (``prune``) removes old events up to a position that it records as the feed's
horizon; a reader asking for anything at or before it is told to read the catalog again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Text, cast, delete, event, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from syncd.store import models
from syncd.store.engine import CHANGE_LOG_INFO, CHANGES_REDIS_INFO
from syncd.store.events import publish_changes_committed
from syncd.store.lock_keys import lock_key

KINDS = ("product", "offer", "price", "stock", "group", "order")
CHANGE_LOG_LOCK = "change-log:append"
HORIZON_STREAM = models.CHANGE_FEED_HORIZON  # checkpoints row: {"through": <position>}

# A new offer's first prices and stock are data of its ``created`` event, not events of their
# own: a first import logs one event per offer instead of three.
_FOLDED = ("price", "stock")

# When one batch says two things of a resource, what the one event says.
_STRONGER = {"deleted": 3, "hidden": 2, "created": 1, "changed": 0}

Row = dict[str, Any]


@dataclass(slots=True)
class _Pending:
    action: str
    data: dict[str, Any] | None


class ChangeSet:
    """The events of one batch, coalesced per (kind, resource id)."""

    def __init__(self, run_id: int | None = None) -> None:
        self.run_id = run_id
        self._events: dict[tuple[str, str], _Pending] = {}

    def __len__(self) -> int:
        return len(self._events)

    def add(self, kind: str, resource_id: str, action: str, data: Row | None = None) -> None:
        if kind in _FOLDED:
            offer = self._events.get(("offer", resource_id))
            if offer is not None and offer.action == "created":
                if data:
                    offer.data = _merge(offer.data or {}, data)
                return
        key = (kind, resource_id)
        pending = self._events.get(key)
        if pending is None:
            pending = self._events[key] = _Pending(action, dict(data) if data else None)
        else:
            if _STRONGER.get(action, 0) > _STRONGER.get(pending.action, 0):
                pending.action = action
            if data:
                pending.data = _merge(pending.data or {}, data)
        if kind == "offer" and pending.action == "created":
            for folded in _FOLDED:  # values logged before the offer in this batch
                earlier = self._events.pop((folded, resource_id), None)
                if earlier is not None and earlier.data:
                    pending.data = _merge(pending.data or {}, earlier.data)

    def add_all(self, kind: str, resource_ids: Iterable[str], action: str) -> None:
        for resource_id in resource_ids:
            self.add(kind, resource_id, action)

    def events(self) -> list[tuple[str, str, str, Row | None]]:
        """(kind, resource id, action, data) in a stable order (kind as in ``KINDS``, then id)."""
        order = {kind: i for i, kind in enumerate(KINDS)}
        keys = sorted(self._events, key=lambda k: (order.get(k[0], len(order)), k[1]))
        pending = self._events
        return [
            (kind, rid, pending[(kind, rid)].action, pending[(kind, rid)].data)
            for kind, rid in keys
        ]

    def rows(self, now: datetime) -> list[Row]:
        """The events as ``change_events`` rows, in the order of ``events``."""
        run_id = self.run_id
        return [
            {
                "kind": kind,
                "resource_id": resource_id,
                "action": action,
                "data": data,
                "run_id": run_id,
                "created_at": now,
            }
            for kind, resource_id, action, data in self.events()
        ]


def _merge(old: Row, new: Row) -> Row:
    """Nested dicts merge (prices by price type, stock by warehouse); other values: the newer."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def lock_for_append(session: Session) -> None:
    """Hold the change-log lock until this transaction ends (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(CHANGE_LOG_LOCK)})


def enabled(session: Session) -> bool:
    """Whether this session's factory writes change events (``make_session_factory``)."""
    return bool(session.info.get(CHANGE_LOG_INFO, True))


def append(session: Session, changes: ChangeSet, *, now: datetime | None = None) -> int:
    """Append ``changes`` in the caller's transaction (one statement); returns how many (none
    when the session's factory has the change log off)."""
    rows = changes.rows(now or datetime.now(UTC))
    if not rows or not enabled(session):
        return 0
    lock_for_append(session)
    session.execute(insert(models.table(models.ChangeEvent)), rows)
    announce_after_commit(session)
    return len(rows)


def announce_after_commit(session: Session) -> None:
    """Once this transaction commits, wake long-polling readers (``events.CHANGES_CHANNEL``)
    when the session's factory names a Redis; a rolled-back transaction announces nothing."""
    if not session.info.get(CHANGES_REDIS_INFO):
        return
    session.info[_PENDING] = True
    if not session.info.get(_LISTENING):  # two listeners per session, whatever it commits
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _announce_pending)
        event.listen(session, "after_rollback", _forget_pending)


def _announce_pending(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        publish_changes_committed(str(session.info.get(CHANGES_REDIS_INFO) or ""))


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


_PENDING = "onec_sync_changes_pending"  # this transaction appended events
_LISTENING = "onec_sync_changes_listening"


def stage(session: Session, changes: ChangeSet, *, now: datetime) -> int:
    """Stage the events of a batch of a run that may be undone (one row); returns how many."""
    events = changes.events()
    if not events:
        return 0
    staged = models.table(models.StagedChangeBatch)
    value: Any = events
    if session.get_bind().dialect.name == "postgresql":
        # orjson turns a batch's thousands of events into JSON several times faster than json.
        value = cast(literal(orjson.dumps(events).decode(), Text), JSONB)
    session.execute(insert(staged).values(run_id=changes.run_id, events=value, created_at=now))
    return len(events)


_COLUMNS = ("kind", "resource_id", "action", "data", "run_id", "created_at")

# One staged batch's events, in their order, into the log. One statement per batch, in staging
# order: a single statement for the whole run would sort every event of the run at once (on disk
# past work_mem, a third of the publishing time at 100,000 products), one per batch sorts a
# batch's few thousand in memory.
_PUBLISH_BATCH_PG = text(
    """
    INSERT INTO change_events (kind, resource_id, action, data, run_id, created_at)
    SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, NULLIF(e.value -> 3, 'null'::jsonb),
           b.run_id, b.created_at
    FROM change_batches_staged AS b
    CROSS JOIN LATERAL jsonb_array_elements(b.events) WITH ORDINALITY AS e(value, n)
    WHERE b.id = :batch_id
    ORDER BY e.n
    """
)


def publish_staged(session: Session, run_id: int) -> int:
    """A journaled run succeeded: its staged events join the log, in the order they were
    staged, in the caller's (the run's closing) transaction; returns how many."""
    lock_for_append(session)
    if session.get_bind().dialect.name == "postgresql":
        staged = models.table(models.StagedChangeBatch)
        batches = session.execute(
            select(staged.c.id).where(staged.c.run_id == run_id).order_by(staged.c.id)
        ).scalars()
        count = 0
        for batch_id in list(batches):
            result = session.execute(_PUBLISH_BATCH_PG, {"batch_id": batch_id})
            count += int(getattr(result, "rowcount", 0) or 0)
    else:
        count = _publish_rows(session, run_id)
    drop_staged(session, run_id)
    if count:
        announce_after_commit(session)
    return count


def _publish_rows(session: Session, run_id: int) -> int:
    """``publish_staged`` row by row in Python (databases without JSON set functions)."""
    staged = models.table(models.StagedChangeBatch)
    batches = session.execute(
        select(staged.c.events, staged.c.created_at)
        .where(staged.c.run_id == run_id)
        .order_by(staged.c.id)
    ).all()
    rows = [
        dict(zip(_COLUMNS, (*event, run_id, created_at), strict=True))
        for events, created_at in batches
        for event in events
    ]
    if rows:
        session.execute(insert(models.table(models.ChangeEvent)), rows)
    return len(rows)


def drop_staged(session: Session, run_id: int) -> None:
    """A journaled run was undone: what it changed is back, so its events never happened."""
    staged = models.table(models.StagedChangeBatch)
    session.execute(delete(staged).where(staged.c.run_id == run_id))


def head(session: Session) -> int:
    """The highest position written (0 for an empty log)."""
    events = models.table(models.ChangeEvent)
    return int(session.execute(select(func.max(events.c.position))).scalar() or 0)


def horizon(session: Session) -> int:
    """The highest position retention removed (0: nothing was ever removed)."""
    checkpoint = session.get(models.Checkpoint, HORIZON_STREAM)
    return int(checkpoint.cursor.get("through", 0)) if checkpoint else 0


def prune(session: Session, *, older_than: datetime, keep_from: int | None) -> int:
    """Remove events created before ``older_than``, but none at or after ``keep_from`` (the
    first event a webhook endpoint still waits for); records the horizon; returns how many."""
    events = models.table(models.ChangeEvent)
    last_old = select(func.max(events.c.position)).where(events.c.created_at < older_than)
    through = int(session.execute(last_old).scalar() or 0)
    if keep_from is not None:
        through = min(through, keep_from - 1)
    if through <= horizon(session):
        return 0
    result = session.execute(delete(events).where(events.c.position <= through))
    checkpoint = session.get(models.Checkpoint, HORIZON_STREAM)
    if checkpoint is None:
        session.add(models.Checkpoint(stream=HORIZON_STREAM, cursor={"through": through}))
    else:
        checkpoint.cursor = {"through": through}
        checkpoint.updated_at = datetime.now(UTC)
    return int(getattr(result, "rowcount", 0) or 0)


def read(
    session: Session, *, after: int, limit: int, kinds: Iterable[str] = ()
) -> Iterator[models.ChangeEvent]:
    """Events after ``after``, in position order, at most ``limit``; only ``kinds`` if given."""
    stmt = (
        select(models.ChangeEvent)
        .where(models.ChangeEvent.position > after)
        .order_by(models.ChangeEvent.position)
        .limit(limit)
    )
    wanted = list(kinds)
    if wanted:
        stmt = stmt.where(models.ChangeEvent.kind.in_(wanted))
    return iter(session.execute(stmt).scalars().all())
