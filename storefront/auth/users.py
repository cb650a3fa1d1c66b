"""People who log in to the API: operators and admins, with argon2-hashed passwords."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storefront.auth import families
from storefront.auth.passwords import hash_password, verify_password
from storefront.auth.roles import USER_ROLES
from storefront.errors import BadRequest, Conflict, NotFound
from storefront.formatting import iso
from syncd.store.models import User

MIN_PASSWORD_LENGTH = 10


def create_user(session: Session, *, username: str, password: str, role: str) -> dict[str, Any]:
    """Store a new user; raises ``BadRequest``/``Conflict``. Flushes; the caller commits."""
    username = username.strip()
    if not username:
        raise BadRequest("a user needs a username")
    if role not in USER_ROLES:
        raise BadRequest(f"unknown role {role!r}; choose from {', '.join(USER_ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return describe(user)


def set_password(session: Session, *, username: str, password: str) -> dict[str, Any]:
    """A new password for ``username``; every session (token family) of theirs ends.
    Raises ``NotFound``/``BadRequest``. Flushes; the caller commits."""
    user = find_user(session, username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.updated_at = datetime.now(UTC)
    families.end_user_families(session, user.username, families.CREDENTIALS_CHANGED)
    session.flush()
    return describe(user)


def set_active(session: Session, *, username: str, active: bool) -> dict[str, Any]:
    """Enable or disable ``username`` (idempotent). Disabling ends every session of theirs at
    once: their access and refresh tokens are refused from the next request on, and enabling
    again does not bring them back. Raises ``NotFound``. Flushes; the caller commits."""
    user = find_user(session, username)
    if user.is_active != active:
        user.is_active = active
        user.updated_at = datetime.now(UTC)
    if not active:
        families.end_user_families(session, user.username, families.DISABLED)
    session.flush()
    return describe(user)


def list_users(session: Session) -> list[dict[str, Any]]:
    return [describe(user) for user in session.scalars(select(User).order_by(User.username))]


def find_user(session: Session, username: str) -> User:
    """The user named ``username``, active or not; raises ``NotFound``."""
    user = session.scalars(select(User).where(User.username == username.strip())).first()
    if user is None:
        raise NotFound(f"no user {username!r}; see `onec-sync users list`")
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, else None (in constant-ish time)."""
    user = active_user(session, username)
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None else None


def active_user(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(User.username == username, User.is_active.is_(True))
    ).first()


def describe(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "is_active": user.is_active,
        "created_at": iso(user.created_at),
    }
