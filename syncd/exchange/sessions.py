"""Exchange sessions: one per ``checkauth``, identified by a cookie that expires when idle.

The token 1C gets on ``checkauth`` (and sends back as ``Cookie: <name>=<token>``) is stored only as
its SHA-256, so the database alone cannot be used to join a running exchange. A session stays
usable for ``exchange.session_ttl_seconds`` after its last request and for
``exchange.session_max_seconds`` after ``checkauth`` at most, however busy; its ``status`` says how
it ended (``open`` -> ``succeeded`` | ``failed`` | ``expired``). A failed or expired session refuses
every further request; a succeeded one only repeats its end (``deactivate``/``complete``,
``success``) or how an import went, and, for ``type=sale``, takes the order updates 1C sends
after ``success``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store.models import ExchangeSession

COOKIE_NAME = "onec_sync_exchange"
OPEN = "open"
SUCCEEDED = "succeeded"
FAILED = "failed"
EXPIRED = "expired"
_TOUCH_EVERY_SECONDS = 5


def token_digest(token: str) -> str:
    """What is stored for a session token (and in ``orders.export_session``)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientInfo:
    """Who is calling: the login and what the HTTP request says about the client."""

    username: str
    remote_addr: str | None
    user_agent: str | None


def open_session(
    db: Session, *, exchange_type: str, client: ClientInfo, exchange_dir: Path
) -> tuple[ExchangeSession, str]:
    """A new open session and its token (the only time the token is known). Flushes, no commit.

    Its staging folder is named but created only when the first file arrives.
    """
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = ExchangeSession(
        token=token_digest(token),
        type=exchange_type,
        username=client.username,
        remote_addr=client.remote_addr,
        user_agent=(client.user_agent or "")[:500] or None,
        zip=False,
        status=OPEN,
        created_at=now,
        last_seen_at=now,
    )
    db.add(row)
    db.flush()
    row.staging_dir = str(exchange_dir / f"{now:%Y%m%dT%H%M%S}-{row.id}")
    return row, token


def find_session(
    db: Session, token: str, *, exchange_type: str, ttl_seconds: int, max_seconds: int
) -> ExchangeSession | None:
    """The session of ``token`` for this exchange type, touched; ``None`` if unknown or of
    another type. One idle longer than ``ttl_seconds`` or older than ``max_seconds`` is marked
    ``expired`` (if still open) and returned: the caller refuses it by its status."""
    row = db.scalars(
        select(ExchangeSession).where(ExchangeSession.token == token_digest(token))
    ).one_or_none()
    if row is None or row.type != exchange_type:
        return None
    now = datetime.now(UTC)
    idle = _aware(row.last_seen_at) < now - timedelta(seconds=ttl_seconds)
    too_old = _aware(row.created_at) < now - timedelta(seconds=max_seconds)
    if idle or too_old:
        if row.status == OPEN:
            row.status, row.ended_at = EXPIRED, now
            row.error = "idle too long" if idle else "older than exchange.session_max_seconds"
        return row
    if _aware(row.last_seen_at) < now - timedelta(seconds=_TOUCH_EVERY_SECONDS):
        row.last_seen_at = now  # not on every request: one write a while is enough for expiry
    return row


# What a succeeded session still answers: repeating its end or asking again how an import went,
# and 1C's order updates after a sale's success. Never a new upload into a finished package.
AFTER_SUCCESS = frozenset(
    {
        ("catalog", "import"),
        ("catalog", "deactivate"),
        ("catalog", "complete"),
        ("sale", "success"),
        ("sale", "file"),
        ("sale", "import"),
    }
)


def refusal(row: ExchangeSession, mode: str) -> str | None:
    """Why ``row`` may not serve ``mode`` (None: it may)."""
    if row.status == OPEN or (row.status == SUCCEEDED and (row.type, mode) in AFTER_SUCCESS):
        return None
    reason = f": {row.error}" if row.error else ""
    return (
        f"this exchange session has {row.status}{reason}; it takes no more requests: "
        "start again with mode=checkauth"
    )


def staging_dir(row: ExchangeSession) -> Path:
    assert row.staging_dir is not None, "open_session names the staging folder"
    return Path(row.staging_dir)


def end_session(row: ExchangeSession, status: str, error: str | None = None) -> None:
    """Record how ``row`` ended. An ended session only changes to ``failed`` (a sale session
    confirmed by ``success`` whose order-update file then fails)."""
    if row.status != OPEN and status != FAILED:
        return
    row.status = status
    row.error = error
    row.ended_at = datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
