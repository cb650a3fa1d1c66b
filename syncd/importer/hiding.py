"""The guard on mass hiding: a full package that would hide much of the catalog waits.

A full package hides the products and offers it did not mention. One mistaken "full" export
(a filtered selection, a test base) would so hide a whole shop. When hiding a table's unmentioned
rows would hide more than ``import.hide_guard_share`` of its visible rows (and more than
``import.hide_guard_min_rows``), the run is imported but its hiding is *held*: nothing is hidden,
the run's mentions are kept, ``sync_runs.held_hide`` says what would go, and an audit entry
``import.hide_held`` is written. An operator then confirms (``confirm_hide``: the same hiding,
as the run would have done it) or rejects it (``reject_hide``: nothing is hidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import ImportSettings, RedisSettings
from syncd.importer.repository import CatalogRepository
from syncd.importer.writer import Counts
from syncd.store import audit, changes, models
from syncd.store.engine import make_session_factory
from syncd.store.events import CatalogNotifier
from syncd.store.locks import CATALOG_LOCK, named_lock
from syncd.store.unit_of_work import UnitOfWork

# Statuses of a package run that finished importing (a later one makes a held hiding stale).
_FINISHED = ("succeeded", "unchanged")
HELD_ACTION = "import.hide_held"  # the audit entry of a run whose hiding is held


class HideError(Exception):
    """A held hiding cannot be confirmed or rejected; the message says why and what to do.

    ``NoSuchRun``: the run does not exist. ``NotHeld``: the run holds no hiding (never did, or
    it was confirmed or rejected already). ``HideOutOfDate``: a later import of the stream
    finished, so the run's hiding can only be rejected (``later`` names that run).
    """


class NoSuchRun(HideError):
    pass


class NotHeld(HideError):
    pass


class HideOutOfDate(HideError):
    def __init__(self, message: str, *, later: str) -> None:
        super().__init__(message)
        self.later = later


@dataclass(frozen=True, slots=True)
class Measured:
    """What hiding one table's unmentioned rows would do."""

    table: str
    kind: str  # the mention kind ("product", "offer")
    up_to_id: int
    would_hide: int
    active: int

    def too_many(self, settings: ImportSettings) -> bool:
        return (
            self.would_hide > settings.hide_guard_min_rows
            and self.would_hide > settings.hide_guard_share * self.active
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "up_to_id": self.up_to_id,
            "would_hide": self.would_hide,
            "active": self.active,
        }


def held_message(run_uuid: str, held: dict[str, Any], share: float) -> str:
    """One line for the operator: what would be hidden and the two commands that decide."""
    parts = [f"{m['would_hide']} of {m['active']} {table}" for table, m in sorted(held.items())]
    return (
        f"hiding held: this full package would hide {', '.join(parts)} (more than "
        f"{share:.0%}, import.hide_guard_share); check it, then `onec-sync runs confirm-hide "
        f"{run_uuid}` or `onec-sync runs reject-hide {run_uuid}`"
    )


def confirm_hide(
    engine: Engine,
    run_uuid: str,
    *,
    redis: RedisSettings,
    actor: str | None,
    change_log: bool = True,
    wait: bool = True,
) -> dict[str, int]:
    """Hide what the held run did not mention (rows that existed when it began); returns the
    rows hidden per table. One transaction, under the catalog lock (``LockBusy`` when ``wait``
    is false and an import holds it); with ``change_log``, each hidden row's ``hidden`` event
    is written in it (``syncd.store.changes``)."""
    with (
        named_lock(engine, CATALOG_LOCK, wait=wait),
        UnitOfWork(make_session_factory(engine)) as uow,
    ):
        run, held = _held_run(uow.session, run_uuid)
        _refuse_if_stale(uow.session, run)
        repo = CatalogRepository(uow.session)
        counts = Counts.from_dict(run.counts or {})
        now = datetime.now(UTC)
        hidden: dict[str, int] = {}
        for table_name, measured in held.items():
            table = models.Base.metadata.tables[table_name]
            ids = repo.hide_unmentioned(
                table, run.id, measured["kind"], now, up_to_id=measured["up_to_id"]
            )
            counts.add(table_name, "hidden", len(ids))
            hidden[table_name] = len(ids)
            if change_log:
                found = changes.ChangeSet(run.id)
                found.add_all(measured["kind"], ids, "hidden")
                changes.append(uow.session, found, now=now)
        _close(uow.session, repo, run, "import.hide_confirmed", "confirmed", actor, hidden)
        run.counts = counts.as_dict()
        uow.commit()
    notifier = CatalogNotifier(redis.url, engine=engine)
    notifier.committed(["products", "offers", "prices", "stock"])
    notifier.flush()
    return hidden


def reject_hide(
    engine: Engine, run_uuid: str, *, actor: str | None, wait: bool = True
) -> dict[str, int]:
    """Drop the held hiding: nothing is hidden; the run's mentions are forgotten. Returns the
    rows the hiding would have hidden per table."""
    with (
        named_lock(engine, CATALOG_LOCK, wait=wait),
        UnitOfWork(make_session_factory(engine)) as uow,
    ):
        run, held = _held_run(uow.session, run_uuid)
        repo = CatalogRepository(uow.session)
        would = {table: m["would_hide"] for table, m in held.items()}
        _close(uow.session, repo, run, "import.hide_rejected", "rejected", actor, would)
        uow.commit()
    return would


def held_runs(session: Session) -> list[dict[str, Any]]:
    """Runs whose hiding waits for an operator, oldest first.

    One query through indexes: every held run has an ``import.hide_held`` audit entry, written
    in the transaction that set ``held_hide`` (and the audit log is append-only), so the few
    such entries (``ix_audit_log_action``) lead to the runs (``run_uuid`` is unique) without
    reading the whole ``sync_runs`` table."""
    r, a = models.SyncRun, models.AuditEntry
    ever_held = select(a.run_uuid).where(a.action == HELD_ACTION)
    rows = session.execute(
        select(r.run_uuid, r.stream, r.started_at, r.held_hide)
        .where(r.run_uuid.in_(ever_held), r.held_hide.is_not(None))
        .order_by(r.id)
    ).all()
    return [
        {"run_uuid": run_uuid, "stream": stream, "started_at": started_at, "held": held}
        for run_uuid, stream, started_at, held in rows
        if held
    ]


def later_run(session: Session, run: models.SyncRun) -> str | None:
    """The first import of ``run``'s stream that finished after it began, if any: a held
    hiding measured before it is out of date."""
    return session.execute(
        select(models.SyncRun.run_uuid)
        .where(
            models.SyncRun.stream == run.stream,
            models.SyncRun.id > run.id,
            models.SyncRun.status.in_(_FINISHED),
        )
        .order_by(models.SyncRun.id)
        .limit(1)
    ).scalar_one_or_none()


def _held_run(session: Session, run_uuid: str) -> tuple[models.SyncRun, dict[str, Any]]:
    run = session.execute(
        select(models.SyncRun).where(models.SyncRun.run_uuid == run_uuid)
    ).scalar_one_or_none()
    if run is None:
        raise NoSuchRun(f"no run {run_uuid!r}; `onec-sync runs` lists them")
    if not run.held_hide:
        raise NotHeld(f"run {run_uuid} has no held hiding (`onec-sync status` lists those)")
    return run, dict(run.held_hide)


def _refuse_if_stale(session: Session, run: models.SyncRun) -> None:
    later = later_run(session, run)
    if later is not None:
        raise HideOutOfDate(
            f"run {later} imported after run {run.run_uuid}, so its held hiding is out of date: "
            f"`onec-sync runs reject-hide {run.run_uuid}`, then import the full package again",
            later=later,
        )


def _close(
    session: Session,
    repo: CatalogRepository,
    run: models.SyncRun,
    action: str,
    outcome: str,
    actor: str | None,
    rows: dict[str, int],
) -> None:
    repo.forget_mentions(run.id)
    audit.append(
        session,
        action=action,
        outcome=outcome,
        actor=actor,
        source=run.source,
        run_uuid=run.run_uuid,
        details={"rows": rows, "held": run.held_hide},
    )
    run.held_hide = None
