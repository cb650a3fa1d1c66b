"""Records -> rows: one batch of catalog records written with a few set-based statements.

``CatalogWriter.write(records)`` is the single write path for every source (CommerceML files,
the HTTP exchange, OData pages). Per batch and table it reads the stored content hashes of the
batch's keys, then upserts only the new and changed rows; unchanged rows are not touched (their
``updated_at`` stays). It never commits: the caller's transaction does, together with its
checkpoint.

Unless ``WriteOptions.change_log`` is off, each batch also appends its change events (one per
product, offer, group, or offer's prices or stock that it inserted, changed or deleted; see
``syncd.store.changes``) with one COPY or INSERT (a run that may be undone stages them as one
row), in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Table, event
from sqlalchemy.orm import Session

from exchange_formats import records as r
from syncd.importer.hashing import record_hash
from syncd.importer.repository import CatalogRepository, KeyConflict, Row
from syncd.importer.undo import RunMarks, UndoJournal
from syncd.store import changes, models
from syncd.store.events import CatalogNotifier

MAX_ONEC_ID = models.ONEC_ID_LENGTH
MAX_PROBLEMS = 20
OUTCOMES = ("inserted", "updated", "unchanged", "deleted", "hidden", "rejected")
_WRITES = ("inserted", "updated", "deleted", "hidden")

T = TypeVar("T")


@dataclass
class Counts:
    """What a batch, file or run did. ``deleted``: rows 1C marked deleted (soft); ``hidden``: rows
    a full package did not mention; ``rejected``: records refused (``problems`` says why);
    ``warnings``: records written as 1C sent them although a shop may want to look (a price on
    request: no value, only its presentation); ``notes`` says which."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    hidden: int = 0
    rejected: int = 0
    by_table: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, table: str, outcome: str, n: int = 1) -> None:
        if n <= 0:
            return
        setattr(self, outcome, getattr(self, outcome) + n)
        per_table = self.by_table.setdefault(table, {})
        per_table[outcome] = per_table.get(outcome, 0) + n

    def merge(self, other: Counts) -> None:
        for table, outcomes in other.by_table.items():
            for outcome, n in outcomes.items():
                self.add(table, outcome, n)
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(other.problems[: max(room, 0)])
        self.warnings += other.warnings
        room = MAX_PROBLEMS - len(self.notes)
        self.notes.extend(other.notes[: max(room, 0)])

    def warn(self, message: str) -> None:
        self.warnings += 1
        if len(self.notes) < MAX_PROBLEMS:
            self.notes.append(message)

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted + self.hidden

    @property
    def records(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.deleted + self.rejected

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in OUTCOMES}
        out["by_table"] = {t: dict(sorted(o.items())) for t, o in sorted(self.by_table.items())}
        if self.problems:
            out["problems"] = list(self.problems)
        if self.warnings:
            out["warnings"] = self.warnings
            out["notes"] = list(self.notes)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        counts = cls()
        for table, outcomes in data.get("by_table", {}).items():
            for outcome, n in outcomes.items():
                counts.add(table, outcome, int(n))
        counts.problems = list(data.get("problems", []))
        counts.warnings = int(data.get("warnings", 0))
        counts.notes = list(data.get("notes", []))
        return counts


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteOptions:
    site_owned: frozenset[str] = frozenset()  # see ImportSettings.site_owned_fields
    # Remember the products/offers that existed before and were mentioned, for a full
    # package's hiding (rows the run inserted are mentioned by being there).
    mention_run_id: int | None = None
    # Journal rows that existed before the run, before changing them (syncd.importer.undo).
    journal: tuple[int, RunMarks] | None = None
    # Tables that were empty when the run began and that only this run writes (PostgreSQL):
    # their new rows are copied in without looking their keys up first. A key that exists after
    # all (a record repeated in the package, a batch replayed after a crash) takes the table out
    # of the set and the batch is written again the usual way.
    fresh_tables: set[str] = field(default_factory=set)
    create_missing_products: bool = False  # variants seen in import.xml make their product
    # Record types left to another writer (the catalog lane's price types and warehouses, owned
    # by the offers lane: syncd.importer.lanes).
    skip_records: frozenset[type] = frozenset()
    # Told which tables changed once the caller's transaction commits (the API's cache).
    notifier: CatalogNotifier | None = None
    change_log: bool = True  # append change events (ChangesSettings.enabled)
    run_id: int | None = None  # the sync run the change events name
    stage_changes: bool = False  # a run that may be undone: stage its events (store.changes)


class CatalogWriter:
    """Writes batches of records through ``CatalogRepository``; see the module docstring."""

    def __init__(self, session: Session, options: WriteOptions | None = None) -> None:
        self.repo = CatalogRepository(session)
        self.options = options or WriteOptions()
        journal = self.options.journal
        self.journal = UndoJournal(session, *journal) if journal else None
        self.changes: changes.ChangeSet | None = None

    def write(self, batch: Iterable[r.Record]) -> Counts:
        records = list(batch)
        while self.options.fresh_tables:
            try:
                with self.repo.session.begin_nested():
                    counts = self._write_all(records)
                break
            except KeyConflict as exc:
                self.options.fresh_tables.discard(str(exc))
        else:
            counts = self._write_all(records)
        self._notify_after_commit(counts)
        return counts

    def _write_all(self, records: list[r.Record]) -> Counts:
        counts = Counts()
        now = datetime.now(UTC)
        self.changes = changes.ChangeSet(self.options.run_id) if self.options.change_log else None
        grouped: dict[type, list[Any]] = defaultdict(list)
        skip = self.options.skip_records
        for record in records:
            if skip and type(record) in skip:
                continue
            if _valid_ids(record, counts) and _named(record, counts):
                grouped[type(record)].append(record)
        self._write_units(grouped[r.Unit], now, counts)
        self._write_simple(models.Group, grouped[r.Group], _group_row, now, counts, kind="group")
        self._write_properties(grouped[r.Property], now, counts)
        self._write_simple(models.PriceType, grouped[r.PriceType], _price_type_row, now, counts)
        self._write_simple(models.Warehouse, grouped[r.Warehouse], _warehouse_row, now, counts)
        self._write_products(grouped[r.Product], now, counts)
        self._write_offers(grouped[r.Offer], now, counts)
        self._write_prices(grouped[r.OfferPrices], now, counts)
        self._write_stock(grouped[r.OfferStock], now, counts)
        self._write_simple(models.Customer, grouped[r.Contractor], _customer_row, now, counts)
        self._append_changes(now)
        return counts

    def _append_changes(self, now: datetime) -> None:
        """The batch's change events, with one statement (COPY on PostgreSQL)."""
        if self.changes is None or not len(self.changes):
            return
        if self.options.stage_changes:
            changes.stage(self.repo.session, self.changes, now=now)
            return
        changes.lock_for_append(self.repo.session)
        self.repo.insert_rows(models.table(models.ChangeEvent), self.changes.rows(now))
        changes.announce_after_commit(self.repo.session)

    def _log(
        self, kind: str, latest: dict[str, tuple[Any, str]], new: set[str], changed: set[str]
    ) -> None:
        """Events for the new and changed rows of ``kind`` (1C's deletion mark: ``deleted``)."""
        if self.changes is None:
            return
        for key in new | changed:
            deleted = getattr(latest[key][0], "deleted", False)
            action = "deleted" if deleted else ("created" if key in new else "changed")
            self.changes.add(kind, key, action)

    def _fresh(self, table: Table) -> bool:
        return table.name in self.options.fresh_tables

    def _insert_new(
        self, table: Table, rows: Sequence[Row], *, keys: Sequence[str], update: Sequence[str]
    ) -> None:
        if self._fresh(table):
            self.repo.insert_fresh(table, rows)
        else:
            self.repo.insert_new(table, rows, keys=keys, update=update)

    def _notify_after_commit(self, counts: Counts) -> None:
        notifier = self.options.notifier
        if notifier is None or not counts.written:
            return
        changed = [t for t, o in counts.by_table.items() if any(o.get(k) for k in _WRITES)]
        event.listen(
            self.repo.session, "after_commit", lambda _s: notifier.committed(changed), once=True
        )

    # --- generic keyed tables --------------------------------------------------------------

    def _split(
        self, table: Table, items: Sequence[Any], counts: Counts
    ) -> tuple[dict[str, tuple[Any, str]], set[str], set[str]]:
        """Hash each record and compare with the stored hash of its key.

        Returns ``latest`` (onec_id -> (record, hash), the last record of a key winning), the
        ids of new rows and the ids of changed rows; unchanged ones are only counted. Rows are
        built afterwards, for new and changed records only.
        """
        latest = {item.onec_id: (item, record_hash(item)) for item in items}
        stored = {} if self._fresh(table) else self.repo.existing_hashes(table, latest.keys())
        new = {key for key in latest if key not in stored}
        changed = {
            key for key, (_, digest) in latest.items() if key in stored and stored[key] != digest
        }
        counts.add(table.name, "unchanged", len(latest) - len(new) - len(changed))
        deleted = {key for key in new | changed if getattr(latest[key][0], "deleted", False)}
        counts.add(table.name, "deleted", len(deleted))
        counts.add(table.name, "inserted", len(new - deleted))
        counts.add(table.name, "updated", len(changed - deleted))
        return latest, new, changed

    def _write_simple(
        self,
        model: type[models.Base],
        items: list[Any],
        to_row: Any,
        now: datetime,
        counts: Counts,
        *,
        kind: str | None = None,
    ) -> tuple[set[str], set[str]]:
        """Upsert new and changed records of a table keyed by onec_id; returns the ids written
        and the ids that were already there."""
        if not items:
            return set(), set()
        table: Table = models.table(model)
        latest, new, changed = self._split(table, items, counts)
        if kind is not None:
            self._log(kind, latest, new, changed)
        # In the order of the file: new rows get their ids in the order 1C lists them (the
        # first price type is the storefront's default when none is configured).
        rows = {
            key: _stamp(to_row(record), version, now)
            for key, (record, version) in latest.items()
            if key in new or key in changed
        }
        if rows:
            update = _updatable(next(iter(rows.values())))
            fresh = [row for key, row in rows.items() if key in new]
            self._insert_new(table, fresh, keys=("onec_id",), update=update)
            self._save(table, "onec_id", changed)
            again = [row for key, row in rows.items() if key in changed]
            self.repo.upsert(table, again, keys=("onec_id",), update=update)
        return new | changed, latest.keys() - new

    def _save(self, table: Table, key: str, keys: Collection[str]) -> None:
        if self.journal is not None:
            self.journal.save(table, key, keys)

    def _write_units(self, units: list[r.Unit], now: datetime, counts: Counts) -> None:
        self._write_simple(models.Unit, units, _unit_row, now, counts)

    def _write_properties(self, props: list[r.Property], now: datetime, counts: Counts) -> None:
        touched, _ = self._write_simple(models.Property, props, _property_row, now, counts)
        if not touched:
            return
        options = {
            (p.onec_id, o.onec_id): {
                "property_onec_id": p.onec_id,
                "onec_id": o.onec_id,
                "value": o.value,
                "content_hash": None,
                "updated_at": now,
            }
            for p in props
            if p.onec_id in touched
            for o in p.options
            if o.onec_id and len(o.onec_id) <= MAX_ONEC_ID
        }
        # Options are only ever added or renamed: a stub re-definition (no options) must not
        # wipe a dictionary that an earlier file sent.
        option_table = models.table(models.PropertyOption)
        self._save(option_table, "property_onec_id", touched)
        self.repo.upsert(
            option_table,
            list(options.values()),
            keys=("property_onec_id", "onec_id"),
            update=("value", "updated_at"),
        )

    # --- products ----------------------------------------------------------------------------

    def _write_products(self, products: list[r.Product], now: datetime, counts: Counts) -> None:
        if not products:
            return
        table = models.table(models.Product)
        latest, new, changed = self._split(table, products, counts)
        self._log("product", latest, new, changed)
        rows = {k: _stamp(_product_row(latest[k][0]), latest[k][1], now) for k in new | changed}
        if rows:
            owned = self.options.site_owned
            columns = _updatable(next(iter(rows.values())))
            update = [c for c in columns if _PRODUCT_COLUMN_FIELD.get(c) not in owned]
            self._insert_new(table, [rows[k] for k in new], keys=("onec_id",), update=update)
            if self.journal is not None:
                self.journal.save_products(changed)
            self.repo.upsert(table, [rows[k] for k in changed], keys=("onec_id",), update=update)
            self._write_product_children({k: v[0] for k, v in latest.items()}, new, changed)
        self._mention("product", latest.keys() - new)

    def _write_product_children(
        self, latest: dict[str, r.Product], new_ids: set[str], changed_ids: set[str]
    ) -> None:
        owned = self.options.site_owned
        for name, builder in _PRODUCT_CHILDREN:
            ids = new_ids if name in owned else new_ids | changed_ids
            if not ids:
                continue
            table, rows = builder([latest[i] for i in ids])
            # New products have no children to delete: only changed ones are cleared first.
            stale = set() if name in owned else changed_ids
            self.repo.replace_children(table, "product_onec_id", stale, rows)

    # --- offers, prices, stock -----------------------------------------------------------------

    def _write_offers(self, offers: list[r.Offer], now: datetime, counts: Counts) -> None:
        if not offers:
            return
        _, existing = self._write_simple(
            models.Offer, offers, _offer_row, now, counts, kind="offer"
        )
        self._mention("offer", existing)
        if self.options.create_missing_products:
            self._create_missing_products(offers, now, counts)

    def _create_missing_products(
        self, offers: list[r.Offer], now: datetime, counts: Counts
    ) -> None:
        """Variants sent as ``Товар prod#char`` in import.xml imply their product."""
        table = models.table(models.Product)
        wanted = {o.product_onec_id: o for o in offers if o.product_onec_id}
        existing = self.repo.existing_ids(table, wanted.keys())
        missing = set(wanted) - existing
        rows: list[Row] = [
            {
                "onec_id": pid,
                "name": wanted[pid].name or pid,
                "sku": wanted[pid].sku,
                "requisites": [],
                "taxes": [],
                "is_deleted": False,
                "content_hash": None,  # a real Товар for it later overwrites this skeleton
                "created_at": now,
                "updated_at": now,
            }
            for pid in sorted(missing)
        ]
        self.repo.insert_missing(table, rows, keys=("onec_id",))
        counts.add("products", "inserted", len(rows))
        if self.changes is not None:
            self.changes.add_all("product", missing, "created")
        self._mention("product", existing)

    def _write_prices(self, items: list[r.OfferPrices], now: datetime, counts: Counts) -> None:
        if not items:
            return
        latest: dict[tuple[str, str], Row] = {}
        for item in items:
            for price in item.prices:
                if not price.price_type_onec_id:
                    counts.add("prices", "rejected")
                    _problem(counts, f"price of offer {item.offer_onec_id!r} has no price type")
                    continue
                if price.value is None:
                    shown = price.presentation or "no presentation"
                    counts.warn(
                        f"price {price.price_type_onec_id!r} of offer {item.offer_onec_id!r} "
                        f"has no value (price on request: {shown!r})"
                    )
                latest[(item.offer_onec_id, price.price_type_onec_id)] = _price_row(
                    item, price, now
                )
        table = models.table(models.Price)
        stored = (
            {} if self._fresh(table) else self.repo.existing_price_hashes({k[0] for k in latest})
        )
        new, changed = _split_changed(
            latest, stored, "prices", counts, lambda row: row["content_hash"]
        )
        keys = ("offer_onec_id", "price_type_onec_id")
        self._log_values("price", "prices", new + changed, "price_type_onec_id", "value")
        self._insert_new(table, new, keys=keys, update=_PRICE_UPDATE)
        self._save(table, "offer_onec_id", {row["offer_onec_id"] for row in changed})
        self.repo.upsert(table, changed, keys=keys, update=_PRICE_UPDATE)

    def _write_stock(self, items: list[r.OfferStock], now: datetime, counts: Counts) -> None:
        if not items:
            return
        latest: dict[tuple[str, str], Row] = {}
        for item in items:
            levels = [("", item.total)] if item.total is not None else []
            levels += [(lvl.warehouse_onec_id, lvl.quantity) for lvl in item.levels]
            for warehouse, quantity in levels:
                latest[(item.offer_onec_id, warehouse)] = {
                    "offer_onec_id": item.offer_onec_id,
                    "product_onec_id": item.product_onec_id,
                    "warehouse_onec_id": warehouse,
                    "quantity": quantity,
                    "updated_at": now,
                }
        table = models.table(models.Stock)
        stored: dict[tuple[str, str], Any] = (
            {} if self._fresh(table) else self.repo.existing_stock({k[0] for k in latest})
        )
        new, changed = _split_changed(
            latest, stored, "stock", counts, lambda row: Decimal(row["quantity"])
        )
        keys = ("offer_onec_id", "warehouse_onec_id")
        update = ("product_onec_id", "quantity", "updated_at")
        self._log_values("stock", "stock", new + changed, "warehouse_onec_id", "quantity")
        self._insert_new(table, new, keys=keys, update=update)
        self._save(table, "offer_onec_id", {row["offer_onec_id"] for row in changed})
        self.repo.upsert(table, changed, keys=keys, update=update)

    def _log_values(self, kind: str, name: str, rows: list[Row], key: str, value: str) -> None:
        """One event per offer: its product and the new values, e.g. prices by price type."""
        if self.changes is None:
            return
        by_offer: dict[str, Row] = {}
        for row in rows:
            data = by_offer.get(row["offer_onec_id"])
            if data is None:
                data = by_offer[row["offer_onec_id"]] = {
                    "product": row["product_onec_id"],
                    name: {},
                }
            data[name][row[key]] = _decimal(row[value])
        for offer, data in by_offer.items():
            self.changes.add(kind, offer, "changed", data)

    def _mention(self, kind: str, onec_ids: Iterable[str]) -> None:
        if self.options.mention_run_id is not None:
            self.repo.add_mentions(self.options.mention_run_id, kind, set(onec_ids))


# --- helpers ------------------------------------------------------------------------------------


def _split_changed(
    latest: dict[tuple[str, str], Row],
    stored: dict[tuple[str, str], Any],
    table: str,
    counts: Counts,
    value_of: Any,
) -> tuple[list[Row], list[Row]]:
    """(new, changed) rows of a composite-keyed table; counts every outcome."""
    new, changed = [], []
    for key, row in latest.items():
        if key not in stored:
            new.append(row)
        elif stored[key] != value_of(row):
            changed.append(row)
    counts.add(table, "inserted", len(new))
    counts.add(table, "updated", len(changed))
    counts.add(table, "unchanged", len(latest) - len(new) - len(changed))
    return new, changed


def _valid_ids(record: r.Record, counts: Counts) -> bool:
    key = getattr(record, "onec_id", None) or getattr(record, "offer_onec_id", None)
    table = type(record).__name__
    if not key:
        counts.add(table, "rejected")
        _problem(counts, f"{table} without Ид (name {getattr(record, 'name', None)!r})")
        return False
    if len(key) > MAX_ONEC_ID:
        counts.add(table, "rejected")
        _problem(counts, f"{table} Ид longer than {MAX_ONEC_ID} characters: {key[:40]}...")
        return False
    return True


def _named(record: r.Record, counts: Counts) -> bool:
    """A product 1C sent with an empty Наименование is refused alone (unless it is deleted):
    written, the shop would show a product without a name."""
    if isinstance(record, r.Product) and not record.name and not record.deleted:
        counts.add("products", "rejected")
        _problem(counts, f"product {record.onec_id!r} has no Наименование: not written")
        return False
    return True


def _problem(counts: Counts, message: str) -> None:
    if len(counts.problems) < MAX_PROBLEMS:
        counts.problems.append(message)


def _stamp(row: Row, digest: str, now: datetime) -> Row:
    row["content_hash"] = digest
    row["created_at"] = now
    row["updated_at"] = now
    return row


def _updatable(row: Row) -> list[str]:
    return [c for c in row if c not in ("onec_id", "created_at")]


def _unit_row(u: r.Unit) -> Row:
    return {
        "onec_id": u.onec_id,
        "code": u.code,
        "name": u.name,
        "full_name": u.full_name,
        "international": u.international,
        "is_deleted": u.deleted,
    }


def _group_row(g: r.Group) -> Row:
    return {
        "onec_id": g.onec_id,
        "parent_onec_id": g.parent_onec_id,
        "name": g.name,
        "description": g.description,
        "sort": g.sort,
        "is_deleted": g.deleted,
    }


def _property_row(p: r.Property) -> Row:
    return {
        "onec_id": p.onec_id,
        "name": p.name,
        "value_type": (p.value_type or "")[:64] or None,
        "is_multiple": p.multiple,
        "for_products": p.for_products,
        "for_offers": p.for_offers,
        "is_deleted": p.deleted,
    }


def _price_type_row(p: r.PriceType) -> Row:
    return {
        "onec_id": p.onec_id,
        "name": p.name,
        "currency": (p.currency or "")[:16] or None,
        "tax_name": p.tax_name,
        "tax_included": p.tax_included,
        "is_deleted": p.deleted,
    }


def _warehouse_row(w: r.Warehouse) -> Row:
    return {"onec_id": w.onec_id, "name": w.name, "address": w.address, "is_deleted": w.deleted}


def _product_row(p: r.Product) -> Row:
    unit = p.unit
    return {
        "onec_id": p.onec_id,
        "name": p.name,
        "sku": _cut(p.sku),
        "barcode": _cut(p.barcode),
        "code": _cut(p.code),
        "group_onec_id": p.group_onec_ids[0] if p.group_onec_ids else None,
        "unit": _cut((unit.text or unit.code) if unit else None, 64),
        "unit_code": _cut(unit.code if unit else None, 64),
        "description": p.description,
        "manufacturer": p.manufacturer.name if p.manufacturer else None,
        "country": p.country,
        "brand": p.brand,
        "requisites": [{"name": q.name, "value": q.value} for q in p.requisites],
        "taxes": [{"name": t.name, "rate": t.rate} for t in p.taxes],
        "is_deleted": p.deleted,
    }


# Product column -> the site-owned field name that protects it (ImportSettings.site_owned_fields).
_PRODUCT_COLUMN_FIELD = {
    "name": "name",
    "description": "description",
    "sku": "sku",
    "barcode": "barcode",
    "group_onec_id": "group",
    "requisites": "requisites",
}


def _group_links(products: list[r.Product]) -> tuple[Table, list[Row]]:
    rows = {
        (p.onec_id, g): {"product_onec_id": p.onec_id, "group_onec_id": g}
        for p in products
        for g in p.group_onec_ids
        if g and len(g) <= MAX_ONEC_ID
    }
    return models.table(models.ProductGroup), list(rows.values())


def _images(products: list[r.Product]) -> tuple[Table, list[Row]]:
    rows = [
        {"product_onec_id": p.onec_id, "position": i, "path": img.path, "caption": img.caption}
        for p in products
        for i, img in enumerate(p.images)
    ]
    return models.table(models.ProductImage), rows


def _property_values(products: list[r.Product]) -> tuple[Table, list[Row]]:
    rows = []
    for p in products:
        position: dict[str, int] = defaultdict(int)
        for pv in p.property_values:
            if not pv.property_onec_id or len(pv.property_onec_id) > MAX_ONEC_ID:
                continue
            for value in pv.values:
                if value == "":
                    continue
                n = position[pv.property_onec_id]
                position[pv.property_onec_id] += 1
                rows.append(
                    {
                        "product_onec_id": p.onec_id,
                        "property_onec_id": pv.property_onec_id,
                        "position": n,
                        "value": value,
                    }
                )
    return models.table(models.ProductPropertyValue), rows


# Child tables of a product, by the site-owned field that protects them.
_PRODUCT_CHILDREN = (("group", _group_links), ("images", _images), ("properties", _property_values))


def _offer_row(o: r.Offer) -> Row:
    return {
        "onec_id": o.onec_id,
        "product_onec_id": o.product_onec_id,
        "name": o.name,
        "sku": _cut(o.sku),
        "barcode": _cut(o.barcode),
        "unit": _cut((o.unit.text or o.unit.code) if o.unit else None, 64),
        "characteristics": [
            {"name": c.name, "value": c.value, "onec_id": c.onec_id} for c in o.characteristics
        ],
        "property_values": [
            {"property": pv.property_onec_id, "values": list(pv.values)} for pv in o.property_values
        ],
        "is_deleted": o.deleted,
    }


_PRICE_UPDATE = (
    "product_onec_id",
    "value",
    "currency",
    "unit",
    "coefficient",
    "presentation",
    "min_quantity",
    "content_hash",
    "updated_at",
)


def _price_row(item: r.OfferPrices, price: r.Price, now: datetime) -> Row:
    return {
        "offer_onec_id": item.offer_onec_id,
        "product_onec_id": item.product_onec_id,
        "price_type_onec_id": price.price_type_onec_id,
        "value": price.value,
        "currency": _cut(price.currency, 16),
        "unit": _cut(price.unit, 64),
        "coefficient": price.coefficient,
        "presentation": price.presentation,
        "min_quantity": price.min_quantity,
        "content_hash": record_hash(price),
        "updated_at": now,
    }


def _customer_row(c: r.Contractor) -> Row:
    email = next((x.value for x in c.contacts if _is_contact(x.type, ("почт", "mail"))), None)
    phone = next((x.value for x in c.contacts if _is_contact(x.type, ("тел", "phone"))), None)
    return {
        "onec_id": c.onec_id,
        "name": c.name,
        "full_name": c.full_name,
        "inn": _cut(c.inn, 32),
        "kpp": _cut(c.kpp, 32),
        "email": _cut(email, 320),
        "phone": _cut(phone, 64),
        "address": c.address.presentation if c.address else None,
        "data": {
            "role": c.role,
            "okpo": c.okpo,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "middle_name": c.middle_name,
            "contacts": [{"type": x.type, "value": x.value} for x in c.contacts],
        },
        "is_deleted": c.deleted,
    }


def _is_contact(kind: str, needles: tuple[str, ...]) -> bool:
    lowered = kind.lower()
    return any(n in lowered for n in needles)


def _decimal(value: Any) -> str | None:
    return None if value is None else str(value)


def _cut(value: str | None, limit: int = 255) -> str | None:
    return value[:limit] if value else value
