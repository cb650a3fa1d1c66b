"""JWTs for people (flask-jwt-extended): short-lived access tokens, rotating refresh tokens.

Every login is a family of tokens (``storefront.auth.families``): a refresh token refreshes once
and is replaced; a reused one ends the family; logout ends it. Ended families and revoked token
ids are checked in the database on every request that carries a token, so this holds whether or
not Redis is up. Tokens are HS256-signed (any other algorithm, ``none`` included, is refused) and
must carry ``exp``, ``jti`` and the family claim. Error replies never echo the JWT library's words.
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
from flask_jwt_extended.exceptions import (
    InvalidHeaderError,
    JWTExtendedException,
    NoAuthorizationError,
    RevokedTokenError,
    WrongTokenError,
)
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from config import StorefrontSettings
from storefront import database
from storefront.auth import families
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
    """Start a new login (a token family) for ``user``; commits it."""
    family_id = secrets.token_urlsafe(24)
    refresh_jti = _new_jti()
    session = database.writer()
    families.start_family(
        session,
        family_id=family_id,
        username=user.username,
        refresh_jti=refresh_jti,
        expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
    )
    session.commit()
    return _pair(user, family_id, refresh_jti, settings)


def refresh_access_token(settings: StorefrontSettings) -> dict[str, Any]:
    """New access and refresh tokens for this request's refresh token, which is used up.

    Raises ``Unauthorized``; a refresh token used before ends its whole family (committed).
    """
    claims = _verified_claims(refresh=True)
    family_id, next_jti = str(claims[families.FAMILY_CLAIM]), _new_jti()
    session = database.writer()
    user = active_user(session, str(claims["sub"]))
    if user is None:
        raise Unauthorized("the user of this token no longer exists or is disabled")
    rotated = families.rotate(
        session, family_id, presented_jti=str(claims["jti"]), next_jti=next_jti
    )
    session.commit()
    if not rotated:
        log.warning("refresh token of %s reused: its session is ended", user.username)
        raise Unauthorized(
            "this refresh token was already used; the session it belonged to is ended: log in again"
        )
    return _pair(user, family_id, next_jti, settings)


def _pair(
    user: User, family_id: str, refresh_jti: str, settings: StorefrontSettings
) -> dict[str, Any]:
    claims = {"role": user.role, families.FAMILY_CLAIM: family_id}
    return {
        "access_token": create_access_token(identity=user.username, additional_claims=claims),
        "refresh_token": create_refresh_token(
            identity=user.username, additional_claims={**claims, "jti": refresh_jti}
        ),
        "token_type": "Bearer",
        "expires_in": settings.access_token_minutes * 60,
    }


def _new_jti() -> str:
    return secrets.token_urlsafe(24)


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
    """Log out: end the family (the login) of this request's token, and of ``also`` (a refresh
    token) when given. Returns how many tokens were presented; commits. Raises ``Unauthorized``."""
    claims = [_verified_claims(refresh=None)]
    if also:
        try:
            claims.append(decode_token(also))
        except (jwt.PyJWTError, JWTExtendedException) as exc:
            raise Unauthorized("the refresh token to revoke is not valid") from exc
        _require_claims(claims[-1])
    session = database.writer()
    for claim in claims:
        _insert_revoked(session, str(claim["jti"]), int(claim["exp"]))
        families.end_family(session, str(claim[families.FAMILY_CLAIM]), families.LOGOUT)
    session.commit()
    return len(claims)


def _verified_claims(*, refresh: bool | None) -> dict[str, Any]:
    try:
        verify_jwt_in_request(refresh=bool(refresh), verify_type=refresh is not None)
    except (jwt.PyJWTError, JWTExtendedException) as exc:
        raise Unauthorized(_describe(exc)) from exc
    claims = get_jwt()
    _require_claims(claims)
    return claims


def _require_claims(claims: dict[str, Any]) -> None:
    missing = [name for name in ("exp", "jti", families.FAMILY_CLAIM) if not claims.get(name)]
    if missing:
        raise Unauthorized(
            f"the token lacks {', '.join(missing)}; tokens from before sessions rotated are "
            "refused: log in again"
        )


def _describe(exc: Exception) -> str:
    """What the caller may know: expired, revoked, the wrong kind, or not valid (no details
    from the JWT library, which name its internals)."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "the token has expired"
    if isinstance(exc, RevokedTokenError):
        return "the token has been revoked or its session ended: log in again"
    if isinstance(exc, WrongTokenError):
        return "this is the wrong kind of token here (an access token or a refresh token)"
    if isinstance(exc, NoAuthorizationError | InvalidHeaderError):
        return "send the token as Authorization: Bearer <token>"
    return "the token is not valid"


def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    jti, family_id = payload.get("jti"), payload.get(families.FAMILY_CLAIM)
    if not jti or not family_id:
        return True
    session = database.session()
    if not families.is_live(session, str(family_id)):
        return True
    found = session.scalars(select(RevokedToken.jti).where(RevokedToken.jti == str(jti))).first()
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
