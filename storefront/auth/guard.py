"""``@require(permission)``: authenticate the request and check the caller may do this.

Machines send ``X-API-Key: osk_...``; people send ``Authorization: Bearer <access token>``.
No credentials, or bad ones, give 401; good credentials without the permission give 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import current_app, g, request

from storefront import database
from storefront.auth import tokens
from storefront.auth.apikeys import verify_api_key
from storefront.auth.key_cache import KeyCache
from storefront.auth.roles import Principal
from storefront.errors import Forbidden, Unauthorized

API_KEY_HEADER = "X-API-Key"
KEY_CACHE_EXTENSION = "onec_sync_key_cache"
P = ParamSpec("P")
R = TypeVar("R")


def authenticate() -> Principal:
    """The caller of this request (memoised on ``g``); raises ``Unauthorized``."""
    principal: Principal | None = g.get("principal")
    if principal is not None:
        return principal
    presented_key = request.headers.get(API_KEY_HEADER)
    if presented_key is not None:
        principal = _verified_key(presented_key)
    elif request.headers.get("Authorization"):
        principal = tokens.principal_from_token()
    else:
        raise Unauthorized(
            f"authentication required: send {API_KEY_HEADER} or Authorization: Bearer <token>"
        )
    g.principal = principal
    return principal


def _verified_key(presented: str) -> Principal:
    cache = key_cache()
    principal, generation = cache.get(presented)
    if principal is None:
        principal = verify_api_key(database.session(), presented)
        if principal is None:
            raise Unauthorized("the API key is not valid or has been revoked")
        cache.put(presented, generation, principal)
    return principal


def key_cache() -> KeyCache:
    cache: KeyCache = current_app.extensions[KEY_CACHE_EXTENSION]
    return cache


def require(permission: str | None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a view: the caller must be authenticated and (unless None) hold ``permission``."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = authenticate()
            if permission is not None and not principal.may(permission):
                raise Forbidden(
                    f"role {principal.role!r} (with these scopes) may not use this: "
                    f"it needs {permission!r}"
                )
            return view(*args, **kwargs)

        guarded.required_permission = permission  # type: ignore[attr-defined]
        return guarded

    return decorate
