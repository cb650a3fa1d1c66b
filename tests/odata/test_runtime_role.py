"""Pulling from and pushing to 1C over OData as the least-privilege runtime role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

from cli import main
from tests.conftest import PgRoles
from tests.odata import data
from tests.odata.fake1c import Fake1C
from tests.odata.test_cli import env

pytestmark = pytest.mark.postgres


def test_sync_odata_and_orders_push_run_as_the_runtime_role(
    fake: Fake1C, fresh_pg_url: str, make_pg_roles: Callable[[str], PgRoles]
) -> None:
    data.fill(fake)
    url = make_pg_roles(fresh_pg_url).runtime_url
    runner = CliRunner()
    pulled = runner.invoke(main, ["sync", "odata"], env=env(url))
    assert pulled.exit_code == 0, pulled.output
    assert "inserted 40" in pulled.output  # 20 products, each with the offer it sells as
    assert "(read 20)" in pulled.output
    pushed = runner.invoke(main, ["orders", "push"], env=env(url))
    assert pushed.exit_code == 0, pushed.output
