"""The API runs as the least-privilege runtime role (``onec-sync db roles``) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.conftest import PgRoles
from tests.storefront.conftest import Api, make_settings, seed
from tests.storefront.test_orders import ORDER, submit

pytestmark = pytest.mark.postgres


def test_the_api_serves_the_catalog_and_takes_orders_as_the_runtime_role(
    fresh_pg_url: str,
    make_pg_roles: Callable[[str], PgRoles],
    app_factory: Callable[..., Flask],
) -> None:
    keys = seed(fresh_pg_url)
    roles = make_pg_roles(fresh_pg_url)
    api = Api(app_factory(make_settings(roles.runtime_url)), keys, roles.runtime_url)
    listed = api.get("/api/v1/products")
    assert listed.status_code == 200, listed.get_json()
    assert listed.get_json()["items"]
    taken = submit(api, ORDER)
    assert taken.status_code == 201, taken.get_json()
    number = taken.get_json()["number"]
    again = api.get(f"/api/v1/orders/{number}", role="operator")
    assert again.status_code == 200, again.get_json()
