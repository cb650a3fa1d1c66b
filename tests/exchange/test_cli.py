"""The exchange commands: hash-password, sessions, serve refusing an old schema."""

from __future__ import annotations

import json

from argon2 import PasswordHasher
from click.testing import CliRunner

from cli import main
from config import Settings
from tests.exchange.conftest import OneC, basic, text


def env_for(settings: Settings) -> dict[str, str]:
    return {
        "ONEC_SYNC_CONFIG": "",
        "ONEC_SYNC_DATABASE_URL": settings.database.url,
        "ONEC_SYNC_PATHS_DATA_DIR": str(settings.paths.data_dir),
    }


def test_hash_password_prints_an_argon2_hash_of_a_cyrillic_password() -> None:
    result = CliRunner().invoke(main, ["exchange", "hash-password", "--stdin"], input="Пароль 1С\n")
    assert result.exit_code == 0, result.output
    hashed = result.output.strip()
    assert PasswordHasher().verify(hashed, "Пароль 1С")


def test_sessions_lists_who_when_files_sizes_and_how_it_ended(
    one_c: OneC, exchange_settings: Settings
) -> None:
    one_c.start()
    one_c.call("file", filename="import.xml", body=b"<a/>")
    one_c.call("file", filename="import.xml", body=b"<b/>")
    assert text(one_c.call("file", filename="../x.xml", body=b"evil"))[0] == "failure"
    runner = CliRunner()
    result = runner.invoke(main, ["exchange", "sessions"], env=env_for(exchange_settings))
    assert result.exit_code == 0, result.output
    assert "catalog failed    обмен from 127.0.0.1" in result.output
    assert "import.xml  8 bytes in 2 chunk(s)  uploading" in result.output
    assert "file name '../x.xml' contains '..'" in result.output

    result = runner.invoke(main, ["exchange", "sessions", "--json"], env=env_for(exchange_settings))
    [session] = json.loads(result.output)
    assert session["username"] == "обмен"
    assert [f["status"] for f in session["files"]] == ["uploading", "rejected"]


def test_a_wrong_login_leaves_no_session(one_c: OneC, exchange_settings: Settings) -> None:
    one_c.call("checkauth", auth=basic(password="нет"))
    result = CliRunner().invoke(main, ["exchange", "sessions"], env=env_for(exchange_settings))
    assert result.output.strip() == "no exchange sessions recorded"


def test_serve_refuses_a_database_without_the_schema(tmp_path: object) -> None:
    env = {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"}
    result = CliRunner().invoke(main, ["exchange", "serve"], env=env)
    assert result.exit_code == 78  # the schema must be fixed first
    assert "run `onec-sync db upgrade`" in result.output
