"""Full-text product search (cached like every catalog read)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from storefront import database
from storefront.api.catalog import price_type_id
from storefront.auth.guard import require
from storefront.auth.roles import CATALOG_READ
from storefront.queries.search import search_products
from storefront.responses import cached_read
from storefront.schemas import SearchQuery
from storefront.validation import query

blueprint = Blueprint("search", __name__)


@blueprint.get("/search")
@require(CATALOG_READ)
@cached_read
def search() -> dict[str, Any]:
    params = query(SearchQuery)
    return search_products(
        database.catalog_session(),
        params.q,
        limit=params.limit,
        cursor=params.cursor,
        group=params.group,
        price_type=price_type_id(params.price_type),
        items_as_json=True,
    )
