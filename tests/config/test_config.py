"""Configuration: one TOML file, environment overrides, secrets only from the environment."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings
from config.loader import _hints

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "onec-sync.example.toml"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "onec-sync.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_no_file_gives_the_embedded_sqlite_default() -> None:
    settings = load_settings(env={})
    assert settings.database.url == "sqlite:///var/onec-sync.db"
    assert settings.source is None


def test_the_example_file_loads_and_equals_the_defaults() -> None:
    loaded = load_settings(EXAMPLE, env={})
    assert dataclasses.replace(loaded, source=None) == Settings()


def test_the_example_file_documents_every_key() -> None:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    text = EXAMPLE.read_text(encoding="utf-8")
    for section_field in dataclasses.fields(Settings):
        if section_field.name == "source":
            continue
        table = section_field.name.rstrip("_")
        assert f"[{table}]" in text, f"[{table}] is not documented"
        for key in dataclasses.fields(_hints(Settings)[section_field.name]):
            in_table = key.name in document.get(table, {})
            commented = f"# {key.name}" in text or f"[{table}.{key.name}]" in text
            assert in_table or commented, f"{table}.{key.name} is not documented"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite:///a.db"\n[import]\nbatch_size = 10\n')
    settings = load_settings(
        path,
        env={
            "ONEC_SYNC_DATABASE_URL": "postgresql+psycopg://127.0.0.1/shop",
            "ONEC_SYNC_REDIS_URL": "redis://127.0.0.1:6379/2",
            "ONEC_SYNC_IMPORT_BATCH_SIZE": "500",
            "ONEC_SYNC_STOREFRONT_CORS_ORIGINS": "https://a.example, https://b.example",
        },
    )
    assert settings.database.url == "postgresql+psycopg://127.0.0.1/shop"
    assert settings.redis.url == "redis://127.0.0.1:6379/2"
    assert settings.import_.batch_size == 500
    assert settings.storefront.cors_origins == ("https://a.example", "https://b.example")


def test_config_file_can_be_named_by_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[import]\nbatch_size = 7\n")
    assert load_settings(env={"ONEC_SYNC_CONFIG": str(path)}).import_.batch_size == 7


def test_secrets_come_from_env_file_or_systemd_credentials(tmp_path: Path) -> None:
    secret_file = tmp_path / "odata-password"
    secret_file.write_text("from-file\n", encoding="utf-8")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "storefront_jwt_secret").write_text("from-systemd", encoding="utf-8")
    settings = load_settings(
        env={
            "ONEC_SYNC_EXCHANGE_USERNAME": "1c",
            "ONEC_SYNC_EXCHANGE_PASSWORD": "from-env",
            "ONEC_SYNC_ODATA_PASSWORD_FILE": str(secret_file),
            "CREDENTIALS_DIRECTORY": str(creds),
        }
    )
    assert settings.exchange.password.reveal() == "from-env"
    assert settings.odata.password.reveal() == "from-file"
    assert settings.storefront.jwt_secret.reveal() == "from-systemd"
    assert "from-env" not in repr(settings)


def test_a_secret_written_into_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[odata]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert "odata.password: secrets are not read from the file" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[database]\nurl = "mysql://root:pw@db/shop"\n'
        '[import]\nbatch_size = "many"\nfull_package_policy = "purge"\ncolour = 1\n'
        "[nonsense]\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={"ONEC_SYNC_REDIS_URL": "http://cache"})
    problems = caught.value.problems
    assert any(p.startswith("database.url:") for p in problems)
    assert any(p.startswith("import.batch_size:") for p in problems)
    assert any(p.startswith("import.full_package_policy:") for p in problems)
    assert "import.colour: unknown key" in problems
    assert any(p.startswith("[nonsense]") for p in problems)
    assert any(p.startswith("redis.url:") for p in problems)
    assert len(problems) == 6


def test_broken_toml_still_reports_problems_in_the_tables_that_parse(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "mysql://u:pw@db/x"\n[import\nbatch_size = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    problems = caught.value.problems
    assert any("invalid TOML" in p and "line 3" in p for p in problems)
    assert any(p.startswith("database.url:") for p in problems)


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.toml", env={})


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"ONEC_SYNC_IMPORT_BATCH_SIZE": "0"}, "import.batch_size"),
        ({"ONEC_SYNC_IMPORT_TIMEZONE": "Mars/Base"}, "import.timezone"),
        ({"ONEC_SYNC_IMPORT_SITE_OWNED_FIELDS": "description,colour"}, "import.site_owned_fields"),
        ({"ONEC_SYNC_DATABASE_ECHO": "maybe"}, "ONEC_SYNC_DATABASE_ECHO"),
        ({"ONEC_SYNC_ODATA_URL": "ftp://1c"}, "odata.url"),
        (
            {"ONEC_SYNC_EXCHANGE_USERNAME": "1c"},
            "exchange.password_hash: not set, so 1C cannot log in",
        ),
    ],
)
def test_values_that_make_no_sense_are_problems(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
