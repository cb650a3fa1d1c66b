"""Undo for a full package: a package that fails leaves the catalog as it was before it.

A full package is written batch by batch as its files are read, each batch committed with its
checkpoint, so the package is read once instead of twice (once to check it, once to write it).
What makes a failure harmless is this module:

* ``RunMarks``: when the run begins, the highest id of every catalog table. Rows with a higher
  id were inserted by the run (catalog writers hold ``CATALOG_LOCK``: there is no other writer);
  rows at or below it existed before.
* ``UndoJournal``: before the run first updates or deletes a row that existed before, the row
  is copied, in the batch's own transaction, into ``run_undo`` (once per row: the first image
  wins). Inserts cost nothing, so a first import journals nothing.
* ``restore``: in one transaction, delete what the run inserted and put every journaled row back.
  A finished run's journal is dropped (``forget``).

The marks also bound hiding: only rows that existed before the run can be unmentioned by it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import DateTime, Numeric, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import bindparam

from syncd.importer.repository import chunks
from syncd.store import models

# Tables with a surrogate id that catalog writes touch; product children have none and are
# journaled with their product.
ID_TABLES: tuple[type[models.Base], ...] = (
    models.Unit,
    models.Group,
    models.Property,
    models.PropertyOption,
    models.PriceType,
    models.Warehouse,
    models.Product,
    models.Offer,
    models.Price,
    models.Stock,
    models.Customer,
)
PRODUCT_CHILDREN: tuple[type[models.Base], ...] = (
    models.ProductGroup,
    models.ProductImage,
    models.ProductPropertyValue,
)


@dataclass(frozen=True)
class RunMarks:
    """What existed when a run began; stored in ``sync_runs.marks``."""

    ids: dict[str, int] = field(default_factory=dict)
    journal: bool = False

    def mark(self, table: Table) -> int:
        return self.ids.get(table.name, 0)

    def as_dict(self) -> dict[str, Any]:
        return {"ids": dict(self.ids), "journal": self.journal}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunMarks | None:
        """None for a run that began before marks existed."""
        if not data or "ids" not in data:
            return None
        return cls({k: int(v) for k, v in data["ids"].items()}, bool(data.get("journal")))

    @classmethod
    def take(cls, session: Session) -> RunMarks:
        ids = {}
        for model in ID_TABLES:
            table = models.table(model)
            ids[table.name] = int(session.execute(select(func.max(table.c.id))).scalar() or 0)
        return cls(ids)


class UndoJournal:
    """Copies rows that existed before the run into ``run_undo`` before they change."""

    def __init__(self, session: Session, run_id: int, marks: RunMarks) -> None:
        self.session = session
        self.run_id = run_id
        self.marks = marks
        self.dialect = session.get_bind().dialect.name

    def save(self, table: Table, key: str, keys: Collection[str]) -> None:
        """Journal the rows of ``table`` whose ``key`` column is among ``keys``."""
        if not keys:
            return
        mark = self.marks.mark(table)
        if mark == 0:
            return  # the table was empty: whatever is in it now, the run inserted
        for chunk in chunks(list(keys)):
            stmt = select(table).where(table.c[key].in_(chunk), table.c.id <= mark)
            rows = self.session.execute(stmt).mappings().all()
            self._store(table.name, ((str(row["id"]), dict(row)) for row in rows))

    def save_products(self, onec_ids: Collection[str]) -> None:
        """Journal products with their child rows (images, groups, property values), which an
        update of a product replaces; children are journaled only with the product's first image,
        before the run replaced any of them."""
        products = models.table(models.Product)
        mark = self.marks.mark(products)
        if not onec_ids or mark == 0:
            return
        undo = models.table(models.RunUndo)
        for chunk in chunks(list(onec_ids)):
            rows = (
                self.session.execute(
                    select(products).where(products.c.onec_id.in_(chunk), products.c.id <= mark)
                )
                .mappings()
                .all()
            )
            if not rows:
                continue
            saved = set(
                self.session.execute(
                    select(undo.c.row_key).where(
                        undo.c.run_id == self.run_id,
                        undo.c.table_name == products.name,
                        undo.c.row_key.in_([str(r["id"]) for r in rows]),
                    )
                ).scalars()
            )
            fresh = [dict(r) for r in rows if str(r["id"]) not in saved]
            if not fresh:
                continue
            self._store(products.name, ((str(r["id"]), r) for r in fresh))
            owners = [r["onec_id"] for r in fresh]
            for model in PRODUCT_CHILDREN:
                child = models.table(model)
                found = self.session.execute(
                    select(child).where(child.c.product_onec_id.in_(owners))
                ).mappings()
                self._store(child.name, ((_pk_key(child, r), dict(r)) for r in found))

    def _store(self, table_name: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        values = [
            {
                "run_id": self.run_id,
                "table_name": table_name,
                "row_key": key,
                "image": {c: _encode(v) for c, v in row.items()},
            }
            for key, row in rows
        ]
        if not values:
            return
        table = models.table(models.RunUndo)
        insert = pg_insert(table) if self.dialect == "postgresql" else sqlite_insert(table)
        stmt = insert.on_conflict_do_nothing(index_elements=["run_id", "table_name", "row_key"])
        self.session.execute(stmt, values)


def restore(session: Session, run_id: int, marks: RunMarks) -> int:
    """Put the catalog back as it was when the run began; returns how many rows changed.

    Runs in the caller's transaction: all of it happens, or none.
    """
    undo = models.table(models.RunUndo)
    products = models.table(models.Product)
    changed = 0
    images: dict[str, list[dict[str, Any]]] = {}
    for table_name, image in session.execute(
        select(undo.c.table_name, undo.c.image).where(undo.c.run_id == run_id).order_by(undo.c.id)
    ):
        images.setdefault(table_name, []).append(image)
    # Children of products the run inserted, and of journaled products: their rows now are the
    # run's, the journal holds the ones from before.
    journaled_products = [i["onec_id"] for i in images.get(products.name, [])]
    inserted_products = select(products.c.onec_id).where(products.c.id > marks.mark(products))
    for model in PRODUCT_CHILDREN:
        child = models.table(model)
        owner = child.c.product_onec_id
        changed += _rowcount(session.execute(delete(child).where(owner.in_(inserted_products))))
        for chunk in chunks(journaled_products):
            session.execute(delete(child).where(owner.in_(chunk)))
    for model in ID_TABLES:
        table = models.table(model)
        inserted = delete(table).where(table.c.id > marks.mark(table))
        changed += _rowcount(session.execute(inserted))
        rows = [_decode(table, image) for image in images.get(table.name, [])]
        if rows:
            columns = [c for c in rows[0] if c != "id"]
            stmt = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({c: bindparam(f"_{c}") for c in columns})
            )
            params = [{f"_{k}": v for k, v in row.items()} for row in rows]
            session.connection().execute(stmt, params)
            changed += len(rows)
    for model in PRODUCT_CHILDREN:
        child = models.table(model)
        rows = [_decode(child, image) for image in images.get(child.name, [])]
        if rows:
            session.execute(child.insert(), rows)
    forget(session, run_id)
    return changed


def forget(session: Session, run_id: int) -> None:
    undo = models.table(models.RunUndo)
    session.execute(delete(undo).where(undo.c.run_id == run_id))


def _encode(value: Any) -> Any:
    """A column value as JSON: datetimes and decimals as strings (decoded by column type)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode(table: Table, image: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for name, value in image.items():
        column_type = table.c[name].type
        if value is not None and isinstance(column_type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(column_type, Numeric):
            value = Decimal(value)
        row[name] = value
    return row


def _pk_key(table: Table, row: Any) -> str:
    return orjson.dumps([row[c.name] for c in table.primary_key.columns]).decode()


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
