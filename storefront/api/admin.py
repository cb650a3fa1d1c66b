"""API key management over HTTP, for admins (the CLI does the same without the API)."""

from __future__ import annotations

from flask import Blueprint, Response

from storefront import database
from storefront.auth import apikeys
from storefront.auth.guard import authenticate, require
from storefront.auth.roles import ADMIN
from storefront.context import settings
from storefront.responses import json_response
from storefront.schemas import ApiKeyIn
from storefront.validation import body
from syncd.store.events import publish_credentials_changed

blueprint = Blueprint("admin", __name__)
NO_STORE = {"Cache-Control": "no-store"}


@blueprint.get("/admin/api-keys")
@require(ADMIN)
def list_keys() -> Response:
    return json_response({"items": apikeys.list_api_keys(database.session())}, headers=NO_STORE)


@blueprint.post("/admin/api-keys")
@require(ADMIN)
def create_key() -> Response:
    wanted = body(ApiKeyIn)
    session = database.writer()
    described, key = apikeys.create_api_key(
        session,
        name=wanted.name,
        role=wanted.role,
        scopes=list(wanted.scopes),
        created_by=authenticate().identity,
        price_type=wanted.price_type,
    )
    session.commit()
    return json_response({**described, "key": key}, 201, NO_STORE)


@blueprint.delete("/admin/api-keys/<prefix>")
@require(ADMIN)
def revoke_key(prefix: str) -> Response:
    session = database.writer()
    described = apikeys.revoke_api_key(session, prefix)
    session.commit()
    publish_credentials_changed(settings().redis.url)
    return json_response(described, headers=NO_STORE)
