"""Every command against every broken setup: one line naming the problem, a documented status.

The setups are those a new operator meets: no database server, a login the server refuses, a
database that does not exist, one never migrated or migrated by an older onec-sync, Redis down,
a half-written configuration file, an ``[exchange]`` with a login but no password hash and the
reverse. No output may hold a traceback.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import main
from config import DatabaseSettings
from syncd.store import migrate
from syncd.store.engine import make_engine
from tests.conftest import PG_URL, REPO_ROOT
from tests.exchange.conftest import PASSWORD_HASH

DOCUMENTED = {0, 1, 2, 69, 75, 77, 78}
SETUP_ERRORS = {69, 77, 78}  # the setup is wrong: one line on stderr
EXAMPLE = str(REPO_ROOT / "examples" / "package")
# Every leaf command, with arguments that make it do its real work, and its standard input.
COMMANDS: dict[str, tuple[list[str], str | None]] = {
    "config check": (["config", "check"], None),
    "db upgrade": (["db", "upgrade"], None),
    "db current": (["db", "current"], None),
    "db check": (["db", "check"], None),
    "db downgrade": (["db", "downgrade", "base", "--yes"], None),
    "import": (["import", EXAMPLE], None),
    "runs": (["runs"], None),
    "runs confirm-hide": (["runs", "confirm-hide", "no-such-run"], None),
    "runs reject-hide": (["runs", "reject-hide", "no-such-run"], None),
    "audit": (["audit"], None),
    "audit verify": (["audit", "verify"], None),
    "status": (["status"], None),
    "sync folder": (["sync", "folder"], None),
    "sync housekeeping": (["sync", "housekeeping"], None),
    "sync odata": (["sync", "odata"], None),
    "orders push": (["orders", "push"], None),
    "odata check": (["odata", "check"], None),
    "exchange sessions": (["exchange", "sessions"], None),
    "exchange hash-password": (["exchange", "hash-password", "--stdin"], "pw\n"),
    "exchange serve": (["exchange", "serve", "--listen", "127.0.0.1:0"], None),
    "serve": (["serve", "--dev", "--listen", "127.0.0.1:0"], None),
    "console serve": (["console", "serve", "--listen", "127.0.0.1:0"], None),
    "run": (["run"], None),
    "users create": (["users", "create", "anna", "--password-stdin"], "a-long-password-1\n"),
    "users list": (["users", "list"], None),
    "users disable": (["users", "disable", "nobody"], None),
    "users enable": (["users", "enable", "nobody"], None),
    "users set-password": (["users", "set-password", "nobody", "--password-stdin"], "pw-long-1\n"),
    "webhooks add": (["webhooks", "add", "https://shop.example/hooks"], None),
    "webhooks list": (["webhooks", "list"], None),
    "webhooks remove": (["webhooks", "remove", "999"], None),
    "webhooks test": (["webhooks", "test", "999"], None),
    "webhooks redeliver": (["webhooks", "redeliver", "999", "--after", "0"], None),
    "webhooks deliver": (["webhooks", "deliver"], None),
    "apikeys create": (["apikeys", "create", "shop backend"], None),
    "apikeys list": (["apikeys", "list"], None),
    "apikeys revoke": (["apikeys", "revoke", "abcdefabcdef"], None),
    "db roles": (["db", "roles"], None),
    "audit anchor": (["audit", "anchor", "/dev/null"], None),
    "backup": (["backup"], None),
    "restore": (["restore", "/nonexistent/onec-sync.manifest.json"], None),
    "emulate-1c": (
        ["emulate-1c", "--url", "http://127.0.0.1:9/x", "--user", "u", "--password", "p", EXAMPLE],
        None,
    ),
}
# Commands that do not touch the database: what they do against a broken one.
NO_DATABASE = {
    "config check": 0,
    "exchange hash-password": 0,
    "odata check": 78,  # odata.url is not set
    "emulate-1c": 1,  # nothing listens at its URL
    "restore": 1,  # it reads the backup before the database: there is no such backup
}
# Commands that would keep serving (or retrying) where the setup lets them start.
LONG_RUNNING = {"exchange serve", "serve", "console serve", "run", "emulate-1c"}


@dataclass
class Setup:
    """A broken setup: the environment it needs and what each command must answer."""

    name: str
    env: dict[str, str]
    status: int  # what a command using the database exits with
    overrides: dict[str, int] = field(default_factory=dict)
    skip: set[str] = field(default_factory=set)
    config: str | None = None  # TOML text for --config

    def expected(self, command: str) -> int | None:
        if command in self.overrides:
            return self.overrides[command]
        return NO_DATABASE.get(command, self.status)


Prepared = tuple[dict[str, str], list[str]]  # the environment and the options before argv


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SQLite databases at the newest schema and at the first one, copied by each case."""
    folder = tmp_path_factory.mktemp("templates")
    made = {}
    for name, revision in (("current", "head"), ("older", "0001")):
        path = folder / f"{name}.db"
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
        migrate.upgrade(engine, revision)
        engine.dispose()
        made[name] = path
    return made


def _pg(database: str, user: str = "") -> str:
    base = PG_URL.rsplit("/", 1)[0]
    if user:
        base = base.replace("://", f"://{user}@", 1)
    return f"{base}/{database}"


_ON_SCHEMA = {"db upgrade": 0, "db current": 1, "db downgrade": 0, "run": 78, "db check": 2}
_WORKS = {
    "import": 0,
    "runs": 0,
    "audit": 0,
    "audit verify": 0,
    "status": 0,
    "sync folder": 78,  # folder.inbox is not set
    "sync housekeeping": 0,
    "sync odata": 78,  # odata.url is not set
    "orders push": 78,
    "exchange sessions": 0,
    "users create": 0,
    "apikeys create": 0,
    "apikeys list": 0,
    "apikeys revoke": 1,  # no such key
    "runs confirm-hide": 1,  # no such run
    "runs reject-hide": 1,
    "console serve": 78,  # console.secret_key is not set
    "users disable": 1,  # no such user
    "users enable": 1,
    "users set-password": 1,
    "webhooks remove": 1,  # no such endpoint
    "webhooks test": 1,
    "webhooks redeliver": 1,
    "db roles": 1,  # SQLite has no roles
    "db check": 2,  # it measures a PostgreSQL server
    "audit anchor": 0,
    "backup": 0,
    "db upgrade": 0,
    "db current": 0,
    "db downgrade": 0,
}
SETUPS = [
    Setup("no database server", {"ONEC_SYNC_DATABASE_URL": "postgres://127.0.0.1:9/x"}, 69,
          overrides={"db upgrade": 69, "db current": 69, "db downgrade": 69}, skip={"run"}),
    Setup("wrong credentials", {"ONEC_SYNC_DATABASE_URL": _pg("test", "no_such_role_18")}, 77,
          skip={"run"}),
    Setup("no such database", {"ONEC_SYNC_DATABASE_URL": _pg(f"nodb_{uuid.uuid4().hex[:8]}")}, 78,
          skip={"run"}),
    Setup("not migrated", {"ONEC_SYNC_DATABASE_URL": "sqlite:///{empty}"}, 78, overrides=_ON_SCHEMA),
    Setup("an older schema", {"ONEC_SYNC_DATABASE_URL": "sqlite:///{older}"}, 78,
          overrides=_ON_SCHEMA),
    Setup("redis down", {"ONEC_SYNC_DATABASE_URL": "sqlite:///{current}",
                         "ONEC_SYNC_REDIS_URL": "redis://127.0.0.1:9/0"}, 0,
          overrides=_WORKS, skip=LONG_RUNNING),
    Setup("a half-written config file", {"ONEC_SYNC_DATABASE_URL": "sqlite:///{current}"}, 78,
          overrides={"config check": 78, "odata check": 78, "restore": 78}, skip={"emulate-1c"},
          config='[database]\nurl = "sqlite:///x.db\n[exchange]\nusername = '),
    Setup("an exchange login without a password hash",
          {"ONEC_SYNC_DATABASE_URL": "sqlite:///{current}"}, 0,
          overrides={**_WORKS, "config check": 78, "exchange serve": 78, "run": 78},
          skip={"serve", "emulate-1c"}, config='[exchange]\nusername = "1c"\n'),
    Setup("an exchange password hash without a login",
          {"ONEC_SYNC_DATABASE_URL": "sqlite:///{current}"}, 0,
          overrides={**_WORKS, "config check": 78, "exchange serve": 78, "run": 78},
          skip={"serve", "emulate-1c"}, config=f'[exchange]\npassword_hash = "{PASSWORD_HASH}"\n'),
]  # fmt: skip


@pytest.fixture
def env_for(tmp_path: Path, templates: dict[str, Path]) -> Callable[[Setup], Prepared]:
    def make(setup: Setup) -> Prepared:
        paths = {"empty": tmp_path / "empty.db"}
        for name, template in templates.items():
            paths[name] = tmp_path / f"{name}.db"
            shutil.copy(template, paths[name])
        env = {key: value.format(**paths) for key, value in setup.env.items()}
        env.setdefault("ONEC_SYNC_REDIS_URL", "")
        env |= {"ONEC_SYNC_CONFIG": "", "ONEC_SYNC_PATHS_DATA_DIR": str(tmp_path / "data")}
        env["ONEC_SYNC_BACKUP_DIR"] = str(tmp_path / "backups")
        options = []
        if setup.config is not None:
            config = tmp_path / "onec-sync.toml"
            config.write_text(setup.config, encoding="utf-8")
            options = ["--config", str(config)]
        return env, options

    return make


CASES = [
    pytest.param(setup, command, id=f"{setup.name}: {command}")
    for setup in SETUPS
    for command in COMMANDS
    if command not in setup.skip
]


@pytest.mark.postgres
@pytest.mark.parametrize(("setup", "command"), CASES)
def test_a_command_against_a_broken_setup_says_what_is_wrong_in_one_line(
    setup: Setup, command: str, env_for: Callable[[Setup], Prepared]
) -> None:
    env, options = env_for(setup)
    argv, stdin = COMMANDS[command]
    result = CliRunner().invoke(main, [*options, *argv], env=env, input=stdin)
    shown = result.output + (result.stderr or "")
    assert "Traceback" not in shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert result.exit_code in DOCUMENTED
    assert result.exit_code == setup.expected(command), shown
    if result.exit_code in SETUP_ERRORS and command != "config check":  # it lists them all
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert "`onec-sync " in lines[0] or "ONEC_SYNC_" in lines[0]  # says how to fix it


def test_the_matrix_covers_every_command() -> None:
    def leaves(group: click.Group, prefix: str) -> Iterator[str]:
        for name, command in group.commands.items():
            if isinstance(command, click.Group) and command.commands:
                yield from leaves(command, f"{prefix}{name} ")
            if not isinstance(command, click.Group) or command.invoke_without_command:
                yield f"{prefix}{name}"

    assert set(leaves(main, "")) == set(COMMANDS)


def test_the_help_documents_the_exit_statuses() -> None:
    shown = CliRunner().invoke(main, ["--help"]).output
    for status in (69, 75, 77, 78):
        assert str(status) in shown
