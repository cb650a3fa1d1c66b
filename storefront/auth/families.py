"""Login sessions as refresh-token families: rotation, reuse detection, ending them.

Each login starts a family (a ``token_families`` row); every token issued in it carries the
family's id in the ``fam`` claim. A refresh token refreshes once: the refresh returns a new
refresh token, which becomes the family's ``current_jti``. A refresh token of the family that is
no longer the current one was used before (stolen, or replayed), so presenting it ends the whole
family: its access and refresh tokens are refused from the next request on. Logout, disabling the
user and setting a new password end families too. Ended families are checked in the database on
every request that carries a token, so this holds with or without Redis.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncd.store.models import TokenFamily

FAMILY_CLAIM = "fam"
LOGOUT = "logout"
REUSED = "refresh token reused"
DISABLED = "user disabled"
CREDENTIALS_CHANGED = "credentials changed"


def start_family(
    session: Session, *, family_id: str, username: str, refresh_jti: str, expires_at: datetime
) -> None:
    """Record a new login. Flushes; the caller commits."""
    session.add(
        TokenFamily(id=family_id, username=username, current_jti=refresh_jti, expires_at=expires_at)
    )
    session.flush()


def rotate(session: Session, family_id: str, *, presented_jti: str, next_jti: str) -> bool:
    """Make ``next_jti`` the family's refresh token if ``presented_jti`` is the current one.

    Atomic (one conditional UPDATE), so of two refreshes racing with the same token only one
    wins; the loser counts as reuse. False (and the family ended) when the token was not the
    current one. Does not commit.
    """
    result = session.execute(
        update(TokenFamily)
        .where(
            TokenFamily.id == family_id,
            TokenFamily.current_jti == presented_jti,
            TokenFamily.ended_at.is_(None),
        )
        .values(current_jti=next_jti)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 1:
        return True
    end_family(session, family_id, REUSED)
    return False


def end_family(session: Session, family_id: str, because: str) -> None:
    """End one family (idempotent; the first reason stays). Does not commit."""
    session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC), ended_because=because)
        .execution_options(synchronize_session=False)
    )


def end_user_families(session: Session, username: str, because: str) -> int:
    """End every live family of ``username``; returns how many. Does not commit."""
    result = session.execute(
        update(TokenFamily)
        .where(TokenFamily.username == username, TokenFamily.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC), ended_because=because)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def is_live(session: Session, family_id: str) -> bool:
    """True when the family exists, has not ended and has not passed its absolute expiry."""
    row = session.execute(
        select(TokenFamily.ended_at, TokenFamily.expires_at).where(TokenFamily.id == family_id)
    ).first()
    if row is None or row.ended_at is not None:
        return False
    expires_at: datetime = row.expires_at
    if expires_at.tzinfo is None:  # SQLite gives naive UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at > datetime.now(UTC)
