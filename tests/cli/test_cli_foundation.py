"""The admin's first commands: `config check` and `db`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main


def test_config_check_prints_settings_with_secrets_masked(tmp_path: Path) -> None:
    env = {
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": "postgresql+psycopg://shop:s3cr3t-pw@db.local/shop",
        "ONEC_SYNC_ODATA_PASSWORD": "odata-pw-123",
    }
    result = CliRunner().invoke(main, ["config", "check"], env=env)
    assert result.exit_code == 0, result.output
    assert "postgresql+psycopg://shop:***@db.local/shop" in result.output
    assert "s3cr3t-pw" not in result.output
    assert "odata-pw-123" not in result.output
    assert "configuration OK" in result.output


def test_config_check_reports_a_broken_file_and_a_bad_url_and_fails(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('[storefront\nlisten = "x"\n', encoding="utf-8")
    env = {"ONEC_SYNC_DATABASE_URL": "mysql://root:hunter2@db/shop"}
    result = CliRunner().invoke(main, ["--config", str(config), "config", "check"], env=env)
    assert result.exit_code != 0
    assert "invalid TOML" in result.output
    assert "database.url" in result.output
    assert "hunter2" not in result.output
    assert "2 configuration problem(s)" in result.output


def test_other_commands_refuse_to_run_with_a_broken_configuration(tmp_path: Path) -> None:
    env = {"ONEC_SYNC_DATABASE_URL": "nonsense", "ONEC_SYNC_CONFIG": ""}
    result = CliRunner().invoke(main, ["db", "current"], env=env)
    assert result.exit_code == 78
    assert "database.url" in result.output


def test_db_upgrade_creates_the_sqlite_database_where_configured(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "x.db"
    env = {"ONEC_SYNC_DATABASE_URL": f"sqlite:///{db}", "ONEC_SYNC_CONFIG": ""}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert db.exists()
    result = CliRunner().invoke(main, ["db", "current"], env=env)
    assert "up to date" in result.output
