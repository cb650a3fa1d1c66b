"""``onec-sync``: the command line. Parses flags, loads settings once, calls library code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from config import ConfigError, Secret, Settings, load_settings, mask_url
from config.settings import ODATA_STREAMS


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


# --- odata: 1C's REST interface ---------------------------------------------------------------


def _odata_on(ctx: Context) -> Settings:
    settings = ctx.settings
    if not settings.odata.url:
        fail("odata.url is not set: OData is off (see [odata] in the configuration)", code=78)
    return settings


@contextmanager
def _stop_on_signals() -> Iterator[Callable[[], bool]]:
    """A ``should_stop`` that turns true on SIGINT/SIGTERM: the running batch commits first."""
    import signal

    asked = [False]

    def ask(signum: int, _frame: Any) -> None:
        asked[0] = True
        click.echo(f"onec-sync: {signal.Signals(signum).name}: stopping after this batch", err=True)

    previous = {sig: signal.signal(sig, ask) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield lambda: asked[0]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@main.group("odata")
def odata_group() -> None:
    """1C's standard OData interface."""


@odata_group.command("check")
@pass_context
def odata_check(ctx: Context) -> None:
    """Reach 1C, read $metadata and report which configured entities and fields it has."""
    from syncd.odata.check import check_odata

    report = check_odata(_odata_on(ctx).odata)
    click.echo(f"1C OData: {mask_url(report.url)}")
    if report.error:
        fail(report.error)
    if report.metadata_error:
        click.echo(f"$metadata unreadable ({report.metadata_error}); probed each entity instead")
    else:
        click.echo(f"$metadata: {report.entity_sets} entity sets published")
    for check in report.entities:
        state = {True: "ok", False: "MISSING", None: "?"}[check.exists]
        if check.exists and check.missing:
            state = "INCOMPLETE"
        click.echo(f"  {check.use:<16} {check.entity:<50} {state}")
        for absent in check.missing:
            click.echo(f"      missing {absent}")
        if check.note and not check.exists:
            click.echo(f"      {check.note}")
    if not report.ok:
        fail("some configured entities or fields are not published by this 1C base")
    click.echo("OData OK")


@main.group("sync")
def sync_group() -> None:
    """Pull data from 1C now (the daemon runs the same on its schedule)."""


@sync_group.command("odata")
@click.option("--stream", type=click.Choice(ODATA_STREAMS), help="Pull only this stream.")
@click.option("--full", is_flag=True, help="Re-read catalogs whole instead of only what changed.")
@pass_context
def sync_odata(ctx: Context, stream: str | None, full: bool) -> None:
    """Pull catalog, prices, stock and customers from 1C over OData."""
    from syncd.db import make_engine
    from syncd.locks import LockBusy
    from syncd.odata.sync import run_odata_sync

    settings = _odata_on(ctx)
    engine = make_engine(settings.database)
    try:
        with _stop_on_signals() as should_stop:
            result = run_odata_sync(
                settings, engine, stream=stream, full=full, should_stop=should_stop
            )
    except LockBusy:
        fail("another OData pull is running", code=75)
    for item in result.streams:
        c = item.counts
        click.echo(
            f"{item.stream:<16} {item.outcome:<10} {item.mode:<12} inserted {c.inserted}, "
            f"updated {c.updated}, unchanged {c.unchanged}, deleted {c.deleted}, "
            f"rejected {c.rejected} (read {item.fetched})"
        )
        for problem in [item.error, *c.problems]:
            if problem:
                click.echo(f"    {problem}")
    click.echo(f"run {result.run_uuid}: {result.status}")
    if result.status == "failed":
        sys.exit(1)


@main.group("orders")
def orders_group() -> None:
    """The shop's orders on their way to 1C."""


@orders_group.command("push")
@click.option("--retry-failed", is_flag=True, help="Try orders 1C refused before again.")
@pass_context
def orders_push(ctx: Context, retry_failed: bool) -> None:
    """Create (and post) a 1C document for every order not sent yet, exactly once."""
    from syncd.db import make_engine
    from syncd.locks import LockBusy
    from syncd.odata.orders import push_orders

    settings = _odata_on(ctx)
    engine = make_engine(settings.database)
    try:
        with _stop_on_signals() as should_stop:
            result = push_orders(
                settings, engine, should_stop=should_stop, retry_failed=retry_failed
            )
    except LockBusy:
        fail("another order push is running", code=75)
    counts = ", ".join(f"{name} {n}" for name, n in result.counts().items())
    click.echo(f"orders: {counts}")
    for error in result.errors:
        click.echo(f"    {error}")
    click.echo(f"run {result.run_uuid}: {result.status}")
    if result.status in ("failed", "deferred"):
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
