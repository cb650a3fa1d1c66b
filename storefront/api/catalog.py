"""Catalog reads: groups, price types, warehouses, products. All cached (see responses.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint

from storefront import database
from storefront.auth.guard import require
from storefront.auth.roles import CATALOG_READ
from storefront.context import settings
from storefront.errors import BadRequest, NotFound
from storefront.queries import catalog
from storefront.queries.product_detail import product_detail
from storefront.queries.products import ProductFilters, list_products
from storefront.responses import cached_read
from storefront.schemas import ProductListQuery
from storefront.validation import query

blueprint = Blueprint("catalog", __name__)


@blueprint.get("/groups")
@require(CATALOG_READ)
@cached_read
def groups() -> dict[str, Any]:
    return {"items": catalog.group_tree(database.catalog_session())}


@blueprint.get("/price-types")
@require(CATALOG_READ)
@cached_read
def price_types() -> dict[str, Any]:
    default = settings().storefront.default_price_type
    return {"items": catalog.price_types(database.catalog_session(), default)}


@blueprint.get("/warehouses")
@require(CATALOG_READ)
@cached_read
def warehouses() -> dict[str, Any]:
    return {"items": catalog.warehouses(database.catalog_session())}


@blueprint.get("/products")
@require(CATALOG_READ)
@cached_read
def products() -> dict[str, Any]:
    params = query(ProductListQuery)
    filters = ProductFilters(
        group=params.group,
        price_type=price_type_id(params.price_type),
        price_min=Decimal(params.price_min) if params.price_min else None,
        price_max=Decimal(params.price_max) if params.price_max else None,
        in_stock=params.in_stock,
        warehouse=params.warehouse,
        properties=tuple(_split_property(p) for p in params.property),
        sort=params.sort,
        limit=params.limit,
        cursor=params.cursor,
    )
    return list_products(database.catalog_session(), filters, items_as_json=True)


@blueprint.get("/products/<product_id>")
@require(CATALOG_READ)
@cached_read
def product(product_id: str) -> dict[str, Any]:
    found = product_detail(database.catalog_session(), product_id)
    if found is None:
        raise NotFound(f"there is no product {product_id!r}")
    return found


def price_type_id(wanted: str | None) -> str | None:
    """The Ид of the price type named (by Ид or name), else of the default; 400 if unknown."""
    row = catalog.resolve_price_type(
        database.catalog_session(), wanted, settings().storefront.default_price_type
    )
    if row is None and wanted:
        raise BadRequest(
            f"there is no price type {wanted!r}",
            details=[{"field": "price_type", "message": "unknown price type"}],
        )
    return None if row is None else str(row.onec_id)


def _split_property(text: str) -> tuple[str, str]:
    prop, _, value = text.partition(":")
    return prop, value
