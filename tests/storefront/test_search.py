"""Full-text search: Russian stemming and ranking on PostgreSQL, a plain fallback on SQLite."""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import Engine, text

from storefront.queries.search import PRODUCT_SEARCH_DOCUMENT
from tests.conftest import REPO_ROOT
from tests.storefront.conftest import Api


def hits(api: Api, query: str) -> list[str]:
    response = api.get("/api/v1/search", query_string={"q": query})
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_words_in_the_name_or_description_find_active_products(api: Api) -> None:
    assert hits(api, "дрель") == ["p-drill"]  # not the deleted "Дрель старая"
    assert sorted(hits(api, "бетон")) == ["p-bit", "p-drill"]
    assert hits(api, "садовый шланг") == ["p-hose"]
    assert hits(api, "ничего такого") == []


def test_search_items_carry_a_rank_and_the_listing_fields(api: Api) -> None:
    [item] = api.get("/api/v1/search?q=молоток").get_json()["items"]
    assert item["id"] == "p-hammer"
    assert item["price"]["value"] == "450.00"
    assert item["rank"] > 0


def test_search_can_be_narrowed_to_a_group(api: Api) -> None:
    assert hits(api, "бетон") != []
    response = api.get("/api/v1/search", query_string={"q": "бетон", "group": "g-bits"})
    assert [i["id"] for i in response.get_json()["items"]] == ["p-bit"]


def test_search_pages_through_results(api: Api) -> None:
    first = api.get("/api/v1/search", query_string={"q": "бетон", "limit": 1}).get_json()
    assert len(first["items"]) == 1
    second = api.get(
        "/api/v1/search", query_string={"q": "бетон", "limit": 1, "cursor": first["next_cursor"]}
    ).get_json()
    assert len(second["items"]) == 1
    assert second["items"][0]["id"] != first["items"][0]["id"]
    assert second["next_cursor"] is None


@pytest.mark.postgres
def test_postgres_matches_word_forms_and_ranks_name_matches_higher(pg_api: Api) -> None:
    assert hits(pg_api, "дрели") == ["p-drill"]  # stemmed: дрели -> дрел
    assert hits(pg_api, "свёрла OR шланги") != []
    assert hits(pg_api, '"ударная дрель"') == ["p-drill"]
    assert hits(pg_api, "бетон -дрель") == ["p-bit"]  # websearch syntax: exclusion


@pytest.mark.postgres
def test_the_search_expression_is_the_indexed_one_and_the_index_is_used(
    pg_engine: Engine,
) -> None:
    path = REPO_ROOT / "syncd" / "store" / "migrations" / "versions" / "0001_initial_schema.py"
    spec = importlib.util.spec_from_file_location("migration_0001", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.PRODUCT_SEARCH_DOCUMENT == PRODUCT_SEARCH_DOCUMENT
    with pg_engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            connection.execute(
                text(
                    f"EXPLAIN SELECT id FROM products WHERE {PRODUCT_SEARCH_DOCUMENT} "
                    "@@ websearch_to_tsquery('russian', 'дрель') AND NOT is_deleted"
                )
            ).scalars()
        )
    assert "ix_products_fts" in plan


@pytest.mark.postgres
def test_a_very_broad_query_ranks_only_the_first_matches(
    pg_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storefront.queries import search

    assert len(hits(pg_api, "бетон")) == 2
    monkeypatch.setattr(search, "MAX_RANKED_MATCHES", 1)
    assert len(hits(pg_api, "бетон")) == 1
