"""API keys for machines (the shop's backend).

A key looks like ``osk_<prefix>_<secret>``. Only the prefix (to find the row) and a SHA-256 of
the whole key are stored; the key itself is shown once, when created. SHA-256 rather than argon2
is right here: the secret is 256 random bits, so there is nothing to brute-force, and checking a
key must cost microseconds on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storefront.auth.roles import KEY_ROLES, PERMISSIONS, Principal, permissions_for
from storefront.errors import BadRequest, NotFound
from storefront.formatting import iso
from syncd.store.models import ApiKey

KEY_MARK = "osk"
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is refreshed at most this often


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(presented: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    mark, _, rest = presented.strip().partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != KEY_MARK or len(prefix) != 12 or not secret:
        return None
    return prefix


def create_api_key(
    session: Session,
    *,
    name: str,
    role: str,
    scopes: Sequence[str] = (),
    created_by: str | None = None,
    price_type: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Store a new key and return (its description, the key). Flushes; the caller commits."""
    if role not in KEY_ROLES:
        raise BadRequest(f"unknown role {role!r}; choose from {', '.join(KEY_ROLES)}")
    unknown = sorted(set(scopes) - set(PERMISSIONS))
    if unknown:
        raise BadRequest(f"unknown scope(s) {unknown}; choose from {', '.join(PERMISSIONS)}")
    if not name.strip():
        raise BadRequest("an API key needs a name")
    prefix = secrets.token_hex(6)
    key = f"{KEY_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        prefix=prefix,
        key_hash=_hash(key),
        name=name.strip(),
        role=role,
        scopes=sorted(set(scopes)),
        created_by=created_by,
        price_type=(price_type or "").strip() or None,
    )
    session.add(row)
    session.flush()
    return describe(row), key


def list_api_keys(session: Session, *, include_revoked: bool = True) -> list[dict[str, Any]]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [describe(row) for row in session.scalars(query)]


def revoke_api_key(session: Session, prefix: str) -> dict[str, Any]:
    """Revoke the key with ``prefix`` (idempotent); raises ``NotFound``. The caller commits."""
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        raise NotFound(f"no API key with prefix {prefix!r}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.flush()
    return describe(row)


def verify_api_key(session: Session, presented: str) -> Principal | None:
    """The principal of a valid, unrevoked key, else None. May commit a last_used_at touch."""
    prefix = split_key(presented)
    if prefix is None:
        return None
    row = session.execute(
        select(
            ApiKey.id,
            ApiKey.key_hash,
            ApiKey.name,
            ApiKey.role,
            ApiKey.scopes,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
            ApiKey.price_type,
        ).where(ApiKey.prefix == prefix)
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(presented.strip())):
        return None
    _touch(session, row.id, row.last_used_at)
    return Principal(
        kind="api_key",
        name=row.name,
        role=row.role,
        permissions=permissions_for(row.role, row.scopes or ()),
        key_prefix=prefix,
        price_type=row.price_type,
    )


def _touch(session: Session, key_id: int, last_used_at: datetime | None) -> None:
    now = datetime.now(UTC)
    if last_used_at is not None:
        if last_used_at.tzinfo is None:  # SQLite gives naive UTC
            last_used_at = last_used_at.replace(tzinfo=UTC)
        if now - last_used_at < _TOUCH_EVERY:
            return
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    session.commit()


def describe(row: ApiKey) -> dict[str, Any]:
    return {
        "prefix": row.prefix,
        "name": row.name,
        "role": row.role,
        "scopes": list(row.scopes or []),
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
        "price_type": row.price_type,
    }
