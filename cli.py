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
    from syncd.store import migrate
    from syncd.store.engine import make_engine

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


# --- import, runs, audit ---------------------------------------------------------------------


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
@click.option("--actor", help="Who to record in the audit log (default: $USER).")
@pass_context
def import_command(ctx: Context, paths: tuple[Path, ...], as_json: bool, actor: str | None) -> None:
    """Import a CommerceML package: XML files, a folder, or 1C's zip archives.

    Interrupted imports of the same files resume where they stopped. Exit status 0 when every
    file was imported (or nothing changed), 1 when a file was rejected, 2 on other errors.
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
        ):
            result = import_files(
                engine,
                files,
                settings,
                actor=who,
                source=", ".join(map(str, paths)),
                on_progress=progress,
            )
    except InputError as exc:
        fail(str(exc), code=2)
    if as_json:
        click.echo(json.dumps(_run_json(result), ensure_ascii=False, indent=2))
    else:
        click.echo(_run_summary(result))
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


@main.command("runs")
@click.option("--limit", default=20, show_default=True)
@click.option("--stream", help="Only this stream (commerceml, odata:products, ...).")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def runs_command(ctx: Context, limit: int, stream: str | None, as_json: bool) -> None:
    """The latest sync runs, newest first."""
    from sqlalchemy.orm import Session

    from syncd.store.engine import make_engine
    from syncd.store.history import recent_runs

    with Session(make_engine(ctx.settings.database)) as session:
        runs = recent_runs(session, limit=limit, stream=stream)
    if as_json:
        click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        return
    for run in runs:
        counts = " ".join(f"{k}={v}" for k, v in run["counts"].items() if v)
        click.echo(
            f"{run['started_at'][:19]}  {run['stream']:<16} {run['status']:<11} "
            f"{counts or '-'}  {run['run_uuid']}" + (f"  {run['error']}" if run["error"] else "")
        )


@main.group("audit", invoke_without_command=True)
@click.option("--limit", default=50, show_default=True)
@click.option("--action", help="Only entries of this action (import.run, import.file, ...).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_group(ctx: click.Context, limit: int, action: str | None, as_json: bool) -> None:
    """The audit log, newest first; `audit verify` checks its hash chain."""
    if ctx.invoked_subcommand is not None:
        return
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
@pass_context
def audit_verify(ctx: Context) -> None:
    """Check the audit log's hash chain; exit 1 at the first entry that does not fit."""
    from sqlalchemy.orm import Session

    from syncd.store import audit
    from syncd.store.engine import make_engine

    with Session(make_engine(ctx.settings.database)) as session:
        result = audit.verify(session)
    if result.ok:
        click.echo(f"audit log intact: {result.checked} entries verified")
        return
    fail(
        f"audit log tampered with at entry {result.broken_at}: {result.reason} "
        f"({result.checked} entries before it verified)"
    )


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
    from sqlalchemy.exc import SQLAlchemyError

    from syncd.daemon.status import collect_status, format_status
    from syncd.store.engine import make_engine

    try:
        status = collect_status(make_engine(ctx.settings.database))
    except SQLAlchemyError as exc:
        fail(f"the database {mask_url(ctx.settings.database.url)} cannot be read: {exc}", code=2)
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
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def exchange_hash_password(from_stdin: bool) -> None:
    """Print the argon2 hash of 1C's exchange password, for exchange.password_hash."""
    from syncd.exchange.auth import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("1C exchange password", hide_input=True, confirmation_prompt=True)
    if not password:
        fail("an empty password cannot be used")
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
@click.option(
    "--password",
    envvar="ONEC_SYNC_EMULATOR_PASSWORD",
    prompt=True,
    hide_input=True,
    help="The password (or $ONEC_SYNC_EMULATOR_PASSWORD).",
)
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
    password: str,
    use_zip: bool,
    chunk_size: int | None,
    protocol_version: str | None,
    sale: bool,
    order_updates: Path | None,
    paths: tuple[Path, ...],
) -> None:
    """Play 1C's side of the exchange against URL: upload PATHs (files or package folders),
    import them, then the sale exchange. Exits 1 if anything failed."""
    from syncd.exchange.emulator import Options, emulate

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
    """An engine on a database at the newest schema revision (else a clear error)."""
    from syncd.store import migrate
    from syncd.store.engine import make_engine

    engine = make_engine(ctx.settings.database)
    if not migrate.is_current(engine):
        fail(
            f"the database {mask_url(ctx.settings.database.url)} is not at the newest schema; "
            "run `onec-sync db upgrade`"
        )
    return engine


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
