"""The OpenAPI 3.1 document, built from the operations table and the pydantic models.

``OPERATIONS`` lists every ``/api/v1`` endpoint once; a test checks it against the app's URL map,
and schemathesis checks every response against the document.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from storefront import schemas as s
from storefront.auth.roles import ADMIN, CATALOG_READ, ORDERS_READ, ORDERS_WRITE

REF = "#/components/schemas/{model}"
PUBLIC = "public"  # no credentials needed
ANY_PRINCIPAL = "authenticated"  # any valid credentials


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    method: str
    path: str  # OpenAPI template, relative to /api/v1
    operation_id: str
    summary: str
    tag: str
    access: str  # a permission, PUBLIC or ANY_PRINCIPAL
    response: type[BaseModel]
    status: int = 200
    query: type[BaseModel] | None = None
    path_params: tuple[tuple[str, str], ...] = ()
    body: type[BaseModel] | None = None
    headers: tuple[tuple[str, str, dict[str, Any]], ...] = ()  # (name, description, schema)
    cached: bool = False
    extra_responses: dict[int, str] = field(default_factory=dict)
    security: str = "any"  # "any" (API key or bearer), "bearer"
    binary: bool = False  # the 200 answer is bytes (an image), not JSON


ONEC_ID_PARAM = {"type": "string", "minLength": 1, "maxLength": 255}
IDEMPOTENCY = (
    "Idempotency-Key",
    "a unique key per order (e.g. a UUID); the same key and body return the stored order",
    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
)

CHANGE_FEED_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="get",
        path="/changes",
        operation_id="listChanges",
        summary="The change feed: every committed change in order, resumable, long-poll",
        tag="changes",
        access=CATALOG_READ,
        response=s.ChangePage,
        query=s.ChangesQuery,
        extra_responses={
            410: "retention removed events after `after`: read the catalog again, then follow "
            "the feed from `head`"
        },
    ),
    Operation(
        method="get",
        path="/media/{sha256}",
        operation_id="getMedia",
        summary="An image's bytes by their SHA-256 (immutable; ETag, Range)",
        tag="catalog",
        access=CATALOG_READ,
        response=s.Ping,  # unused: the answer is bytes
        path_params=(("sha256", "the image's sha256 as in a product's images"),),
        binary=True,
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="get",
        path="/ping",
        operation_id="ping",
        summary="Liveness",
        tag="meta",
        access=PUBLIC,
        response=s.Ping,
    ),
    Operation(
        method="get",
        path="/groups",
        operation_id="listGroups",
        summary="The group tree",
        tag="catalog",
        access=CATALOG_READ,
        response=s.GroupTree,
        cached=True,
    ),
    Operation(
        method="get",
        path="/price-types",
        operation_id="listPriceTypes",
        summary="Price types",
        tag="catalog",
        access=CATALOG_READ,
        response=s.PriceTypeList,
        cached=True,
    ),
    Operation(
        method="get",
        path="/warehouses",
        operation_id="listWarehouses",
        summary="Warehouses",
        tag="catalog",
        access=CATALOG_READ,
        response=s.WarehouseList,
        cached=True,
    ),
    Operation(
        method="get",
        path="/products",
        operation_id="listProducts",
        summary="Products: filters, sorting, cursor pagination",
        tag="catalog",
        access=CATALOG_READ,
        response=s.ProductPage,
        query=s.ProductListQuery,
        cached=True,
    ),
    Operation(
        method="get",
        path="/products/{product_id}",
        operation_id="getProduct",
        summary="A product with variants, properties, images, prices and stock",
        tag="catalog",
        access=CATALOG_READ,
        response=s.ProductDetail,
        path_params=(("product_id", "the product's Ид"),),
        cached=True,
    ),
    Operation(
        method="get",
        path="/search",
        operation_id="searchProducts",
        summary="Full-text search, best matches first",
        tag="catalog",
        access=CATALOG_READ,
        response=s.SearchPage,
        query=s.SearchQuery,
        cached=True,
    ),
    Operation(
        method="post",
        path="/orders",
        operation_id="createOrder",
        summary="Submit an order (idempotent by Idempotency-Key)",
        tag="orders",
        access=ORDERS_WRITE,
        response=s.OrderOut,
        status=201,
        body=s.OrderIn,
        headers=(IDEMPOTENCY,),
        extra_responses={
            200: "replayed: the order an earlier request with this key made",
            409: "the order number is taken, or a line's price is not the current one "
            "(details name each line and its current price)",
            422: "unknown, deleted or unpriced products/variants, a wrong total, another "
            "currency, more than is in stock (stock_policy reject), a number of the generated "
            "form, amounts past what an order may hold, or the key was used for a different order",
        },
    ),
    Operation(
        method="get",
        path="/orders/{number}",
        operation_id="getOrder",
        summary="An order and its status",
        tag="orders",
        access=ORDERS_READ,
        response=s.OrderOut,
        path_params=(("number", "the shop's order number"),),
    ),
    Operation(
        method="get",
        path="/orders/{number}/history",
        operation_id="getOrderHistory",
        summary="An order's status history",
        tag="orders",
        access=ORDERS_READ,
        response=s.StatusHistory,
        path_params=(("number", "the shop's order number"),),
    ),
    Operation(
        method="get",
        path="/customers/{customer_ref}/orders",
        operation_id="listCustomerOrders",
        summary="A customer's orders, newest first",
        tag="orders",
        access=ORDERS_READ,
        response=s.OrderPage,
        query=s.CustomerOrdersQuery,
        path_params=(("customer_ref", "the shop's customer id"),),
    ),
    Operation(
        method="post",
        path="/auth/login",
        operation_id="login",
        summary="Log in (people): access and refresh tokens",
        tag="auth",
        access=PUBLIC,
        response=s.TokenPair,
        body=s.LoginIn,
    ),
    Operation(
        method="post",
        path="/auth/refresh",
        operation_id="refreshToken",
        summary="New access and refresh tokens; the refresh token sent is used up",
        tag="auth",
        access=ANY_PRINCIPAL,
        response=s.TokenPair,
        security="bearer",
    ),
    Operation(
        method="post",
        path="/auth/logout",
        operation_id="logout",
        summary="End the session of this token (and of a refresh token, when given)",
        tag="auth",
        access=ANY_PRINCIPAL,
        response=s.Revoked,
        body=s.LogoutIn,
        security="bearer",
    ),
    Operation(
        method="get",
        path="/auth/me",
        operation_id="whoAmI",
        summary="Who the credentials belong to and what they may do",
        tag="auth",
        access=ANY_PRINCIPAL,
        response=s.Me,
    ),
    Operation(
        method="get",
        path="/admin/api-keys",
        operation_id="listApiKeys",
        summary="API keys (admins)",
        tag="admin",
        access=ADMIN,
        response=s.ApiKeyList,
    ),
    Operation(
        method="post",
        path="/admin/api-keys",
        operation_id="createApiKey",
        summary="Create an API key; the key is shown only in this response",
        tag="admin",
        access=ADMIN,
        response=s.ApiKeyCreated,
        status=201,
        body=s.ApiKeyIn,
    ),
    Operation(
        method="delete",
        path="/admin/api-keys/{prefix}",
        operation_id="revokeApiKey",
        summary="Revoke an API key",
        tag="admin",
        access=ADMIN,
        response=s.ApiKeyOut,
        path_params=(("prefix", "the key's prefix (the part after osk_)"),),
    ),
    *CHANGE_FEED_OPERATIONS,
)

_ERRORS = {
    400: ("BadRequest", "invalid parameters or body; details name each field"),
    401: ("Unauthorized", "no credentials, or unknown, revoked, expired or malformed ones"),
    403: ("Forbidden", "the credentials' role or scopes do not allow this"),
    404: ("NotFound", "no such resource"),
    413: ("TooLarge", "the request body is larger than storefront.max_request_bytes"),
    429: ("TooManyRequests", "rate limit exceeded; see Retry-After"),
}


@cache
def document(server_url: str = "/api/v1") -> dict[str, Any]:
    """The whole document (cached: it depends only on code)."""
    models = _models()
    _, top = models_json_schema(
        [
            (model, "validation" if issubclass(model, s.Input) else "serialization")
            for model in models
        ],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "onec-sync storefront API",
            "version": "1.0.0",
            "description": (
                "The synced 1C catalog and order intake for the shop. Machines authenticate "
                "with `X-API-Key`, people with `Authorization: Bearer <access token>` from "
                '`POST /auth/login`. Every error is `{"error": {status, code, message, '
                "details}}`. Money and quantities are decimal strings."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "responses": {
                name: _json_response(description, "Error") for name, description in _ERRORS.values()
            },
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [s.Error]
    for op in OPERATIONS:
        found.append(op.response)
        if op.body is not None:
            found.append(op.body)
    return list(dict.fromkeys(found))


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": _responses(op),
    }
    if op.access == PUBLIC:
        spec["security"] = []
    elif op.security == "bearer":
        spec["security"] = [{"bearer": []}]
    else:
        spec["security"] = [{"apiKey": []}, {"bearer": []}]
    if op.access not in (PUBLIC, ANY_PRINCIPAL):
        spec["description"] = f"Needs the `{op.access}` permission."
    if op.body is not None:
        spec["requestBody"] = {
            "required": op.body is not s.LogoutIn,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
            },
        }
    return spec


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": dict(ONEC_ID_PARAM),
        }
        for name, description in op.path_params
    ]
    params.extend(
        {
            "name": name,
            "in": "header",
            "required": True,
            "description": description,
            "schema": schema,
        }
        for name, description, schema in op.headers
    )
    if op.query is not None:
        params.extend(_query_parameters(op.query))
    return params


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = _without_null(copy.deepcopy(prop))
        prop.pop("title", None)
        description = prop.pop("description", None)
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            param["description"] = description
        if prop.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    return params


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    branches = prop.pop("anyOf", None)
    if branches is None:
        return prop
    kept = [b for b in branches if b.get("type") != "null"]
    if len(kept) == 1:
        prop.update(kept[0])
    else:
        prop["anyOf"] = kept
    if prop.get("default", "") is None:
        prop.pop("default")
    return prop


def _responses(op: Operation) -> dict[str, Any]:
    headers = {}
    if op.cached:
        headers = {
            "ETag": {"schema": {"type": "string"}, "description": "weak validator"},
            "Cache-Control": {"schema": {"type": "string"}},
        }
    ok = (
        _binary_response(op.summary)
        if op.binary
        else _json_response(op.summary, op.response.__name__)
    )
    if headers:
        ok["headers"] = headers
    responses: dict[str, Any] = {str(op.status): ok}
    for status, description in op.extra_responses.items():
        model = "Error" if status >= 400 else op.response.__name__
        responses[str(status)] = _json_response(description, model)
    if op.cached or op.binary:
        responses["304"] = {"description": "not modified (If-None-Match matched the ETag)"}
    if op.binary:
        responses["206"] = {"description": "the byte range asked for (Range)"}
        responses["416"] = {"description": "the Range lies outside the bytes"}
    wanted = {429}
    if op.query or op.body or op.path_params or op.headers:
        wanted.add(400)
    if op.access != PUBLIC or op.operation_id == "login":
        wanted.add(401)
    if op.access not in (PUBLIC, ANY_PRINCIPAL):
        wanted.add(403)
    if op.path_params:
        wanted.add(404)
    if op.body is not None:
        wanted.add(413)
    for status in sorted(wanted):
        responses.setdefault(str(status), {"$ref": f"#/components/responses/{_ERRORS[status][0]}"})
    return responses


def _json_response(description: str, model: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
    }


def _binary_response(description: str) -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "description": description + ". `Cache-Control: public, max-age=31536000, immutable`",
        "headers": {"ETag": {"schema": {"type": "string"}, "description": "the sha256"}},
        "content": {"image/*": binary, "application/octet-stream": binary},
    }
