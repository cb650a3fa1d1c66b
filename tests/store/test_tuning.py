"""``onec-sync db check``: the PostgreSQL server measured, one line per setting to change."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cli import main
from config import DatabaseSettings
from syncd.store.engine import make_engine
from syncd.store.tuning import GB, MB, ServerFacts, advise, measure

GOOD = ServerFacts(
    shared_buffers=4 * GB,
    work_mem=64 * MB,
    maintenance_work_mem=1 * GB,
    max_wal_size=8 * GB,
    checkpoint_timeout=900.0,
    synchronous_commit="on",
    effective_cache_size=12 * GB,
    database_size=3 * GB,
    catalog_index_size=2 * GB,
    role="onec_sync",
)


def _check(url: str, *args: str) -> tuple[int, str]:
    env = {"ONEC_SYNC_DATABASE_URL": url, "ONEC_SYNC_CONFIG": ""}
    result = CliRunner().invoke(main, ["db", "check", *args], env=env)
    return result.exit_code, result.output


def test_a_server_set_up_for_a_large_import_has_nothing_to_change() -> None:
    assert advise(GOOD) == []


@pytest.mark.parametrize(
    ("change", "setting", "wanted"),
    [
        ({"shared_buffers": 128 * MB}, "shared_buffers", "2.5GB"),
        ({"catalog_index_size": 5 * GB}, "shared_buffers", "6.25GB"),
        ({"max_wal_size": 1 * GB}, "max_wal_size", "8GB"),
        ({"checkpoint_timeout": 300.0}, "checkpoint_timeout", "15min"),
        ({"maintenance_work_mem": 64 * MB}, "maintenance_work_mem", "512MB"),
        ({"work_mem": 4 * MB}, "work_mem", "32MB"),
        ({"effective_cache_size": 4 * GB}, "effective_cache_size", "7GB"),
    ],
)
def test_each_setting_too_small_for_a_large_import_gets_one_line_naming_the_value_and_why(
    change: dict[str, object], setting: str, wanted: str
) -> None:
    (advice,) = advise(replace(GOOD, **change))  # type: ignore[arg-type]
    assert advice.setting == setting
    line = advice.line()
    assert line.startswith(f"{setting} = ")
    assert f"set {wanted}" in line
    assert "\n" not in line
    assert advice.why
    assert line.endswith(f": {advice.why}")


@pytest.mark.parametrize(
    ("stored", "index_size", "coming", "wanted"),
    [
        (0, 8 * MB, 1_000_000, "3.5GB"),  # empty: the catalog's usual bytes per product
        (0, 8 * MB, 100_000, "1GB"),
        (200_000, 1 * GB, 1_000_000, "6.25GB"),  # measured on the stored catalog
        (200_000, 1 * GB, 0, "1.25GB"),
    ],
)
def test_shared_buffers_is_sized_for_the_catalog_the_coming_import_brings(
    stored: int, index_size: int, coming: int, wanted: str
) -> None:
    facts = replace(GOOD, shared_buffers=512 * MB, catalog_index_size=index_size, products=stored)
    (advice,) = advise(facts, products=coming)
    assert advice.setting == "shared_buffers"
    assert f"set {wanted} or more" in advice.line()
    if coming:
        assert f"at {coming:,} products" in advice.why


def test_a_server_whose_buffers_hold_the_coming_catalog_has_nothing_to_change() -> None:
    assert advise(replace(GOOD, catalog_index_size=8 * MB), products=1_000_000) == []


@pytest.mark.postgres
def test_db_check_sizes_shared_buffers_for_the_products_to_come(fresh_pg_url: str) -> None:
    code, output = _check(fresh_pg_url, "--products", "1000000")
    assert code == 1
    (line,) = [line for line in output.splitlines() if line.startswith("shared_buffers = ")]
    assert "at 1,000,000 products" in line
    assert "set 3.5GB or more" in line


def test_db_check_refuses_a_negative_number_of_products_in_one_line() -> None:
    code, output = _check("sqlite:///:memory:", "--products", "-5")
    assert code == 2
    assert "--products" in output
    assert "Traceback" not in output


@pytest.mark.postgres
def test_db_check_measures_the_test_server_as_the_role_sees_it(fresh_pg_url: str) -> None:
    engine = make_engine(DatabaseSettings(url=fresh_pg_url))
    with engine.connect() as connection:
        shown = {
            name: connection.execute(text(f"SHOW {name}")).scalar_one()
            for name in ("shared_buffers", "max_wal_size", "work_mem")
        }
    facts = measure(engine)
    engine.dispose()
    assert facts.catalog_index_size > 0  # the migrated catalog's indexes, measured
    code, output = _check(fresh_pg_url)
    expected = advise(facts)
    assert [line for line in output.splitlines() if not line.startswith("(")] == [
        a.line() for a in expected
    ]
    assert code == (1 if expected else 0)
    for advice in expected:
        if advice.setting in shown:
            assert advice.line().startswith(f"{advice.setting} = {shown[advice.setting]}:")


@pytest.mark.postgres
def test_settings_changed_for_the_database_leave_the_check_at_once(fresh_pg_url: str) -> None:
    _code, before = _check(fresh_pg_url)
    name = make_url(fresh_pg_url).database
    admin = create_engine(fresh_pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for setting, value in (("work_mem", "64MB"), ("maintenance_work_mem", "1GB")):
            connection.execute(text(f"ALTER DATABASE \"{name}\" SET {setting} = '{value}'"))
    admin.dispose()
    code, after = _check(fresh_pg_url)
    assert _settings(after) == _settings(before) - {"work_mem", "maintenance_work_mem"}
    assert code == (1 if _settings(after) else 0)
    if code == 0:
        assert "nothing to change" in after


def _settings(output: str) -> set[str]:
    return {line.split(" = ")[0] for line in output.splitlines() if " = " in line}


def test_db_check_on_sqlite_says_it_measures_postgresql() -> None:
    code, output = _check("sqlite:///:memory:")
    assert code == 2
    assert "measures a PostgreSQL server" in output
    assert "Traceback" not in output
