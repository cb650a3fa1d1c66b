"""What is wrong with the database, in one line an operator can act on.

The command line translates every database error here, once, at its boundary: the message names
the problem and the command that fixes it, and ``status`` is a sysexits code (README "Exit
status"): 69 a server is unreachable, 77 the database refused the credentials, 78 the
configuration or the schema must be fixed first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from syncd.store import migrate

EX_UNAVAILABLE = 69
EX_NOPERM = 77
EX_CONFIG = 78


@dataclass(frozen=True, slots=True)
class Problem:
    """One line to print and the exit status that goes with it."""

    message: str
    status: int


def missing_file(url: str) -> Problem | None:
    """A SQLite database whose file does not exist (checked without creating it)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if Path(database).expanduser().exists():
        return None
    return Problem(
        f"the database {database} does not exist: run `onec-sync db upgrade` to create it, "
        "or correct database.url (ONEC_SYNC_DATABASE_URL)",
        EX_CONFIG,
    )


def schema_problem(engine: Engine) -> Problem | None:
    """``None`` when the database is at the schema this code expects; raises ``SQLAlchemyError``
    when it cannot be reached (explain that with ``explain``)."""
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current == head:
        return None
    where = _where(engine)
    if current is None:
        return Problem(f"{where} has no schema yet: run `onec-sync db upgrade`", EX_CONFIG)
    if migrate.is_known(current):
        return Problem(
            f"{where} is at schema revision {current}, this onec-sync needs {head}: "
            "run `onec-sync db upgrade`",
            EX_CONFIG,
        )
    return Problem(
        f"{where} is at schema revision {current}, which this onec-sync does not know "
        "(a newer onec-sync migrated it): run that version, or point database.url elsewhere",
        EX_CONFIG,
    )


def explain(exc: SQLAlchemyError, engine: Engine) -> Problem:
    """The operator's view of a database error raised while using ``engine``."""
    text = str(getattr(exc, "orig", None) or exc)
    where = _where(engine)
    url = make_url(engine.url)
    if m := re.search(r'database "([^"]+)" does not exist', text):
        return Problem(
            f"the database {m.group(1)!r} does not exist on {url.host or 'localhost'}:"
            f"{url.port or 5432}: create it "
            f"(`createdb -h {url.host or 'localhost'} -O {url.username or 'onec_sync'} "
            f"{m.group(1)}`), then run `onec-sync db upgrade`",
            EX_CONFIG,
        )
    if re.search(r'password authentication failed|role "[^"]+" does not exist|no password', text):
        return Problem(
            f"{where} refused the login of {url.username or 'the current user'!r}: check the "
            "user and password in database.url (ONEC_SYNC_DATABASE_URL), or create the role",
            EX_NOPERM,
        )
    if re.search(r"Connection refused|could not connect|failed to resolve host|timeout", text):
        return Problem(
            f"cannot reach the database server of {where}: start PostgreSQL or correct "
            "database.url (ONEC_SYNC_DATABASE_URL)",
            EX_UNAVAILABLE,
        )
    if url.get_backend_name() == "sqlite" and "unable to open database file" in text:
        return Problem(
            f"{where} cannot be opened: check that its folder exists and is writable",
            EX_CONFIG,
        )
    try:
        found = schema_problem(engine)
    except SQLAlchemyError:
        found = None
    if found is not None:
        return found
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return Problem(f"{where}: {first_line}", EX_UNAVAILABLE)


def _where(engine: Engine) -> str:
    url = make_url(engine.url)
    if url.get_backend_name() == "sqlite":
        return f"the database {url.database or ':memory:'}"
    return f"the database {url.database} on {url.host or 'localhost'}:{url.port or 5432}"
