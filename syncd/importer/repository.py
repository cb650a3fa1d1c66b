"""All SQL of the import: set-based reads and bulk upserts keyed by 1C ``Ид``.

Every method takes whole batches: one statement (or one COPY) per table per batch, never one
round trip per row. Nothing here commits; the caller's unit of work does.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_dumps
from sqlalchemy import (
    String,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from syncd.store import models

Row = dict[str, Any]

# Bound parameters per statement stay well below SQLite's and psycopg's limits.
_ID_CHUNK = 5000

# Planner settings turned off while probing keys (PostgreSQL); see ``CatalogRepository.probing``.
_PROBE_OFF = ("enable_hashjoin", "enable_mergejoin", "enable_seqscan")


def _key_in(column: Any, keys: Sequence[str], dialect: str) -> Any:
    """``column IN keys``: one array parameter on PostgreSQL (cheap to bind and plan)."""
    if dialect == "postgresql":
        return column == any_(bindparam("keys", list(keys), type_=ARRAY(String)))
    return column.in_(keys)


def _rows_for_keys(
    table: Table, key: str, keys: Sequence[str], columns: Sequence[str], dialect: str
) -> Any:
    """``SELECT columns FROM table WHERE key IN keys``, planned as one index probe per key.

    On PostgreSQL the keys are joined as ``unnest(array)``: the planner then probes the key's
    index per key even while an import grows a table faster than its statistics follow (with
    ``= ANY(array)`` it fell back to scanning the growing table for every batch).
    """
    selected = [table.c[c] for c in columns]
    if dialect != "postgresql":
        return select(*selected).where(table.c[key].in_(keys))
    wanted = (
        func.unnest(bindparam("keys", list(keys), type_=ARRAY(String)))
        .table_valued("id")
        .render_derived(name="wanted")
    )
    return select(*selected).select_from(wanted.join(table, table.c[key] == wanted.c.id))


def chunks(items: Sequence[Any], size: int = _ID_CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (bounded IN lists and ANY arrays)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class KeyConflict(Exception):
    """``insert_fresh`` met a key that exists; the argument names the table."""


class CatalogRepository:
    """Bulk reads and writes of the catalog tables for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # --- reads ---------------------------------------------------------------------------

    @contextmanager
    def probing(self) -> Iterator[None]:
        """Key lookups as index probes, whatever the statistics say (PostgreSQL).

        An import grows a table far faster than autovacuum refreshes its statistics, so the
        planner believes a table of 300,000 rows holds 2,000 and joins the keys against a
        sequential scan of it, slower with every batch. A lookup of at most ``_ID_CHUNK`` keys
        is always best done one index probe per key, so for the lookups the other join and
        scan methods are turned off (for this transaction, then back to their settings).
        """
        if self.dialect != "postgresql":
            yield
            return
        for name in _PROBE_OFF:
            self.session.execute(text(f"SET LOCAL {name} = off"))
        try:
            yield
        finally:
            for name in _PROBE_OFF:  # DEFAULT: the server's, database's or role's setting
                self.session.execute(text(f"SET LOCAL {name} TO DEFAULT"))

    def _lookup(
        self, table: Table, key: str, keys: Collection[str], columns: Sequence[str]
    ) -> list[Any]:
        """``columns`` of the rows whose ``key`` is among ``keys``: chunked, as index probes."""
        found: list[Any] = []
        with self.probing():
            for chunk in chunks(list(keys)):
                stmt = _rows_for_keys(table, key, chunk, columns, self.dialect)
                found.extend(self.session.execute(stmt).all())
        return found

    def existing_hashes(self, table: Table, onec_ids: Collection[str]) -> dict[str, str | None]:
        """``onec_id -> content_hash`` of the rows among ``onec_ids`` that exist."""
        rows = self._lookup(table, "onec_id", onec_ids, ("onec_id", "content_hash"))
        return dict(rows)

    def existing_price_hashes(
        self, offer_ids: Collection[str]
    ) -> dict[tuple[str, str], str | None]:
        columns = ("offer_onec_id", "price_type_onec_id", "content_hash")
        rows = self._lookup(models.table(models.Price), "offer_onec_id", offer_ids, columns)
        return {(offer, price_type): digest for offer, price_type, digest in rows}

    def existing_stock(self, offer_ids: Collection[str]) -> dict[tuple[str, str], Decimal]:
        columns = ("offer_onec_id", "warehouse_onec_id", "quantity")
        rows = self._lookup(models.table(models.Stock), "offer_onec_id", offer_ids, columns)
        return {(offer, warehouse): Decimal(quantity) for offer, warehouse, quantity in rows}

    def existing_ids(self, table: Table, onec_ids: Collection[str]) -> set[str]:
        return {key for (key,) in self._lookup(table, "onec_id", onec_ids, ("onec_id",))}

    # --- writes --------------------------------------------------------------------------

    def upsert(
        self, table: Table, rows: Sequence[Row], *, keys: Sequence[str], update: Sequence[str]
    ) -> None:
        """Insert ``rows``; where a key exists, overwrite only the ``update`` columns (none:
        leave the existing row alone)."""
        if not rows:
            return
        if self.dialect == "postgresql":
            self._pg_staged_upsert(table, rows, keys=keys, update=update)
            return
        stmt = sqlite_insert(table)
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        self.session.execute(stmt, list(rows))

    def insert_new(
        self, table: Table, rows: Sequence[Row], *, keys: Sequence[str], update: Sequence[str]
    ) -> None:
        """Insert rows believed new; if another writer added some meanwhile, upsert instead.

        On PostgreSQL this is a COPY straight into the table (the fast path of a first import);
        a unique violation rolls back to a savepoint and takes the upsert path.
        """
        if not rows:
            return
        if self.dialect != "postgresql":
            self.upsert(table, rows, keys=keys, update=update)
            return
        try:
            with self.session.begin_nested():
                self._pg_copy(table, rows)
        except (IntegrityError, psycopg.errors.UniqueViolation):
            self._pg_staged_upsert(table, rows, keys=keys, update=update)

    def insert_fresh(self, table: Table, rows: Sequence[Row]) -> None:
        """COPY rows into a table believed to hold none of their keys (PostgreSQL); raises
        ``KeyConflict`` when one exists, leaving the transaction for the caller to roll back
        to its savepoint."""
        if not rows:
            return
        try:
            self._pg_copy(table, rows)
        except psycopg.errors.UniqueViolation as exc:
            raise KeyConflict(table.name) from exc

    def insert_rows(self, table: Table, rows: Sequence[Row]) -> None:
        """Plain bulk insert (COPY on PostgreSQL); for child rows just deleted."""
        if not rows:
            return
        if self.dialect == "postgresql":
            self._pg_copy(table, rows)
        else:
            self.session.execute(table.insert(), list(rows))

    def insert_missing(self, table: Table, rows: Sequence[Row], *, keys: Sequence[str]) -> None:
        """Insert ``rows`` whose key does not exist yet; leave existing rows untouched."""
        self.upsert(table, rows, keys=keys, update=())

    def replace_children(
        self, table: Table, parent_column: str, parent_ids: Collection[str], rows: Sequence[Row]
    ) -> None:
        """Delete the child rows of ``parent_ids``, then insert ``rows`` (children of those and
        of new parents, which have none to delete)."""
        column = table.c[parent_column]
        for chunk in chunks(list(parent_ids)):
            self.session.execute(delete(table).where(_key_in(column, chunk, self.dialect)))
        self.insert_rows(table, rows)

    # --- PostgreSQL bulk paths -------------------------------------------------------------

    def _pg_copy(self, table: Table, rows: Sequence[Row], *, into: str | None = None) -> None:
        """COPY ``rows`` (dicts with the same keys) into ``table`` (or its twin ``into``).

        In PostgreSQL's binary format when every column's type is known: nothing is escaped on
        this side or parsed as text on the server's (a third less CPU for the rows here).
        """
        columns = list(rows[0])
        types = _binary_copy_types(table, tuple(columns))
        cursor = self._driver_connection().cursor()
        column_list = ", ".join(columns)
        if types is None:
            json_at = [i for i, c in enumerate(columns) if isinstance(rows[0][c], list | dict)]
            with cursor.copy(f'COPY "{into or table.name}" ({column_list}) FROM STDIN') as copy:
                for row in rows:
                    values = list(row.values())
                    for i in json_at:
                        values[i] = _json(values[i])
                    copy.write_row(values)
            return
        set_json_dumps(orjson.dumps, context=cursor)
        statement = f'COPY "{into or table.name}" ({column_list}) FROM STDIN (FORMAT BINARY)'
        with cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(tuple(row.values()))

    def _pg_staged_upsert(
        self, table: Table, rows: Sequence[Row], *, keys: Sequence[str], update: Sequence[str]
    ) -> None:
        """COPY into a temporary twin of ``table``, then one INSERT ... ON CONFLICT from it."""
        columns = list(rows[0])
        stage = f"stage_{table.name}"
        # Identifiers below are our own table and column names, never input.
        create = f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" ON COMMIT DELETE ROWS AS SELECT * FROM "{table.name}" WITH NO DATA'  # noqa: S608
        self.session.execute(text(create))
        self.session.execute(text(f'TRUNCATE "{stage}"'))
        self._pg_copy(table, rows, into=stage)
        column_list = ", ".join(columns)
        action = (
            "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
            if update
            else "DO NOTHING"
        )
        # DISTINCT ON keeps one row per key: ON CONFLICT cannot touch a row twice.
        key_list = ", ".join(keys)
        insert = f'INSERT INTO "{table.name}" ({column_list}) SELECT DISTINCT ON ({key_list}) {column_list} FROM "{stage}" ON CONFLICT ({key_list}) {action}'  # noqa: S608
        self.session.execute(text(insert))

    def _driver_connection(self) -> Any:
        return self.session.connection().connection.driver_connection

    def relax_commit_durability(self) -> None:
        """Let this transaction's commit return before its WAL reaches disk (PostgreSQL).

        Safe for import batches only: data and checkpoint commit together, so a database crash
        that loses the last few commits loses their checkpoints too, and the resumed import
        writes those batches again. A process crash loses nothing.
        """
        if self.dialect == "postgresql":
            self.session.execute(text("SET LOCAL synchronous_commit = off"))

    def add_mentions(self, run_id: int, kind: str, onec_ids: Collection[str]) -> None:
        """Remember that run ``run_id`` mentioned these rows (for hiding what it did not)."""
        rows = [{"run_id": run_id, "kind": kind, "onec_id": i} for i in onec_ids]
        table = models.table(models.PackageMention)
        self.insert_new(table, rows, keys=("run_id", "kind", "onec_id"), update=())

    def hide_unmentioned(
        self, table: Table, run_id: int, kind: str, now: datetime, *, up_to_id: int | None = None
    ) -> list[str]:
        """Soft-delete the visible rows run ``run_id`` did not mention, of those with an id up
        to ``up_to_id`` (the rows that existed when the run began); returns their onec_ids.

        The hidden rows lose their content hash, so that the next package mentioning them writes
        them again (and un-hides them) even when their content did not change.
        """
        mentions = models.table(models.PackageMention)
        mentioned = select(mentions.c.onec_id).where(
            and_(mentions.c.run_id == run_id, mentions.c.kind == kind)
        )
        where: list[ColumnElement[bool]] = [
            table.c.is_deleted.is_(False),
            table.c.onec_id.not_in(mentioned),
        ]
        if up_to_id is not None:
            where.append(table.c.id <= up_to_id)
        stmt = (
            update(table)
            .where(*where)
            .values(is_deleted=True, content_hash=None, updated_at=now)
            .returning(table.c.onec_id)
        )
        return list(self.session.execute(stmt).scalars())

    def count_hidable(
        self, table: Table, run_id: int, kind: str, *, up_to_id: int | None = None
    ) -> tuple[int, int]:
        """(rows ``hide_unmentioned`` would hide, visible rows of ``table``), hiding nothing."""
        mentions = models.table(models.PackageMention)
        mentioned = select(mentions.c.onec_id).where(
            and_(mentions.c.run_id == run_id, mentions.c.kind == kind)
        )
        unmentioned: list[ColumnElement[bool]] = [table.c.onec_id.not_in(mentioned)]
        if up_to_id is not None:
            unmentioned.append(table.c.id <= up_to_id)
        stmt = select(func.count().filter(and_(*unmentioned)), func.count()).where(
            table.c.is_deleted.is_(False)
        )
        would, active = self.session.execute(stmt).one()
        return int(would), int(active)

    def forget_mentions(self, run_id: int) -> None:
        mentions = models.table(models.PackageMention)
        self.session.execute(delete(mentions).where(mentions.c.run_id == run_id))

    def delete_pairs(
        self, table: Table, columns: tuple[str, str], pairs: Collection[tuple[str, str]]
    ) -> None:
        if not pairs:
            return
        key = tuple_(table.c[columns[0]], table.c[columns[1]])
        for chunk in chunks(list(pairs)):
            self.session.execute(delete(table).where(key.in_(chunk)))


# SQLAlchemy's PostgreSQL type names -> psycopg's names for binary COPY.
_COPY_TYPES = (
    ("VARCHAR", "text"),
    ("TEXT", "text"),
    ("NUMERIC", "numeric"),
    ("TIMESTAMP WITH TIME ZONE", "timestamptz"),
    ("JSONB", "jsonb"),
    ("BOOLEAN", "bool"),
    ("BIGINT", "int8"),
    ("INTEGER", "int4"),
)


_PG_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]


@functools.cache
def _binary_copy_types(table: Table, columns: tuple[str, ...]) -> list[str] | None:
    """psycopg type names for a binary COPY of ``columns``; None if one has no known name."""
    names = []
    for column in columns:
        compiled = table.c[column].type.compile(dialect=_PG_DIALECT).upper()
        name = next((n for prefix, n in _COPY_TYPES if compiled.startswith(prefix)), None)
        if name is None:
            return None
        names.append(name)
    return names


def _json(value: Any) -> str:
    """COPY takes JSON columns as JSON text; psycopg adapts everything else itself."""
    return orjson.dumps(value).decode()


def rows_by_key(rows: Iterable[Row], key: str) -> Mapping[str, Row]:
    """Rows de-duplicated by ``key``, the last one winning (a file may repeat an element)."""
    return {row[key]: row for row in rows}
