"""`onec-sync odata check`, `sync odata`, `orders push` against a (fake) 1C."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import main
from tests.odata import data
from tests.odata.fake1c import BASE, Fake1C, odata_error

pytestmark = pytest.mark.postgres


def env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": database_url,
        "ONEC_SYNC_ODATA_URL": BASE + "/",
        "ONEC_SYNC_ODATA_USERNAME": "Обмен",
        "ONEC_SYNC_ODATA_PASSWORD": "secret-pw",
        "ONEC_SYNC_ODATA_BACKOFF_MAX_SECONDS": "0",
        **extra,
    }


def test_odata_check_reports_what_the_base_publishes(fake: Fake1C, fresh_pg_url: str) -> None:
    data.fill(fake)
    result = CliRunner().invoke(main, ["odata", "check"], env=env(fresh_pg_url))
    assert result.exit_code == 0, result.output
    assert "products" in result.output
    assert "Catalog_Номенклатура" in result.output
    assert "OData OK" in result.output
    assert "secret-pw" not in result.output


def test_odata_check_says_what_it_read_from_metadata_and_what_the_user_must_set(
    fake: Fake1C, fresh_pg_url: str
) -> None:
    data.fill(fake)
    independent = data.PRICES.removesuffix("_RecordType")  # published as an independent register
    fake.virtual[f"{independent}/SliceLast"] = fake.virtual.pop(f"{data.PRICES}/SliceLast")
    result = CliRunner().invoke(main, ["odata", "check"], env=env(fresh_pg_url))
    assert result.exit_code == 0, result.output
    derived = result.output.split("derived from $metadata:")[1].split("set by you")[0]
    assert f"prices: read from {independent} (the form this base publishes)" in derived
    assert "products.characteristics_use: read from ИспользованиеХарактеристик" in derived
    assert "prices.currency: off (Валюта_Key is not published)" in derived
    assert "price_types.currency: read from ВалютаЦены_Key" in derived
    to_set = result.output.split("set by you (1C cannot tell):")[1]
    assert "odata.price_types: every price type" in to_set
    assert "odata.order_constants: none" in to_set
    pulled = CliRunner().invoke(
        main, ["sync", "odata", "--stream", "prices"], env=env(fresh_pg_url)
    )
    assert pulled.exit_code == 0, pulled.output
    assert fake.sent("GET", f"{independent}/SliceLast(")


def test_odata_check_names_a_missing_entity_and_a_missing_field(
    fake: Fake1C, fresh_pg_url: str
) -> None:
    data.fill(fake)
    del fake.entities[data.WAREHOUSES]
    extra = {"ONEC_SYNC_ODATA_PRICE_TYPES_ENTITY": data.PRICE_TYPES}
    config_env = env(fresh_pg_url, **extra)
    result = CliRunner().invoke(main, ["odata", "check"], env=config_env)
    assert result.exit_code == 1
    assert "Catalog_Склады" in result.output
    assert "MISSING" in result.output


def test_sync_odata_then_orders_push(fake: Fake1C, fresh_pg_url: str) -> None:
    data.fill(fake)
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "odata"], env=env(fresh_pg_url))
    assert result.exit_code == 0, result.output
    assert "products" in result.output
    assert "inserted 40" in result.output  # 20 products, each with its own offer
    again = runner.invoke(main, ["sync", "odata", "--stream", "products"], env=env(fresh_pg_url))
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output
    assert "incremental" in again.output

    pushed = runner.invoke(main, ["orders", "push"], env=env(fresh_pg_url))
    assert pushed.exit_code == 0, pushed.output
    assert "created 0" in pushed.output


def test_sync_odata_without_a_url_says_odata_is_off(fresh_pg_url: str) -> None:
    result = CliRunner().invoke(
        main,
        ["sync", "odata"],
        env={"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": fresh_pg_url},
    )
    assert result.exit_code == 78
    assert "OData is off" in result.output


def test_an_unknown_stream_is_a_usage_error(fresh_pg_url: str) -> None:
    result = CliRunner().invoke(main, ["sync", "odata", "--stream", "nope"], env=env(fresh_pg_url))
    assert result.exit_code == 2
    assert "nope" in result.output


def test_odata_check_probes_each_entity_when_metadata_fails(
    fake: Fake1C, fresh_pg_url: str
) -> None:
    data.fill(fake)
    internal = "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале."
    fake.fail(odata_error(500, "-1", internal), when=lambda r: r.url.path.endswith("$metadata"))
    result = CliRunner().invoke(main, ["odata", "check"], env=env(fresh_pg_url))
    assert result.exit_code == 0, result.output
    assert "$metadata unreadable" in result.output
    assert "внутренняя ошибка OData" in result.output
    assert len(fake.sent("GET", data.PRODUCTS)) == 2  # groups and products share the set


def test_the_changes_stream_without_an_exchange_plan_is_a_one_line_usage_error(
    fresh_pg_url: str,
) -> None:
    result = CliRunner().invoke(
        main, ["sync", "odata", "--stream", "changes"], env=env(fresh_pg_url)
    )
    assert result.exit_code == 2
    assert "set odata.exchange_plan and odata.exchange_node" in result.output
    assert "Traceback" not in result.output
