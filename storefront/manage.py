"""What the CLI's ``users`` and ``apikeys`` commands do: one committed transaction each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from config import DatabaseSettings
from storefront.auth import apikeys, users
from syncd.store.engine import make_engine
from syncd.store.events import publish_credentials_changed

T = TypeVar("T")


def _in_transaction(settings: DatabaseSettings, work: Callable[[Session], T]) -> T:
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            result = work(session)
            session.commit()
            return result
    finally:
        engine.dispose()


def create_user(
    settings: DatabaseSettings, *, username: str, password: str, role: str
) -> dict[str, Any]:
    """Raises ``BadRequest``/``Conflict`` (``StorefrontError``) for a bad or taken username."""
    return _in_transaction(
        settings,
        lambda s: users.create_user(s, username=username, password=password, role=role),
    )


def set_password(settings: DatabaseSettings, *, username: str, password: str) -> dict[str, Any]:
    """Raises ``NotFound``/``BadRequest``; the user's sessions end."""
    return _in_transaction(
        settings, lambda s: users.set_password(s, username=username, password=password)
    )


def set_active(settings: DatabaseSettings, *, username: str, active: bool) -> dict[str, Any]:
    """Raises ``NotFound``; disabling ends the user's sessions."""
    return _in_transaction(
        settings, lambda s: users.set_active(s, username=username, active=active)
    )


def list_users(settings: DatabaseSettings) -> list[dict[str, Any]]:
    return _in_transaction(settings, users.list_users)


def create_api_key(
    settings: DatabaseSettings,
    *,
    name: str,
    role: str,
    scopes: Sequence[str] = (),
    created_by: str | None = None,
    price_type: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The key's description and the key itself (shown once; only its hash is stored)."""
    return _in_transaction(
        settings,
        lambda s: apikeys.create_api_key(
            s, name=name, role=role, scopes=scopes, created_by=created_by, price_type=price_type
        ),
    )


def list_api_keys(settings: DatabaseSettings, *, include_revoked: bool) -> list[dict[str, Any]]:
    return _in_transaction(
        settings, lambda s: apikeys.list_api_keys(s, include_revoked=include_revoked)
    )


def revoke_api_key(settings: DatabaseSettings, prefix: str, *, redis_url: str) -> dict[str, Any]:
    """Raises ``NotFound`` for an unknown prefix; revoking twice is fine. Tells running API
    workers (through Redis) to forget the key at once."""
    described = _in_transaction(settings, lambda s: apikeys.revoke_api_key(s, prefix))
    publish_credentials_changed(redis_url)
    return described
