"""``onec-sync``: the command line. Parses flags, loads settings once, calls library code."""

from __future__ import annotations

import json
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from config import ConfigError, Secret, Settings, load_settings, mask_url


class Context:
    """What every command gets: the settings, loaded lazily so `config check` can report errors."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                fail("configuration problems:\n  " + "\n  ".join(exc.problems), code=78)
        return self._settings


pass_context = click.make_pass_decorator(Context)


def fail(message: str, *, code: int = 1) -> NoReturn:
    click.echo(f"onec-sync: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="ONEC_SYNC_CONFIG",
    help="TOML configuration file (default: $ONEC_SYNC_CONFIG, else built-in defaults).",
)
@click.version_option(package_name="onec-sync")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Keep an online shop and 1C:Enterprise in sync."""
    ctx.obj = Context(config_path)


# --- config ----------------------------------------------------------------------------------


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@pass_context
def config_check(ctx: Context, as_json: bool) -> None:
    """Print the effective settings (secrets masked), or every problem and exit 78."""
    try:
        settings = load_settings(ctx.config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        fail(f"{len(exc.problems)} configuration problem(s)", code=78)
    shown = _public_settings(settings)
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"# configuration: {settings.source or 'built-in defaults'}")
    for table, values in shown.items():
        if table == "source":
            continue
        click.echo(f"[{table}]")
        for key, value in values.items():
            click.echo(f"{key} = {json.dumps(value, ensure_ascii=False, default=str)}")
    click.echo("configuration OK")


def _public_settings(obj: Any) -> Any:
    """Settings as plain data with every secret and URL password masked."""
    if isinstance(obj, Secret):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for fld in fields(obj):
            value = getattr(obj, fld.name)
            if fld.name == "url" and isinstance(value, str):
                value = mask_url(value)
            out[fld.name.rstrip("_")] = _public_settings(value)
        return out
    if isinstance(obj, tuple):
        return [_public_settings(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


# --- db --------------------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Create and migrate the database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_context
def db_upgrade(ctx: Context, revision: str) -> None:
    """Migrate the database to REVISION (default: the newest). Safe to run again."""
    from syncd import migrate
    from syncd.db import make_engine

    engine = make_engine(ctx.settings.database)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    where = mask_url(ctx.settings.database.url)
    if before == after:
        click.echo(f"{where}: already at {after}")
    else:
        click.echo(f"{where}: migrated {before or 'empty'} -> {after}")


@db_group.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def db_downgrade(ctx: Context, revision: str, yes: bool) -> None:
    """Migrate the database down to REVISION ("base" drops everything)."""
    from syncd import migrate
    from syncd.db import make_engine

    if not yes:
        click.confirm(f"Downgrade {mask_url(ctx.settings.database.url)} to {revision}?", abort=True)
    engine = make_engine(ctx.settings.database)
    migrate.downgrade(engine, revision)
    click.echo(f"at {migrate.current_revision(engine) or 'base'}")


@db_group.command("current")
@pass_context
def db_current(ctx: Context) -> None:
    """Print the database's schema revision and whether it is the newest."""
    from syncd import migrate
    from syncd.db import make_engine

    engine = make_engine(ctx.settings.database)
    current, head = migrate.current_revision(engine), migrate.head_revision()
    state = "up to date" if current == head else f"behind (newest is {head})"
    click.echo(f"{current or 'empty'} ({state})")
    if current != head:
        sys.exit(1)


# --- storefront: serve, users, apikeys --------------------------------------------------------


@main.command("serve")
@click.option("--dev", is_flag=True, help="Flask's development server (no JWT secret needed).")
@click.option("--listen", help="host:port (default: storefront.listen).")
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn workers.")
@pass_context
def serve(ctx: Context, dev: bool, listen: str | None, workers: int | None) -> None:
    """Serve the storefront API (gunicorn; --dev for the development server)."""
    from storefront.errors import ConfigurationError
    from storefront.serve import serve as run_server

    try:
        run_server(ctx.settings, dev=dev, listen=listen, workers=workers)
    except ConfigurationError as exc:
        fail(str(exc), code=78)


@main.group("users")
def users_group() -> None:
    """People who log in to the storefront API (operators, admins)."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["operator", "admin"]), default="operator")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def users_create(ctx: Context, username: str, role: str, password_stdin: bool) -> None:
    """Create USERNAME; asks for the password unless --password-stdin."""
    from storefront import manage
    from storefront.errors import StorefrontError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = manage.create_user(
            ctx.settings.database, username=username, password=password, role=role
        )
    except StorefrontError as exc:
        fail(str(exc))
    click.echo(f"created {user['role']} {user['username']}")


@main.group("apikeys")
def apikeys_group() -> None:
    """API keys for machines (the shop's backend)."""


@apikeys_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["shop", "operator", "admin"]), default="shop")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["catalog:read", "orders:read", "orders:write", "admin"]),
    help="Narrow the role's permissions (repeatable); default: all of the role's.",
)
@pass_context
def apikeys_create(ctx: Context, name: str, role: str, scopes: tuple[str, ...]) -> None:
    """Create a key named NAME and print it (once: only its hash is stored)."""
    from storefront import manage
    from storefront.errors import StorefrontError

    try:
        described, key = manage.create_api_key(
            ctx.settings.database, name=name, role=role, scopes=scopes, created_by="cli"
        )
    except StorefrontError as exc:
        fail(str(exc))
    click.echo(key)
    click.echo(
        f"created {described['role']} key {described['prefix']} ({described['name']}); "
        "store it now, it is not shown again",
        err=True,
    )


@apikeys_group.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def apikeys_list(ctx: Context, include_revoked: bool, as_json: bool) -> None:
    """List keys (prefix, name, role, scopes, last use); never the keys themselves."""
    from storefront import manage

    keys = manage.list_api_keys(ctx.settings.database, include_revoked=include_revoked)
    if as_json:
        click.echo(json.dumps(keys, ensure_ascii=False, indent=2))
        return
    for key in keys:
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
        scopes = ",".join(key["scopes"]) or "all"
        click.echo(
            f"{key['prefix']}  {key['role']:<8} {scopes:<12} {state:<10} "
            f"last used {key['last_used_at'] or 'never'}  {key['name']}"
        )


@apikeys_group.command("revoke")
@click.argument("prefix")
@pass_context
def apikeys_revoke(ctx: Context, prefix: str) -> None:
    """Revoke the key with PREFIX (the 12 characters after osk_); takes effect at once."""
    from storefront import manage
    from storefront.errors import StorefrontError

    try:
        described = manage.revoke_api_key(
            ctx.settings.database, prefix, redis_url=ctx.settings.redis.url
        )
    except StorefrontError as exc:
        fail(str(exc))
    click.echo(f"revoked {described['prefix']} ({described['name']})")


if __name__ == "__main__":  # pragma: no cover
    main()
