"""Schema migrations (Alembic) driven from code: ``onec-sync db upgrade|current|downgrade``.

Every command checks the schema revision before it starts (``current_revision`` against
``head_revision``), so those two read Alembic's version table and the migration files' own
``revision``/``down_revision`` lines without loading Alembic: its modules and the migration
scripts would otherwise stay in the memory of every process, and an import's forked lane would
start with a copy of them. Alembic is loaded by the commands that migrate.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
_VERSIONS = text("SELECT version_num FROM alembic_version")
_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:[\"']([^\"']+)[\"']|None)", re.MULTILINE
)


def make_alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is already there."""
    from alembic import command

    cfg = make_alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = make_alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision Alembic's version table names; ``None`` before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        versions = list(connection.execute(_VERSIONS).scalars())
    if len(versions) > 1:  # the chain is linear: Alembic would refuse this table too
        raise RuntimeError(f"{VERSION_TABLE} names several heads: {', '.join(versions)}")
    return versions[0] if versions else None


@functools.cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision, every ``down_revision``) of this code's migrations, read from the files
    (``tests/store`` checks the head is Alembic's)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else parents).add(value)
    return frozenset(revisions), frozenset(parents)


def head_revision() -> str | None:
    """The newest revision of this code's migrations: the one no other names as its
    ``down_revision``."""
    revisions, parents = _revisions()
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {', '.join(sorted(heads))}")
    return next(iter(heads), None)


def known_revisions() -> set[str]:
    """Every revision this code's migrations know (a backup at another cannot be restored)."""
    return set(_revisions()[0])


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration this code knows."""
    return current_revision(engine) == head_revision()


def is_known(revision: str) -> bool:
    """True when ``revision`` is one of this code's migrations (older or the newest)."""
    return revision in known_revisions()
