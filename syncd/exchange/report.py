"""``onec-sync exchange sessions``: the recorded exchange sessions, newest first."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from syncd.exchange.package import summarize
from syncd.store.models import ExchangeFile, ExchangeSession


@dataclass(frozen=True, slots=True)
class FileSummary:
    name: str
    size: int
    chunks: int
    kind: str | None
    status: str
    counts: dict[str, Any]
    error: str | None
    stored_path: str


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: int
    type: str
    username: str
    remote_addr: str | None
    user_agent: str | None
    version: str | None
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    status: str
    error: str | None
    files: tuple[FileSummary, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_sessions(engine: Engine, *, limit: int = 20) -> list[SessionSummary]:
    with Session(engine) as db:
        rows = db.scalars(
            select(ExchangeSession)
            .options(selectinload(ExchangeSession.files))
            .order_by(ExchangeSession.id.desc())
            .limit(limit)
        ).all()
        return [_summary(row) for row in rows]


def format_sessions(sessions: list[SessionSummary]) -> str:
    """Human-readable lines: one per session, then one per file."""
    if not sessions:
        return "no exchange sessions recorded"
    out = []
    for s in sessions:
        ended = f"{s.ended_at:%Y-%m-%d %H:%M:%S}" if s.ended_at else "-"
        out.append(
            f"#{s.id} {s.type:<7} {s.status:<9} {s.username} from {s.remote_addr or '?'} "
            f"{s.created_at:%Y-%m-%d %H:%M:%S} -> {ended}"
            + (f"  version {s.version}" if s.version else "")
        )
        if s.error:
            out.append(f"    error: {s.error}")
        for f in s.files:
            counts = summarize({k: v for k, v in f.counts.items() if isinstance(v, int)})
            out.append(
                f"    {f.name}  {f.size} bytes in {f.chunks} chunk(s)  {f.status}  {counts}"
                + (f"\n      error: {f.error}\n      kept at: {f.stored_path}" if f.error else "")
            )
    return "\n".join(out)


def _summary(row: ExchangeSession) -> SessionSummary:
    return SessionSummary(
        id=row.id,
        type=row.type,
        username=row.username,
        remote_addr=row.remote_addr,
        user_agent=row.user_agent,
        version=row.version,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        ended_at=row.ended_at,
        status=row.status,
        error=row.error,
        files=tuple(_file(f) for f in row.files),
    )


def _file(row: ExchangeFile) -> FileSummary:
    return FileSummary(
        name=row.name,
        size=row.size,
        chunks=row.chunks,
        kind=row.kind,
        status=row.status,
        counts=dict(row.counts or {}),
        error=row.error,
        stored_path=row.stored_path,
    )
