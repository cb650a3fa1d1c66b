"""``onec-sync``: the command line. Parses flags, loads settings once, calls library code."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from config import ConfigError, Secret, Settings, load_settings, mask_url
from config.settings import ODATA_STREAMS

EXIT_STATUS_HELP = """\b
Exit status: 0 done; 1 the work failed (a file rejected, 1C refused, ...); 2 wrong usage;
69 a server is unreachable (PostgreSQL, Redis where required, 1C); 75 another run holds the
lock, try later; 77 the database refused the login; 78 the configuration or the schema must be
fixed first (`onec-sync config check`, `onec-sync db upgrade`); 130 interrupted (Ctrl-C,
SIGTERM): the same command again resumes an import. Errors are one line on stderr."""

# Sections of the configuration that only some commands use: a problem in one of them blocks
# only those commands (`config check` and `run` use everything).
_OPTIONAL_SECTIONS = frozenset(
    {"exchange", "odata", "folder", "daemon", "housekeeping", "storefront"}
)
_COMMAND_SECTIONS = {
    "exchange serve": {"exchange", "daemon"},
    "odata check": {"odata"},
    "sync odata": {"odata"},
    "orders push": {"odata"},
    "sync folder": {"folder"},
    "sync housekeeping": {"housekeeping"},
    "serve": {"storefront"},
    "run": _OPTIONAL_SECTIONS,
    "config check": _OPTIONAL_SECTIONS,
}
# Commands that work without a database at the newest schema (`run` waits for it by itself).
_NO_SCHEMA_CHECK = frozenset(
    {
        "config check",
        "db upgrade",
        "db downgrade",
        "db current",
        "db check",
        "exchange hash-password",
        "emulate-1c",
        "odata check",
        "restore",  # into an empty database: it checks the backup's revision itself
        "run",
    }
)


class Context:
    """What every command gets: the settings, loaded lazily so `config check` can report errors."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self.command = ""
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            tolerate = _OPTIONAL_SECTIONS - _COMMAND_SECTIONS.get(self.command, set())
            try:
                self._settings = load_settings(self.config_path, tolerate=tolerate)
            except ConfigError as exc:
                more = len(exc.problems) - 1
                fail(
                    f"configuration: {exc.problems[0]}"
                    + (f" (and {more} more)" if more else "")
                    + "; `onec-sync config check` lists every problem",
                    code=78,
                )
        return self._settings

    def prepare(self, command: str) -> None:
        """Before ``command`` runs: check the schema it needs, once, here."""
        from syncd.store.diagnosis import missing_file, schema_problem
        from syncd.store.engine import make_engine

        self.command = command
        if command in _NO_SCHEMA_CHECK:
            return
        problem = missing_file(self.settings.database.url) or schema_problem(
            make_engine(self.settings.database)
        )
        if problem is not None:
            fail(problem.message, code=problem.status)


pass_context = click.make_pass_decorator(Context)


def fail(message: str, *, code: int = 1) -> NoReturn:
    click.echo(f"onec-sync: {message}", err=True)
    sys.exit(code)


STDIN_SECRET_HELP = "Read the password from the first line of standard input."  # noqa: S105


def read_password(from_stdin: bool, prompt: str, *, confirm: bool) -> str:
    """The password from stdin's first line or a hidden prompt; exits 1 when it is empty."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    if not password:
        fail("an empty password cannot be used; give one on stdin or at the prompt")
    return password


class _Command(click.Command):
    def invoke(self, ctx: click.Context) -> Any:
        path = ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ""
        ctx.ensure_object(Context).prepare(path)
        return super().invoke(ctx)


class _Group(click.Group):
    command_class = _Command
    group_class: type[click.Group] | type[type] = type  # sub-groups are _Groups too


class _Boundary(_Group):
    """The root group: every error a command lets through becomes one line and a status."""

    group_class = _Group

    def invoke(self, ctx: click.Context) -> Any:
        from redis.exceptions import RedisError
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:
            from syncd.store.diagnosis import explain
            from syncd.store.engine import make_engine

            problem = explain(exc, make_engine(ctx.ensure_object(Context).settings.database))
            fail(problem.message, code=problem.status)
        except RedisError as exc:
            redis_url = mask_url(ctx.ensure_object(Context).settings.redis.url)
            fail(
                f"Redis at {redis_url} is unreachable ({exc}): start it or clear redis.url", code=69
            )
        except KeyboardInterrupt:
            fail("interrupted", code=130)


@click.group(
    cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_STATUS_HELP
)
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
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin lines are not ours


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
    from sqlalchemy.exc import ProgrammingError

    from syncd.store import migrate
    from syncd.store.engine import make_engine

    engine = make_engine(ctx.settings.database)
    before = migrate.current_revision(engine)
    try:
        migrate.upgrade(engine, revision)
    except ProgrammingError as exc:  # e.g. the runtime role, which may not change the schema
        first = (str(exc.orig or exc).splitlines() or [""])[0]
        fail(f"migration refused: {first} (run `db upgrade` as the owner role; see `db roles`)")
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
    from syncd.store import migrate
    from syncd.store.engine import make_engine

    if not yes:
        click.confirm(f"Downgrade {mask_url(ctx.settings.database.url)} to {revision}?", abort=True)
    engine = make_engine(ctx.settings.database)
    migrate.downgrade(engine, revision)
    click.echo(f"at {migrate.current_revision(engine) or 'base'}")


@db_group.command("current")
@pass_context
def db_current(ctx: Context) -> None:
    """Print the database's schema revision and whether it is the newest."""
    from syncd.store import migrate
    from syncd.store.engine import make_engine

    engine = make_engine(ctx.settings.database)
    current, head = migrate.current_revision(engine), migrate.head_revision()
    state = "up to date" if current == head else f"behind (newest is {head})"
    click.echo(f"{current or 'empty'} ({state})")
    if current != head:
        sys.exit(1)


@db_group.command("check")
@click.option(
    "--products",
    type=click.IntRange(min=0),
    default=0,
    help="How many products the catalog will hold after the coming import (default: as now).",
)
@pass_context
def db_check(ctx: Context, products: int) -> None:
    """Measure the PostgreSQL server and say which setting to change for a large first import
    and why, one line each. Exit status 0 with "nothing to change", 1 when a setting should."""
    from syncd.store import tuning
    from syncd.store.engine import make_engine

    if ctx.settings.database.is_sqlite:
        fail("db check measures a PostgreSQL server; SQLite has none of its settings", code=2)
    facts = tuning.measure(make_engine(ctx.settings.database))
    advice = tuning.advise(facts, products=products)
    measured = (
        f"database {tuning.size(facts.database_size)}, "
        f"catalog indexes {tuning.size(facts.catalog_index_size)}"
    )
    if not advice:
        click.echo(f"{mask_url(ctx.settings.database.url)}: nothing to change ({measured})")
        return
    for item in advice:
        click.echo(item.line())
    click.echo(f"({measured}; for a large first import, in the order they matter)")
    sys.exit(1)


# --- odata: 1C's REST interface ---------------------------------------------------------------


def _odata_on(ctx: Context) -> Settings:
    settings = ctx.settings
    if not settings.odata.url:
        fail(
            "odata.url is not set: OData is off; set [odata] url (ONEC_SYNC_ODATA_URL) to 1C's "
            "/odata/standard.odata/ address, then run `onec-sync odata check`",
            code=78,
        )
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
    from syncd.store.engine import make_engine, make_session_factory

    settings = _odata_on(ctx)
    engine = make_engine(settings.database)
    report = check_odata(settings.odata, sessions=make_session_factory(engine))
    engine.dispose()
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
    if report.kept_error:
        click.echo(f"$metadata not kept for pulls ({report.kept_error})")
    _echo_section("derived from $metadata:", report.derived)
    _echo_section("set by you (1C cannot tell):", report.to_set)
    if not report.ok:
        fail("some configured entities or fields are not published by this 1C base")
    click.echo("OData OK")


def _echo_section(title: str, lines: list[str]) -> None:
    if lines:
        click.echo(title)
        for line in lines:
            click.echo(f"  {line}")


@main.group("sync")
def sync_group() -> None:
    """Run a sync job now, in this process (the daemon runs the same on its schedule)."""


@sync_group.command("odata")
@click.option("--stream", type=click.Choice(ODATA_STREAMS), help="Pull only this stream.")
@click.option("--full", is_flag=True, help="Re-read catalogs whole instead of only what changed.")
@pass_context
def sync_odata(ctx: Context, stream: str | None, full: bool) -> None:
    """Pull catalog, prices, stock and customers from 1C over OData."""
    from syncd.odata.sync import run_odata_sync
    from syncd.store.locks import LockBusy

    settings = _odata_on(ctx)
    engine = _current_engine(ctx)
    try:
        with _stop_on_signals() as should_stop:
            result = run_odata_sync(
                settings, engine, stream=stream, full=full, should_stop=should_stop
            )
    except LockBusy as exc:
        fail(f"another OData pull or a catalog import is running (lock {exc} is held)", code=75)
    except ValueError as exc:  # a stream this configuration cannot pull
        fail(str(exc), code=2)
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
    click.echo(f"run {result.run_uuid}: {result.outcome}")
    if result.outcome == "failed":
        sys.exit(1)


@main.group("orders")
def orders_group() -> None:
    """The shop's orders on their way to 1C."""


@orders_group.command("push")
@click.option("--retry-failed", is_flag=True, help="Try orders 1C refused before again.")
@pass_context
def orders_push(ctx: Context, retry_failed: bool) -> None:
    """Create (and post) a 1C document for every order not sent yet, exactly once."""
    from syncd.odata.orders import push_orders
    from syncd.store.locks import LockBusy

    settings = _odata_on(ctx)
    engine = _current_engine(ctx)
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
    click.echo(f"run {result.run_uuid}: {result.outcome}")
    if result.outcome in ("failed", "deferred"):
        sys.exit(1)


@db_group.command("roles")
@click.option(
    "--owner",
    default="onec_sync_owner",
    show_default=True,
    help="Owns the schema; runs `db upgrade`.",
)
@click.option(
    "--runtime", default="onec_sync", show_default=True, help="The daemon's and the API's role."
)
@click.option(
    "--create", is_flag=True, help="Run the statements (as a superuser or the database owner)."
)
@pass_context
def db_roles(ctx: Context, owner: str, runtime: str, create: bool) -> None:
    """Print (or --create) the least-privilege roles of a PostgreSQL database: OWNER migrates;
    RUNTIME may change the data, only INSERT/SELECT the audit log, and no TRUNCATE, DDL or
    trigger control. Run after `db upgrade`."""
    from sqlalchemy.exc import SQLAlchemyError

    from syncd.store import roles
    from syncd.store.engine import make_engine

    if ctx.settings.database.is_sqlite:
        fail("database roles are a PostgreSQL feature; SQLite relies on file permissions")
    engine = make_engine(ctx.settings.database)
    try:
        if create:
            statements = roles.create_roles(engine, owner=owner, runtime=runtime)
        else:
            with engine.connect() as conn:
                statements = roles.roles_sql(conn, owner=owner, runtime=runtime)
    except roles.RoleError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"the roles could not be set up: {(str(exc).splitlines() or [''])[0]}")
    if not create:
        click.echo("\n".join(f"{statement};" for statement in statements))
        return
    click.echo(
        f"roles {owner} (owner: use it for `db upgrade`) and {runtime} (runtime: database.url of "
        f"the daemon and the API) are set up; give them passwords with ALTER ROLE … PASSWORD"
    )


# --- backup and restore ---------------------------------------------------------------------


@main.command("backup")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write it (default: backup.dir).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@pass_context
def backup_command(ctx: Context, directory: Path | None, as_json: bool) -> None:
    """Back up the database (safe while the daemon runs), then remove old backups as
    [backup] keep_count/keep_days say. Each backup has a manifest with its checksum."""
    from dataclasses import asdict, replace

    from syncd.store import backup

    settings = (
        ctx.settings.backup if directory is None else replace(ctx.settings.backup, dir=directory)
    )
    try:
        made = backup.take_backup(ctx.settings.database, settings.dir)
        removed = backup.rotate(settings)
    except backup.BackupError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(asdict(made.manifest), indent=2))
        return
    head = made.manifest.audit_head_id
    click.echo(
        f"backup {made.path} ({made.manifest.size} bytes, revision {made.manifest.schema_revision}, "
        f"audit head entry {head if head is not None else '-'}); {len(removed)} old backup(s) removed"
    )


@main.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace the contents of a database that is not empty.")
@pass_context
def restore_command(ctx: Context, file: Path, force: bool) -> None:
    """Restore FILE (a backup or its manifest) into database.url, which must be empty. Checks
    the checksum and the schema revision first. Afterwards: `audit verify --anchors`."""
    from syncd.store import backup

    try:
        manifest = backup.restore(ctx.settings.database, file, force=force)
    except backup.BackupError as exc:
        fail(str(exc))
    click.echo(
        f"restored {manifest.file} (taken {manifest.created_at}, revision "
        f"{manifest.schema_revision}, audit head entry {manifest.audit_head_id}) into "
        f"{mask_url(ctx.settings.database.url)}"
    )


# --- import, runs, audit ---------------------------------------------------------------------


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
@click.option("--actor", help="Who to record in the audit log (default: $USER).")
@click.option(
    "--allow-mass-hide",
    is_flag=True,
    help="A full package may hide more than import.hide_guard_share of the catalog.",
)
@pass_context
def import_command(
    ctx: Context, paths: tuple[Path, ...], as_json: bool, actor: str | None, allow_mass_hide: bool
) -> None:
    """Import a CommerceML package: XML files, a folder, or 1C's zip archives.

    SIGINT/SIGTERM stop it after the running batch; importing the same files again resumes it.
    A full package that would hide more than import.hide_guard_share of the catalog is imported
    but its hiding is held (`onec-sync runs confirm-hide RUN`). Exit status 0 when every file
    was imported (or nothing changed), 1 when a file was rejected, 2 on other errors, 130 when
    interrupted.
    """
    import getpass

    from syncd.importer.inputs import InputError, package_files
    from syncd.importer.pipeline import import_files
    from syncd.store.engine import make_engine

    settings = ctx.settings
    engine = make_engine(settings.database)
    who = actor or getpass.getuser()
    try:
        with (
            package_files(list(paths), settings, engine) as files,
            _progress_bar(as_json) as progress,
            _stop_on_signals() as should_stop,
        ):
            result = import_files(
                engine,
                files,
                settings,
                actor=who,
                source=", ".join(map(str, paths)),
                on_progress=progress,
                should_stop=should_stop,
                allow_mass_hide=allow_mass_hide,
            )
    except InputError as exc:
        fail(str(exc), code=2)
    if as_json:
        click.echo(json.dumps(_run_json(result), ensure_ascii=False, indent=2))
    else:
        click.echo(_run_summary(result))
    if result.held_hide:
        click.echo(f"onec-sync: {result.held_hide}", err=True)
    if result.outcome == "interrupted":
        fail(f"import interrupted: run {result.run_uuid} {result.error}", code=130)
    if not result.ok:
        click.echo(f"onec-sync: import {result.outcome}: {result.error}", err=True)
        sys.exit(1)


def _progress_bar(quiet: bool) -> Any:
    """A byte-based progress bar on a terminal; nothing when piped or in --json mode."""
    from contextlib import contextmanager, nullcontext

    if quiet or not sys.stderr.isatty():
        return nullcontext(None)

    @contextmanager
    def bar() -> Any:
        state: dict[str, Any] = {"file": None, "bar": None, "pos": 0}

        def update(progress: Any) -> None:
            if progress.file != state["file"]:
                if state["bar"] is not None:
                    state["bar"].render_finish()
                state["file"], state["pos"] = progress.file, 0
                state["bar"] = click.progressbar(
                    length=max(progress.bytes_total, 1), label=progress.file, file=sys.stderr
                )
            state["bar"].update(progress.bytes_read - state["pos"])
            state["pos"] = progress.bytes_read

        try:
            yield update
        finally:
            if state["bar"] is not None:
                state["bar"].render_finish()

    return bar()


def _run_summary(result: Any) -> str:
    c = result.counts
    files = ", ".join(f"{f.name} {f.outcome}" for f in result.files)
    return (
        f"{result.outcome}: {c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged, "
        f"{c.deleted} deleted, {c.hidden} hidden, {c.rejected} rejected "
        f"in {result.duration_s:.1f}s [{files}] run {result.run_uuid}"
        + (" (resumed)" if result.resumed else "")
    )


def _run_json(result: Any) -> dict[str, Any]:
    return {
        "run_uuid": result.run_uuid,
        "outcome": result.outcome,
        "resumed": result.resumed,
        "duration_s": round(result.duration_s, 3),
        "error": result.error,
        "held_hide": result.held_hide,
        "counts": result.counts.as_dict(),
        "files": [
            {
                "name": f.name,
                "kind": f.kind,
                "sha256": f.sha256,
                "outcome": f.outcome,
                "only_changes": f.only_changes,
                "counts": f.counts.as_dict(),
                "error": f.error,
                "quarantined": str(f.quarantined) if f.quarantined else None,
            }
            for f in result.files
        ],
    }


@main.group("runs", invoke_without_command=True, epilog=None)
@click.option("--limit", default=20, show_default=True)
@click.option("--stream", help="Only this stream (commerceml, odata:products, ...).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_group(ctx: click.Context, limit: int, stream: str | None, as_json: bool) -> None:
    """The latest sync runs, newest first (times in UTC); `runs confirm-hide` and `runs
    reject-hide` decide a full package's held hiding."""
    if ctx.invoked_subcommand is not None:
        return
    context = ctx.ensure_object(Context)
    context.prepare("runs")  # a group's own callback is not a _Command
    from sqlalchemy.orm import Session

    from syncd.store.engine import make_engine
    from syncd.store.history import format_runs, recent_runs

    with Session(make_engine(context.settings.database)) as session:
        runs = recent_runs(session, limit=limit, stream=stream)
    if as_json:
        click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
    else:
        click.echo(format_runs(runs))


@runs_group.command("confirm-hide")
@click.argument("run_uuid", metavar="RUN")
@click.option("--actor", help="Who to record in the audit log (default: $USER).")
@pass_context
def runs_confirm_hide(ctx: Context, run_uuid: str, actor: str | None) -> None:
    """Hide what the full package of RUN did not mention, as its import would have."""
    import getpass

    from syncd.importer.hiding import HideError, confirm_hide

    try:
        hidden = confirm_hide(
            _current_engine(ctx),
            run_uuid,
            redis=ctx.settings.redis,
            actor=actor or getpass.getuser(),
            change_log=ctx.settings.changes.enabled,
        )
    except HideError as exc:
        fail(str(exc))
    rows = ", ".join(f"{n} {table}" for table, n in sorted(hidden.items()))
    click.echo(f"run {run_uuid}: hid {rows}")


@runs_group.command("reject-hide")
@click.argument("run_uuid", metavar="RUN")
@click.option("--actor", help="Who to record in the audit log (default: $USER).")
@pass_context
def runs_reject_hide(ctx: Context, run_uuid: str, actor: str | None) -> None:
    """Drop the held hiding of RUN: nothing is hidden."""
    import getpass

    from syncd.importer.hiding import HideError, reject_hide

    try:
        reject_hide(_current_engine(ctx), run_uuid, actor=actor or getpass.getuser())
    except HideError as exc:
        fail(str(exc))
    click.echo(f"run {run_uuid}: hiding rejected; nothing was hidden")


@main.group("audit", invoke_without_command=True)
@click.option("--limit", default=50, show_default=True)
@click.option("--action", help="Only entries of this action (import.run, import.file, ...).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_group(ctx: click.Context, limit: int, action: str | None, as_json: bool) -> None:
    """The audit log, newest first; `audit verify` checks its hash chain, `audit anchor` writes
    its head outside the database."""
    if ctx.invoked_subcommand is not None:
        return
    ctx.ensure_object(Context).prepare("audit")  # a group's own callback is not a _Command
    from sqlalchemy.orm import Session

    from syncd.store.engine import make_engine
    from syncd.store.history import recent_audit

    settings = ctx.ensure_object(Context).settings
    with Session(make_engine(settings.database)) as session:
        entries = recent_audit(session, limit=limit, action=action)
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    for e in entries:
        counts = " ".join(f"{k}={v}" for k, v in e["counts"].items() if v)
        subject = e["subject"] or e["source"] or ""
        click.echo(
            f"{e['id']:>6} {e['created_at'][:19]} {e['action']:<16} {e['outcome']:<10} "
            f"{subject} {counts}" + (f" error: {e['error']}" if e["error"] else "")
        )


@audit_group.command("verify")
@click.option(
    "--anchors",
    "anchors_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also check every anchor in this file (written by `audit anchor`): finds truncation "
    "and rewritten chains.",
)
@pass_context
def audit_verify(ctx: Context, anchors_file: Path | None) -> None:
    """Check the audit log's hash chain (and anchors); exit 1 at the first entry that does not
    fit. Says which part is keyed and whether its HMACs were checked (database.audit_key)."""
    from sqlalchemy.orm import Session

    from syncd.store import anchors, audit
    from syncd.store.engine import make_engine

    try:
        marks = anchors.read_anchors(anchors_file) if anchors_file else None
    except anchors.AnchorFileError as exc:
        fail(str(exc))
    with Session(make_engine(ctx.settings.database)) as session:
        result = audit.verify(session)
        found = anchors.check_anchors(session, marks) if marks is not None else None
    for line in audit.describe(result):
        click.echo(line)
    if found is not None:
        click.echo(found.summary())
    if not result.ok or (found is not None and not found.ok):
        sys.exit(1)


@audit_group.command("anchor")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_context
def audit_anchor(ctx: Context, file: Path) -> None:
    """Append the head of the audit chain (entry id + hash) to FILE, one line per anchor.
    Keep FILE where the database's users cannot rewrite it (another host, append-only storage)."""
    from syncd.store import anchors
    from syncd.store.engine import make_engine

    try:
        anchor = anchors.anchor_to_file(make_engine(ctx.settings.database), file)
    except anchors.AnchorFileError as exc:
        fail(str(exc))
    if anchor is None:
        click.echo("audit log is empty: nothing to anchor")
        return
    click.echo(f"anchored entry {anchor.entry_id} {anchor.entry_hash} in {file}")


# --- the daemon: run, status, sync -----------------------------------------------------------


@main.command("run")
@pass_context
def run_command(ctx: Context) -> None:
    """Run the daemon: the scheduled jobs of [daemon.schedules], the 1C exchange endpoint and
    /health, /ready, /metrics on daemon.http_listen. SIGTERM stops it after the running batch;
    SIGHUP reloads the configuration. Exit status 78: the schedule or the schema is unusable."""
    from syncd.daemon.process import run_daemon

    sys.exit(run_daemon(ctx.settings, reload=lambda: load_settings(ctx.config_path)))


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts and monitoring).")
@pass_context
def status_command(ctx: Context, as_json: bool) -> None:
    """Per stream: the last run, its result, the cursor and the lag; pending orders; the last
    exchange session; which daemon leads which job (PostgreSQL)."""
    from syncd.daemon.status import collect_status, format_status
    from syncd.store.engine import make_engine

    status = collect_status(make_engine(ctx.settings.database))
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(format_status(status))


@sync_group.command("folder")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def sync_folder(ctx: Context, as_json: bool) -> None:
    """Import the complete packages in folder.inbox now (as the folder_scan job does).

    Exit status 0 when every package imported (or there was none), 1 when one failed, 75 when
    another process is scanning the inbox right now."""
    from syncd.daemon import jobs

    report = _run_job(ctx, jobs.folder_scan, progress=not as_json)
    _print_report(report, as_json)


@sync_group.command("housekeeping")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def sync_housekeeping(ctx: Context, as_json: bool) -> None:
    """Remove what [housekeeping] says is old enough, now (as the housekeeping job does)."""
    from syncd.daemon import jobs

    _print_report(_run_job(ctx, jobs.housekeeping, progress=False), as_json)


def _run_job(ctx: Context, job: Any, *, progress: bool) -> Any:
    """Run one job function of ``syncd.daemon.jobs`` here: SIGINT/SIGTERM stop it after its batch."""
    import getpass
    import signal
    import threading

    from syncd.daemon import stopsignals
    from syncd.daemon.inbox import FolderError
    from syncd.daemon.jobs import JobContext
    from syncd.daemon.logs import configure_logging
    from syncd.store.locks import LockBusy

    settings = ctx.settings
    configure_logging(settings.logging)
    stop = threading.Event()

    def ask(signum: int, _frame: Any) -> None:
        stop.set()
        click.echo(f"onec-sync: {signal.Signals(signum).name}: stopping after this batch", err=True)

    restore = stopsignals.install(ask, (signal.SIGTERM, signal.SIGINT))
    try:
        with _progress_bar(not progress) as on_progress:
            context = JobContext(
                settings=settings,
                engine=_current_engine(ctx),
                actor=getpass.getuser(),
                should_stop=stop.is_set,
                stop_event=stop,
                on_progress=on_progress,
            )
            return job(context)
    except LockBusy as exc:
        fail(f"{exc} is held: another run is in progress (the daemon's?); try again later", code=75)
    except FolderError as exc:
        fail(str(exc), code=78)
    finally:
        restore()


def _print_report(report: Any, as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        click.echo(json.dumps(asdict(report), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(f"{report.job}: {report.outcome}: {report.summary}")
        for run in report.runs:
            click.echo(f"  run {run}")
        if report.error:
            click.echo(f"  {report.error}")
    if report.failed:
        sys.exit(1)


# --- exchange (the 1C site-exchange endpoint) ------------------------------------------------


@main.group("exchange")
def exchange_group() -> None:
    """The 1C site-exchange endpoint (?type=catalog|sale&mode=...)."""


@exchange_group.command("hash-password")
@click.option("--password-stdin", is_flag=True, help=STDIN_SECRET_HELP)
@click.option("--stdin", "old_stdin", is_flag=True, hidden=True)  # the flag's former name
def exchange_hash_password(password_stdin: bool, old_stdin: bool) -> None:
    """Print the argon2 hash of 1C's exchange password, for exchange.password_hash."""
    from syncd.exchange.auth import hash_password

    password = read_password(password_stdin or old_stdin, "1C exchange password", confirm=True)
    click.echo(hash_password(password))


@exchange_group.command("serve")
@click.option("--listen", help="HOST:PORT to listen on (default: daemon.http_listen).")
@pass_context
def exchange_serve(ctx: Context, listen: str | None) -> None:
    """Serve only the exchange endpoint (the daemon serves it too), until SIGINT/SIGTERM."""
    from dataclasses import replace

    from syncd.exchange.server import serve_exchange

    settings = ctx.settings
    if listen:
        settings = replace(settings, daemon=replace(settings.daemon, http_listen=listen))
    engine = _current_engine(ctx)
    serve_exchange(
        settings, engine, on_ready=lambda url: click.echo(f"serving the 1C exchange at {url}")
    )


@exchange_group.command("sessions")
@click.option("--limit", default=20, show_default=True, help="How many sessions, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def exchange_sessions(ctx: Context, limit: int, as_json: bool) -> None:
    """The recorded exchange sessions: who, when, files and sizes, counts, how each ended."""
    from syncd.exchange.report import format_sessions, list_sessions

    sessions = list_sessions(_current_engine(ctx), limit=limit)
    if as_json:
        click.echo(
            json.dumps([s.as_dict() for s in sessions], ensure_ascii=False, indent=2, default=str)
        )
    else:
        click.echo(format_sessions(sessions))


@main.command("emulate-1c")
@click.option(
    "--url", required=True, help="The exchange URL, e.g. http://127.0.0.1:8081/1c_exchange"
)
@click.option("--user", required=True, help="The login typed into 1C.")
@click.option("--password-stdin", is_flag=True, help=STDIN_SECRET_HELP)
@click.option("--password", envvar="ONEC_SYNC_EMULATOR_PASSWORD", hidden=True)  # or stdin, prompt
@click.option(
    "--zip", "use_zip", is_flag=True, help="Send each XML zipped, if the site accepts zip."
)
@click.option(
    "--chunk-size", type=click.IntRange(min=1), help="Bytes per POST (at most file_limit)."
)
@click.option(
    "--protocol-version",
    help="Play the 1C-Bitrix module: send this version on init, one session, complete at the end.",
)
@click.option("--sale/--no-sale", default=True, show_default=True, help="Run the sale exchange.")
@click.option(
    "--order-updates",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Order-update file to send (default: made from the orders the site sent).",
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
def emulate_1c(
    url: str,
    user: str,
    password_stdin: bool,
    password: str | None,
    use_zip: bool,
    chunk_size: int | None,
    protocol_version: str | None,
    sale: bool,
    order_updates: Path | None,
    paths: tuple[Path, ...],
) -> None:
    """Play 1C's side of the exchange against URL: upload PATHs (files or package folders),
    import them, then the sale exchange. Exits 1 if anything failed. The password comes from
    --password-stdin, else $ONEC_SYNC_EMULATOR_PASSWORD, else a prompt."""
    from syncd.exchange.emulator import Options, emulate

    if password_stdin or password is None:
        password = read_password(password_stdin, "Password", confirm=False)

    options = Options(
        url=url,
        user=user,
        password=password,
        zip=use_zip,
        chunk_size=chunk_size,
        protocol_version=protocol_version,
    )
    report = emulate(options, list(paths), say=click.echo, sale=sale, updates=order_updates)
    if not report.ok:
        sys.exit(1)


def _current_engine(ctx: Context) -> Any:
    """An engine on the database (its schema was checked before the command ran)."""
    from syncd.store.engine import make_engine

    return make_engine(ctx.settings.database)


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
@click.option("--password-stdin", is_flag=True, help=STDIN_SECRET_HELP)
@pass_context
def users_create(ctx: Context, username: str, role: str, password_stdin: bool) -> None:
    """Create USERNAME; asks for the password unless --password-stdin."""
    from storefront import manage
    from storefront.errors import StorefrontError

    password = read_password(password_stdin, "Password", confirm=True)
    try:
        user = manage.create_user(
            ctx.settings.database, username=username, password=password, role=role
        )
    except StorefrontError as exc:
        fail(str(exc))
    click.echo(f"created {user['role']} {user['username']}")


# --- users: list, disable, enable, set-password ------------------------------------------------


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def users_list(ctx: Context, as_json: bool) -> None:
    """List users: name, role, whether they may log in."""
    from storefront import manage

    found = manage.list_users(ctx.settings.database)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    for user in found:
        state = "active" if user["is_active"] else "disabled"
        click.echo(
            f"{user['username']:<24} {user['role']:<8} {state:<8} since {user['created_at']}"
        )


def _change_user(ctx: Context, change: Callable[[], dict[str, Any]], done: str) -> None:
    from storefront.errors import StorefrontError

    try:
        user = change()
    except StorefrontError as exc:
        fail(str(exc))
    click.echo(f"{done} {user['username']}")


@users_group.command("disable")
@click.argument("username")
@pass_context
def users_disable(ctx: Context, username: str) -> None:
    """USERNAME may no longer log in; their sessions end at once (tokens refused)."""
    from storefront import manage

    db = ctx.settings.database
    _change_user(ctx, lambda: manage.set_active(db, username=username, active=False), "disabled")


@users_group.command("enable")
@click.argument("username")
@pass_context
def users_enable(ctx: Context, username: str) -> None:
    """USERNAME may log in again (sessions ended by disabling stay ended)."""
    from storefront import manage

    db = ctx.settings.database
    _change_user(ctx, lambda: manage.set_active(db, username=username, active=True), "enabled")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help=STDIN_SECRET_HELP)
@pass_context
def users_set_password(ctx: Context, username: str, password_stdin: bool) -> None:
    """A new password for USERNAME; their sessions end (they log in again)."""
    from storefront import manage

    password = read_password(password_stdin, "New password", confirm=True)
    db = ctx.settings.database
    change = lambda: manage.set_password(db, username=username, password=password)  # noqa: E731
    _change_user(ctx, change, "new password for")


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
    type=click.Choice(
        [
            "catalog:read",
            "orders:read",
            "orders:write",
            "admin",
            "orders:price-override",
            "customers:bind",
        ]
    ),
    help="Narrow the role's permissions (repeatable); default: all of the role's. "
    "orders:price-override and customers:bind are granted only when named.",
)
@click.option(
    "--price-type",
    default=None,
    help="Price type (Ид or name) the key's orders are priced from; default: [storefront].",
)
@pass_context
def apikeys_create(
    ctx: Context, name: str, role: str, scopes: tuple[str, ...], price_type: str | None
) -> None:
    """Create a key named NAME and print it (once: only its hash is stored)."""
    from storefront import manage
    from storefront.errors import StorefrontError

    try:
        described, key = manage.create_api_key(
            ctx.settings.database,
            name=name,
            role=role,
            scopes=scopes,
            created_by="cli",
            price_type=price_type,
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
    """Revoke the key with PREFIX (the 12 characters after osk_).

    Running API workers refuse the key within storefront.key_cache_seconds (5 s by default),
    with or without Redis; at once when this command can reach the workers' Redis."""
    from storefront import manage
    from storefront.errors import StorefrontError

    try:
        described = manage.revoke_api_key(
            ctx.settings.database, prefix, redis_url=ctx.settings.redis.url
        )
    except StorefrontError as exc:
        fail(str(exc))
    click.echo(f"revoked {described['prefix']} ({described['name']})")


# --- console (the operator console) -------------------------------------------------------------


@main.group("console")
def console_group() -> None:
    """The operator console: a browser page for operators and admins."""


@console_group.command("serve")
@click.option("--listen", help="HOST:PORT to listen on (default: console.listen).")
@pass_context
def console_serve(ctx: Context, listen: str | None) -> None:
    """Serve the console until SIGINT/SIGTERM (log in as a user of `onec-sync users create`)."""
    from console.app import ConsoleConfigError
    from console.serve import serve_console

    engine = _current_engine(ctx)
    try:
        serve_console(
            ctx.settings, engine, listen=listen,
            on_ready=lambda url: click.echo(f"serving the operator console at {url}"),
        )  # fmt: skip
    except ConsoleConfigError as exc:
        fail(str(exc), code=78)
    except ValueError as exc:
        fail(f"--listen / console.listen: {exc}", code=78)
    except OSError as exc:
        fail(f"cannot listen on {listen or ctx.settings.console.listen}: {exc}", code=78)


# --- webhooks: the change feed pushed to the shop ---------------------------------------------

_EVENT_KINDS = ("product", "offer", "price", "stock", "group", "order")


@main.group("webhooks")
def webhooks_group() -> None:
    """Signed webhooks: the daemon POSTs every change event to these URLs, in order."""


@contextmanager
def _webhooks(ctx: Context) -> Iterator[Any]:
    """The database engine for a webhook command; its refusals as one line each (database
    errors are explained at the root, like every command's)."""
    from syncd.daemon.webhooks import WebhookError
    from syncd.store.engine import make_engine

    engine = make_engine(ctx.settings.database)
    try:
        yield engine
    except WebhookError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


@webhooks_group.command("add")
@click.argument("url")
@click.option(
    "--events",
    "kinds",
    multiple=True,
    type=click.Choice(_EVENT_KINDS),
    help="Event kinds to send (repeatable); default: every kind.",
)
@pass_context
def webhooks_add(ctx: Context, url: str, kinds: tuple[str, ...]) -> None:
    """Send change events to URL from now on; prints the signing secret (once)."""
    from syncd.daemon.webhooks import add_endpoint

    with _webhooks(ctx) as engine:
        described, secret = add_endpoint(engine, url, kinds)
    click.echo(secret)
    click.echo(
        f"added webhook {described['id']} -> {described['url']} "
        f"({','.join(described['kinds'])}) from position {described['position']}; "
        "store the secret now, it is not shown again",
        err=True,
    )


@webhooks_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def webhooks_list(ctx: Context, as_json: bool) -> None:
    """Endpoints: state, position, how far behind, failures (never the secrets)."""
    from syncd.daemon.webhooks import list_endpoints

    with _webhooks(ctx) as engine:
        endpoints = list_endpoints(engine)
    if as_json:
        click.echo(json.dumps(endpoints, ensure_ascii=False, indent=2))
        return
    for e in endpoints:
        click.echo(
            f"{e['id']:>4}  {e['state']:<8} at {e['position']} ({e['behind']} behind)  "
            f"{','.join(e['kinds']):<12} {e['url']}"
            + (f"\n      {e['attempts']} failure(s): {e['last_error']}" if e["attempts"] else "")
        )
    if not endpoints:
        click.echo("no webhooks; add one with `onec-sync webhooks add URL`")


@webhooks_group.command("remove")
@click.argument("endpoint_id", type=int)
@pass_context
def webhooks_remove(ctx: Context, endpoint_id: int) -> None:
    """Stop sending to the endpoint ENDPOINT_ID (its events stay in the feed)."""
    from syncd.daemon.webhooks import remove_endpoint

    with _webhooks(ctx) as engine:
        remove_endpoint(engine, endpoint_id)
    click.echo(f"removed webhook {endpoint_id}")


@webhooks_group.command("test")
@click.argument("endpoint_id", type=int)
@pass_context
def webhooks_test(ctx: Context, endpoint_id: int) -> None:
    """POST a signed ping (no events) to ENDPOINT_ID now; exit 1 unless it answers 2xx."""
    from syncd.daemon.webhooks import ping_endpoint

    with _webhooks(ctx) as engine:
        status, reason = ping_endpoint(engine, endpoint_id, ctx.settings.changes)
    if status is None or not 200 <= status < 300:
        fail(f"webhook {endpoint_id} did not accept the ping: {status or ''} {reason}".strip())
    click.echo(f"webhook {endpoint_id} answered {status} {reason}")


@webhooks_group.command("redeliver")
@click.argument("endpoint_id", type=int)
@click.option("--after", type=int, required=True, help="Send every event after this position.")
@pass_context
def webhooks_redeliver(ctx: Context, endpoint_id: int, after: int) -> None:
    """Send ENDPOINT_ID every event after --after again, and try it at once."""
    from syncd.daemon.webhooks import redeliver

    with _webhooks(ctx) as engine:
        redeliver(engine, endpoint_id, after=after)
    click.echo(f"webhook {endpoint_id} gets every event after {after} on its next delivery")


@webhooks_group.command("deliver")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def webhooks_deliver(ctx: Context, as_json: bool) -> None:
    """Deliver what the endpoints have not received, now (as the webhooks job does)."""
    from syncd.daemon import jobs

    _print_report(_run_job(ctx, jobs.webhooks, progress=False), as_json)


if __name__ == "__main__":  # pragma: no cover
    main()
