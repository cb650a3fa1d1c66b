"""JWTs for people (flask-jwt-extended): short-lived access tokens, refresh tokens, revocation.

Revocation is checked against the ``revoked_tokens`` table on every request that carries a
token, so it holds whether or not Redis is up. Tokens are HS256-signed; any other algorithm,
``none`` included, is refused.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import Flask
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    verify_jwt_in_request,
)
from flask_jwt_extended.exceptions import JWTExtendedException
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from config import StorefrontSettings
from storefront import database
from storefront.auth.roles import Principal, permissions_for
from storefront.auth.users import active_user
from storefront.errors import ConfigurationError, Unauthorized
from syncd.store.models import RevokedToken, User

log = logging.getLogger(__name__)
ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32


def init_app(app: Flask, settings: StorefrontSettings, *, allow_ephemeral_secret: bool) -> None:
    """Configure flask-jwt-extended; without a JWT secret only dev and tests may start."""
    secret = settings.jwt_secret.reveal()
    if not secret:
        if not allow_ephemeral_secret:
            raise ConfigurationError(
                "storefront.jwt_secret is not set: set ONEC_SYNC_STOREFRONT_JWT_SECRET "
                f"(at least {MIN_SECRET_LENGTH} random characters)"
            )
        log.warning("no storefront.jwt_secret: tokens are signed with a throw-away key")
        secret = secrets.token_urlsafe(48)
    elif len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"storefront.jwt_secret must have at least {MIN_SECRET_LENGTH} characters"
        )
    app.config.update(
        JWT_SECRET_KEY=secret,
        JWT_ALGORITHM=ALGORITHM,
        JWT_DECODE_ALGORITHMS=[ALGORITHM],
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.access_token_minutes),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=settings.refresh_token_days),
        JWT_ERROR_MESSAGE_KEY="message",
    )
    manager = JWTManager(app)
    manager.token_in_blocklist_loader(_is_revoked)


def issue_tokens(user: User, settings: StorefrontSettings) -> dict[str, Any]:
    claims = {"role": user.role}
    return {
        "access_token": create_access_token(identity=user.username, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=user.username, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": settings.access_token_minutes * 60,
    }


def refresh_access_token(settings: StorefrontSettings) -> dict[str, Any]:
    """A new access token for the refresh token in this request; raises ``Unauthorized``."""
    claims = _verified_claims(refresh=True)
    user = active_user(database.session(), str(claims["sub"]))
    if user is None:
        raise Unauthorized("the user of this token no longer exists or is disabled")
    token = create_access_token(identity=user.username, additional_claims={"role": user.role})
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_minutes * 60,
    }


def principal_from_token() -> Principal:
    """The person behind this request's access token; raises ``Unauthorized``."""
    claims = _verified_claims(refresh=False)
    user = active_user(database.session(), str(claims["sub"]))
    if user is None:
        raise Unauthorized("the user of this token no longer exists or is disabled")
    return Principal(
        kind="user", name=user.username, role=user.role, permissions=permissions_for(user.role)
    )


def revoke_current_token(also: str | None = None) -> int:
    """Revoke this request's token (access or refresh) and optionally ``also`` (a refresh token).

    Returns how many tokens were revoked; commits. Raises ``Unauthorized`` for a bad token.
    """
    claims = [_verified_claims(refresh=None)]
    if also:
        try:
            claims.append(decode_token(also))
        except (jwt.PyJWTError, JWTExtendedException) as exc:
            raise Unauthorized(f"the refresh token to revoke is not valid: {exc}") from exc
    session = database.writer()
    for claim in claims:
        _insert_revoked(session, str(claim["jti"]), int(claim["exp"]))
    session.commit()
    return len(claims)


def _verified_claims(*, refresh: bool | None) -> dict[str, Any]:
    try:
        verify_jwt_in_request(refresh=bool(refresh), verify_type=refresh is not None)
    except (jwt.PyJWTError, JWTExtendedException) as exc:
        raise Unauthorized(_describe(exc)) from exc
    return get_jwt()


def _describe(exc: Exception) -> str:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "the token has expired"
    return f"the token is not valid: {exc}"


def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    jti = payload.get("jti")
    if not jti:
        return True
    found = (
        database.session()
        .scalars(select(RevokedToken.jti).where(RevokedToken.jti == str(jti)))
        .first()
    )
    return found is not None


def _insert_revoked(session: Session, jti: str, exp: int) -> None:
    values = {
        "jti": jti,
        "expires_at": datetime.fromtimestamp(exp, UTC),
        "revoked_at": datetime.now(UTC),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(RevokedToken).values(values).on_conflict_do_nothing())
