"""Backups and restores of the whole database, each with a manifest that says what it holds.

A backup is two files in the backup folder: the data (``onec-sync-<UTC time>.pgdump``, pg_dump's
custom format, or ``.sqlite``, a copy made with SQLite's online backup API) and
``<same name>.manifest.json`` (time, dialect, size, SHA-256, schema revision, audit head). Both
are written under a temporary name, fsync'ed and renamed: a backup exists once its manifest
does, and a crash leaves only ``.partial`` files. The manifest's revision and audit head are
read in the very snapshot the data comes from (PostgreSQL: ``pg_dump --snapshot`` of an exported
snapshot; SQLite: one read transaction), so they describe exactly what was saved, however busy
the daemon is meanwhile.

``restore`` refuses a file whose checksum does not match its manifest, a revision this code does
not know, another dialect, and (unless told) a database that already holds tables.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from config import BackupSettings, DatabaseSettings
from syncd.store import migrate
from syncd.store.engine import make_engine

MANIFEST_SUFFIX = ".manifest.json"
_PREFIX = "onec-sync-"
_CHUNK = 1024 * 1024

Query = Callable[[str], list[tuple[Any, ...]]]
"""Runs one SQL statement in the backup's snapshot and returns its rows (for ``on_snapshot``)."""


class BackupError(Exception):
    """A backup or restore that cannot go on; the message names the problem and the fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    created_at: str  # ISO 8601 UTC: the moment of the snapshot
    dialect: str  # postgresql | sqlite
    file: str  # the data file's name, next to the manifest
    size: int  # bytes
    sha256: str
    schema_revision: str | None
    audit_head_id: int | None
    audit_head_hash: str | None


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    manifest_path: Path
    manifest: Manifest


def take_backup(
    settings: DatabaseSettings,
    directory: Path,
    *,
    on_snapshot: Callable[[Query], None] | None = None,
) -> Backup:
    """Back up the database into ``directory`` (created if missing); safe while the daemon runs.

    ``on_snapshot`` is called with a query function inside the snapshot being saved.
    """
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup folder {directory}: {exc.strerror}") from exc
    moment = datetime.now(UTC)
    stem = _PREFIX + moment.strftime("%Y%m%dT%H%M%S%fZ")
    url = make_url(settings.url)
    dialect = url.get_backend_name()
    path = directory / (stem + (".sqlite" if dialect == "sqlite" else ".pgdump"))
    partial = path.with_name(path.name + ".partial")
    try:
        if dialect == "sqlite":
            revision, head = _sqlite_backup(url, partial, on_snapshot)
        else:
            revision, head = _pg_backup(settings, url, partial, on_snapshot)
        partial.chmod(0o600)  # every row, password hashes included: for the operator only
        digest, size = _sha256(partial)
        _fsync(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = Manifest(
        created_at=moment.isoformat(timespec="microseconds"), dialect=dialect, file=path.name,
        size=size, sha256=digest, schema_revision=revision,
        audit_head_id=head[0] if head else None, audit_head_hash=head[1] if head else None,
    )  # fmt: skip
    manifest_path = directory / (stem + MANIFEST_SUFFIX)
    _write_atomically(manifest_path, json.dumps(asdict(manifest), indent=2) + "\n")
    _fsync(directory)
    return Backup(path, manifest_path, manifest)


_REVISION_SQL = "SELECT version_num FROM alembic_version"
_HEAD_SQL = "SELECT id, entry_hash FROM audit_log ORDER BY id DESC LIMIT 1"


def _pg_backup(
    settings: DatabaseSettings, url: URL, target: Path, on_snapshot: Callable[[Query], None] | None
) -> tuple[str | None, tuple[int, str] | None]:
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                revision, head = _describe(lambda sql: _rows(conn, sql))
                if on_snapshot is not None:
                    on_snapshot(lambda sql: _rows(conn, sql))
                _run_pg_tool(
                    url,
                    ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                )
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    return revision, head


def _sqlite_backup(
    url: URL, target: Path, on_snapshot: Callable[[Query], None] | None
) -> tuple[str | None, tuple[int, str] | None]:
    source = _sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute("BEGIN")  # one read transaction: what is read and what is copied agree
        query: Query = lambda sql: src.execute(sql).fetchall()  # noqa: E731
        revision, head = _describe(query)
        if on_snapshot is not None:
            on_snapshot(query)
        src.backup(dst)
        src.execute("COMMIT")
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from exc
    finally:
        dst.close()
        src.close()
    return revision, head


def _describe(query: Query) -> tuple[str | None, tuple[int, str] | None]:
    revisions = query(_REVISION_SQL)
    heads = query(_HEAD_SQL)
    revision = str(revisions[0][0]) if revisions else None
    return revision, ((int(heads[0][0]), str(heads[0][1])) if heads else None)


def _rows(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(text(sql))]


# --- restore ---------------------------------------------------------------------------------


def read_manifest(file: Path) -> tuple[Path, Manifest]:
    """The data file and its manifest, given either of the two."""
    manifest_path = file if file.name.endswith(MANIFEST_SUFFIX) else _manifest_of(file)
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest = Manifest(**raw)
    except FileNotFoundError as exc:
        raise BackupError(
            f"no manifest {manifest_path.name} next to {file.name}: only backups made by "
            "`onec-sync backup` can be restored"
        ) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{manifest_path}: not a backup manifest ({exc})") from exc
    if not isinstance(manifest.file, str) or Path(manifest.file).name != manifest.file:
        raise BackupError(f"{manifest_path}: the manifest must name a file beside it")
    return manifest_path.parent / manifest.file, manifest


def restore(settings: DatabaseSettings, file: Path, *, force: bool = False) -> Manifest:
    """Restore the backup ``file`` into the (empty) database of ``settings``.

    Checks the checksum and the schema revision first; a database that already has tables is
    refused unless ``force`` (its tables are then replaced). Nothing is written before the
    checks pass; on PostgreSQL the restore is one transaction.
    """
    data, manifest = read_manifest(file)
    _check_file(data, manifest)
    known = migrate.known_revisions()
    if manifest.schema_revision not in known:
        raise BackupError(
            f"the backup is at schema revision {manifest.schema_revision}, which this onec-sync "
            f"does not know ({', '.join(sorted(known))}): restore it with the version that made it"
        )
    url = make_url(settings.url)
    if url.get_backend_name() != manifest.dialect:
        raise BackupError(
            f"the backup is of a {manifest.dialect} database; database.url is "
            f"{url.get_backend_name()}"
        )
    tables = _table_count(settings)
    if tables and not force:
        raise BackupError(
            f"the target database is not empty ({tables} tables): restore into a new, empty "
            "database, or pass --force to replace its contents"
        )
    if manifest.dialect == "sqlite":
        _sqlite_restore(data, _sqlite_path(url))
    else:
        args = ["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction"]
        if tables:
            args += ["--clean", "--if-exists"]
        _run_pg_tool(url, [*args, str(data)], dbname_flag=True)
    _check_restored(settings, manifest)
    return manifest


def _check_restored(settings: DatabaseSettings, manifest: Manifest) -> None:
    """The restored database must say what the manifest says (revision and audit head)."""
    small: dict[str, Any] = {} if settings.is_sqlite else {"pool_size": 1, "max_overflow": 0}
    engine = make_engine(settings, **small)
    try:
        with engine.connect() as conn:
            revision, head = _describe(lambda sql: _rows(conn, sql))
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the restored database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    expected = (
        (manifest.audit_head_id, manifest.audit_head_hash) if manifest.audit_head_id else None
    )
    if revision != manifest.schema_revision or head != expected:
        raise BackupError(
            f"the restored database does not match the manifest (revision {revision}, audit "
            f"head {head[0] if head else None}; expected {manifest.schema_revision}, "
            f"{manifest.audit_head_id}): restore it again into an empty database"
        )


def _check_file(data: Path, manifest: Manifest) -> None:
    try:
        digest, size = _sha256(data)
    except OSError as exc:
        raise BackupError(f"cannot read the backup {data}: {exc.strerror}") from exc
    if digest != manifest.sha256 or size != manifest.size:
        raise BackupError(
            f"{data.name} does not match its manifest (SHA-256 {digest[:12]}…, {size} bytes; "
            f"expected {manifest.sha256[:12]}…, {manifest.size} bytes): the file is damaged"
        )


def _table_count(settings: DatabaseSettings) -> int:
    engine = make_engine(settings, pool_size=1, max_overflow=0) if not settings.is_sqlite else None
    try:
        if engine is None:
            path = _sqlite_path(make_url(settings.url))
            if not path.exists():
                return 0
            with contextlib.closing(sqlite3.connect(path)) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()
                return int(row[0])
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = current_schema()"
                    )
                ).scalar_one()
            )
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise BackupError(f"cannot open the target database: {_first_line(exc)}") from exc
    finally:
        if engine is not None:
            engine.dispose()


def _sqlite_restore(data: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot restore into {target}: {exc}") from exc
    finally:
        dst.close()
        src.close()


# --- rotation --------------------------------------------------------------------------------


def list_backups(directory: Path) -> list[tuple[Path, Manifest]]:
    """The complete backups in ``directory`` (those with a readable manifest), newest first."""
    found = []
    for manifest_path in directory.glob(_PREFIX + "*" + MANIFEST_SUFFIX):
        with contextlib.suppress(BackupError):
            found.append((manifest_path, read_manifest(manifest_path)[1]))
    return sorted(found, key=lambda item: item[1].created_at, reverse=True)


def rotate(settings: BackupSettings, *, now: datetime | None = None) -> list[Path]:
    """Remove backups beyond the ``keep_count`` newest that are older than ``keep_days``
    (``keep_days`` 0: every one beyond the count). Returns the data files removed."""
    if not settings.dir.is_dir():
        return []
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.keep_days)
    removed = []
    for manifest_path, manifest in list_backups(settings.dir)[settings.keep_count :]:
        if settings.keep_days and datetime.fromisoformat(manifest.created_at) > cutoff:
            continue
        data = manifest_path.parent / manifest.file
        data.unlink(missing_ok=True)
        manifest_path.unlink(missing_ok=True)
        removed.append(data)
    return removed


# --- helpers ---------------------------------------------------------------------------------


def _run_pg_tool(url: URL, args: list[str], *, dbname_flag: bool = False) -> None:
    """Run pg_dump/pg_restore against ``url``; the password goes through the environment."""
    if shutil.which(args[0]) is None:
        raise BackupError(
            f"{args[0]} not found: install the PostgreSQL client of the server's major version "
            "(Debian: postgresql-client)"
        )
    conninfo = url.set(drivername="postgresql", password=None).render_as_string()
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    target = [f"--dbname={conninfo}"] if dbname_flag else [conninfo]
    completed = subprocess.run(
        [*args, *target], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        message = (completed.stderr.strip().splitlines() or ["no message"])[0]
        raise BackupError(f"{args[0]} failed: {message}")


def _sqlite_path(url: URL) -> Path:
    return Path(url.database or "").expanduser()


def _manifest_of(data: Path) -> Path:
    return data.with_name(data.name.rsplit(".", 1)[0] + MANIFEST_SUFFIX)


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _write_atomically(path: Path, content: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
