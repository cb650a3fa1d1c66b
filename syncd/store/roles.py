"""Least-privilege PostgreSQL roles: an owner that migrates, a runtime role that does the rest.

The owner role owns the schema (tables, sequences, the audit trigger function) and is the one
``onec-sync db upgrade`` connects as. The runtime role is what the daemon, the API and every
other command use: it may SELECT, INSERT, UPDATE and DELETE the tables it writes, only INSERT
and SELECT ``audit_log``, only SELECT ``alembic_version``, and use the sequences and temporary
tables (the importer's COPY staging). It owns nothing, so PostgreSQL refuses it TRUNCATE, DDL
(ALTER, DROP, CREATE in the schema) and trigger control (``ALTER TABLE … DISABLE TRIGGER``
needs ownership). ``roles_sql`` writes the statements; ``create_roles`` runs them as one
transaction (connect as a superuser or the database's owner).
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_APPEND_ONLY = ("audit_log",)
_READ_ONLY = ("alembic_version",)


class RoleError(Exception):
    """A role name that is not a plain lower-case identifier, or a database that is not ready."""


def roles_sql(conn: Connection, *, owner: str, runtime: str) -> list[str]:
    """The statements that create (if missing) and entitle both roles in the connected database.

    The schema must be migrated (``db upgrade``) first: existing tables are handed to ``owner``.
    """
    for name in (owner, runtime):
        if not NAME.match(name):
            raise RoleError(
                f"role name {name!r}: use lower-case letters, digits and _ (at most 63)"
            )
    if owner == runtime:
        raise RoleError("the owner and the runtime role must be two different roles")
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    tables = list(
        conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
            {"s": schema},
        ).scalars()
    )
    if "alembic_version" not in tables:
        raise RoleError("the database has no onec-sync schema: run `onec-sync db upgrade` first")
    functions = list(
        conn.execute(
            text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = :s ORDER BY p.proname"
            ),
            {"s": schema},
        ).scalars()
    )
    statements = [*_create(owner), *_create(runtime)]
    statements += [
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{owner}", "{runtime}"',
        f'REVOKE CREATE ON SCHEMA "{schema}" FROM PUBLIC',
        f'GRANT USAGE, CREATE ON SCHEMA "{schema}" TO "{owner}"',
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{runtime}"',
    ]
    statements += [f'ALTER TABLE "{schema}"."{t}" OWNER TO "{owner}"' for t in tables]
    statements += [f'ALTER FUNCTION "{schema}"."{f}"() OWNER TO "{owner}"' for f in functions]
    statements += [f'REVOKE ALL ON "{schema}"."{t}" FROM "{runtime}"' for t in tables]
    for table in tables:
        statements.append(f'GRANT {_grants(table)} ON "{schema}"."{table}" TO "{runtime}"')
    statements += [
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{runtime}"',
        # tables a later migration creates: the owner creates them, the runtime role may use them
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{schema}" '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{runtime}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{schema}" '
        f'GRANT USAGE, SELECT ON SEQUENCES TO "{runtime}"',
    ]
    return statements


def create_roles(engine: Engine, *, owner: str, runtime: str) -> list[str]:
    """Run ``roles_sql`` in one transaction; returns the statements run."""
    with engine.begin() as conn:
        statements = roles_sql(conn, owner=owner, runtime=runtime)
        for statement in statements:
            conn.execute(text(statement))
    return statements


def _grants(table: str) -> str:
    if table in _APPEND_ONLY:
        return "SELECT, INSERT"
    if table in _READ_ONLY:
        return "SELECT"
    return "SELECT, INSERT, UPDATE, DELETE"


def _create(role: str) -> list[str]:
    # LOGIN without a password: set one (ALTER ROLE … PASSWORD) or use peer/certificate auth.
    return [
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f'CREATE ROLE "{role}" LOGIN; END IF; END $$'
    ]
