"""People log in, refresh their access token, log out (revoking tokens); anyone asks who they are."""

from __future__ import annotations

from flask import Blueprint, Response, request

from storefront import database
from storefront.auth import tokens
from storefront.auth.guard import authenticate, require
from storefront.auth.users import authenticate as check_password
from storefront.context import settings
from storefront.errors import Unauthorized
from storefront.responses import json_response
from storefront.schemas import LoginIn, LogoutIn
from storefront.validation import body

blueprint = Blueprint("auth", __name__)
NO_STORE = {"Cache-Control": "no-store"}


@blueprint.post("/auth/login")
def login() -> Response:
    credentials = body(LoginIn)
    user = check_password(database.session(), credentials.username, credentials.password)
    if user is None:
        raise Unauthorized("wrong username or password")
    return json_response(tokens.issue_tokens(user, settings().storefront), headers=NO_STORE)


@blueprint.post("/auth/refresh")
def refresh() -> Response:
    return json_response(tokens.refresh_access_token(settings().storefront), headers=NO_STORE)


@blueprint.post("/auth/logout")
def logout() -> Response:
    has_body = bool(request.content_length) or request.is_json
    extra = body(LogoutIn).refresh_token if has_body else None
    return json_response({"revoked": tokens.revoke_current_token(extra)}, headers=NO_STORE)


@blueprint.get("/auth/me")
@require(None)
def me() -> Response:
    principal = authenticate()
    payload = {
        "kind": principal.kind,
        "name": principal.name,
        "role": principal.role,
        "permissions": sorted(principal.permissions),
    }
    return json_response(payload, headers=NO_STORE)
