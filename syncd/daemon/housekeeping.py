"""Retention: remove what ``[housekeeping]`` says is old enough, and nothing still in use.

* exchange staging folders (``<data_dir>/exchange/<stamp>-<session id>``): only of sessions that
  ended (succeeded, failed, expired) longer ago than ``exchange_staging_days``; a folder without a
  session row counts from its modification time. Open sessions' folders are never touched.
* unpacking folders (``<data_dir>/work/*``) a killed import left, after ``work_days``.
* quarantined files with their ``.reason.txt``, after ``quarantine_days``.
* change feed events older than ``change_events_days``, except those a webhook endpoint has not
  acknowledged yet (a failing endpoint's events wait for it).
* packages in ``folder.done_path`` / ``folder.failed_path`` (and their ``.reason.txt``), by the
  time they were claimed (their name's stamp), after ``folder_done_days`` / ``folder_failed_days``.
* logins (``token_families``) and revoked token ids (``revoked_tokens``) a day after their tokens
  expired: an expired token is refused for its expiry alone, so these rows no longer decide
  anything. Always on: they would otherwise grow by one row per login for ever.

Idempotent; safe to run while the daemon works.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from config import Settings
from syncd.daemon.inbox import stamp_of
from syncd.exchange.sessions import OPEN
from syncd.store import changes, models

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Removed:
    what: str  # exchange_staging | work | quarantine | folder_done | folder_failed | change_events
    #            | expired_tokens
    entries: int = 0
    bytes: int = 0


def sweep_old_files(
    settings: Settings, engine: Engine, *, now: datetime | None = None
) -> list[Removed]:
    """Remove every expired entry; returns what was removed per kind (kinds switched off by a
    0 age are left out)."""
    now = now or datetime.now(UTC)
    keep = settings.housekeeping
    paths = settings.paths
    plan: list[tuple[str, float, Iterator[tuple[Path, datetime]]]] = [
        ("exchange_staging", keep.exchange_staging_days, _staging(paths.exchange_dir, engine)),
        ("work", keep.work_days, _by_mtime(paths.data_dir / "work")),
        ("quarantine", keep.quarantine_days, _quarantined(paths.quarantine_dir)),
    ]
    if settings.folder.inbox is not None:
        plan.append(("folder_done", keep.folder_done_days, _claimed(settings.folder.done_path)))
        plan.append(
            ("folder_failed", keep.folder_failed_days, _claimed(settings.folder.failed_path))
        )
    removed = []
    for what, days, entries in plan:
        if days > 0:
            removed.append(_remove_older(what, entries, now - timedelta(days=days)))
    if keep.change_events_days > 0:
        cutoff = now - timedelta(days=keep.change_events_days)
        removed.append(Removed("change_events", prune_change_events(engine, cutoff)))
    removed.append(Removed("expired_tokens", prune_expired_tokens(engine, now - TOKEN_GRACE)))
    return removed


# How long after its expiry a token's rows stay (longer than any clock skew between hosts).
TOKEN_GRACE = timedelta(days=1)


def prune_expired_tokens(engine: Engine, expired_before: datetime) -> int:
    """Remove logins and revoked token ids whose tokens expired before ``expired_before``;
    returns how many rows."""
    with Session(engine) as session:
        removed = 0
        for model in (models.TokenFamily, models.RevokedToken):
            table = models.table(model)
            result = session.execute(delete(table).where(table.c.expires_at < expired_before))
            removed += int(getattr(result, "rowcount", 0) or 0)
        session.commit()
    if removed:
        log.info("housekeeping: removed %d expired login and revocation rows", removed)
    return removed


def prune_change_events(engine: Engine, older_than: datetime) -> int:
    """Remove change events created before ``older_than`` that every webhook endpoint has
    acknowledged; returns how many (readers asking for them get a 410)."""
    with Session(engine) as session:
        table = models.table(models.WebhookEndpoint)
        waiting = session.execute(select(func.min(table.c.position))).scalar()
        keep_from = None if waiting is None else int(waiting) + 1
        removed = changes.prune(session, older_than=older_than, keep_from=keep_from)
        session.commit()
    if removed:
        log.info("housekeeping: removed %d change events", removed)
    return removed


def _remove_older(what: str, entries: Iterator[tuple[Path, datetime]], cutoff: datetime) -> Removed:
    count = size = 0
    for path, moment in entries:
        if moment >= cutoff:
            continue
        size += _size(path)
        _delete(path)
        _delete(path.with_name(path.name + ".reason.txt"))
        count += 1
    if count:
        log.info("housekeeping: removed %d %s entries (%d bytes)", count, what, size)
    return Removed(what, count, size)


def _staging(directory: Path, engine: Engine) -> Iterator[tuple[Path, datetime]]:
    """Staging folders with the time their session ended; open sessions' are left out."""
    folders = [p for p in _children(directory) if p.is_dir()]
    if not folders:
        return
    ids = {_session_id(p.name): p for p in folders}
    with Session(engine) as db:
        rows = db.execute(
            select(models.ExchangeSession.id, models.ExchangeSession.status,
                   models.ExchangeSession.ended_at, models.ExchangeSession.last_seen_at)
            .where(models.ExchangeSession.id.in_([i for i in ids if i is not None]))
        ).all()  # fmt: skip
    sessions = {row.id: row for row in rows}
    for session_id, path in ids.items():
        row = sessions.get(session_id) if session_id is not None else None
        if row is None:
            yield path, _mtime(path)
        elif row.status != OPEN:
            yield path, _aware(row.ended_at or row.last_seen_at)


def _by_mtime(directory: Path) -> Iterator[tuple[Path, datetime]]:
    for path in _children(directory):
        yield path, _mtime(path)


def _quarantined(directory: Path) -> Iterator[tuple[Path, datetime]]:
    for path in _children(directory):
        if not path.name.endswith(".reason.txt"):
            yield path, _mtime(path)


def _claimed(directory: Path | None) -> Iterator[tuple[Path, datetime]]:
    if directory is None:
        return
    for path in _children(directory):
        if not path.name.endswith(".reason.txt"):
            yield path, stamp_of(path.name) or _mtime(path)


def _children(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except FileNotFoundError:
        return []


def _session_id(name: str) -> int | None:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.lstat().st_mtime, UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
