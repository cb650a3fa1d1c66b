"""The schema: SQLAlchemy 2 models for PostgreSQL (production) and SQLite (embedded default).

Design rules, so every later part can rely on them:

* Every 1C object has ``onec_id`` (1C's ``Ид``, an opaque string up to 255 characters), unique in
  its table. Rows refer to each other by ``onec_id`` strings, not foreign keys: 1C sends offers
  before their products and prices before their price types, and such forward references must be
  stored without error.
* Deletion is soft (``is_deleted``); nothing 1C sends ever hard-deletes a row.
* Rows 1C feeds carry ``content_hash`` (of the record that last wrote them) and ``updated_at``
  (moved only when the content changed), so an unchanged re-import writes nothing.
* Money and quantities are ``Numeric``; timestamps are timezone-aware.
* ``audit_log`` is append-only: triggers (see the migration) refuse UPDATE and DELETE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ONEC_ID_LENGTH = 255
HASH_LENGTH = 64  # hex sha256

# 1C ids are opaque strings: on PostgreSQL they compare byte-wise (COLLATE "C"), which is both
# the right meaning and much cheaper for every key lookup and index insert than a locale's rules.
OnecId = String(ONEC_ID_LENGTH).with_variant(String(ONEC_ID_LENGTH, collation="C"), "postgresql")
# Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(18, 4)
Quantity = Numeric(18, 4)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: DateTime(timezone=True),
        Decimal: Money,
        dict[str, Any]: Json,
        list[Any]: Json,
    }


def table(model: type[Base]) -> Table:
    """The ``Table`` of a mapped class (``__table__`` is typed as a plain FromClause)."""
    return cast(Table, model.__table__)


def onec_id_column(*, unique: bool = True) -> Mapped[str]:
    return mapped_column(OnecId, unique=unique, nullable=False)


def onec_ref_column(*, nullable: bool = True, index: bool = False) -> Mapped[Any]:
    return mapped_column(OnecId, nullable=nullable, index=index)


class FedFrom1C:
    """Columns every row fed by 1C carries."""

    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- catalog -------------------------------------------------------------------------------


class Group(FedFrom1C, Base):
    __tablename__ = "catalog_groups"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    parent_onec_id: Mapped[str | None] = onec_ref_column(index=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    sort: Mapped[int | None] = mapped_column(Integer)


class Property(FedFrom1C, Base):
    __tablename__ = "properties"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    name: Mapped[str] = mapped_column(Text)
    value_type: Mapped[str | None] = mapped_column(String(64))
    is_multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    for_products: Mapped[bool | None] = mapped_column(Boolean)
    for_offers: Mapped[bool | None] = mapped_column(Boolean)


class PropertyOption(Base):
    """One dictionary value of a property; ``onec_id`` is the ИдЗначения (unique per property)."""

    __tablename__ = "property_options"
    __table_args__ = (UniqueConstraint("property_onec_id", "onec_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    property_onec_id: Mapped[str] = onec_ref_column(nullable=False)
    onec_id: Mapped[str] = onec_id_column(unique=False)
    value: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Unit(FedFrom1C, Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    full_name: Mapped[str | None] = mapped_column(Text)
    international: Mapped[str | None] = mapped_column(String(64))


class PriceType(FedFrom1C, Base):
    __tablename__ = "price_types"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(16))
    tax_name: Mapped[str | None] = mapped_column(Text)
    tax_included: Mapped[bool | None] = mapped_column(Boolean)


class Warehouse(FedFrom1C, Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)


class Product(FedFrom1C, Base):
    __tablename__ = "products"
    __table_args__ = (  # the listing sorted by last change walks this (see migration 0010)
        Index(
            "ix_products_active_updated",
            "updated_at",
            "id",
            postgresql_where=text("NOT is_deleted"),
            sqlite_where=text("NOT is_deleted"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    name: Mapped[str] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(String(255), index=True)
    barcode: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(255))
    group_onec_id: Mapped[str | None] = onec_ref_column(index=True)  # the first of its groups
    unit: Mapped[str | None] = mapped_column(String(64))  # as sent (text or code)
    unit_code: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    manufacturer: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    requisites: Mapped[list[Any]] = mapped_column(default=list)  # [{"name":..., "value":...}]
    taxes: Mapped[list[Any]] = mapped_column(default=list)  # [{"name":..., "rate":...}]
    # On PostgreSQL the migration adds the partial index on active products and the full-text
    # GIN index over to_tsvector('russian', name || ' ' || description).


class ProductGroup(Base):
    __tablename__ = "product_groups"
    # A group's members straight from the index (the storefront hashes a group's members).
    __table_args__ = (Index(None, "group_onec_id", "product_onec_id"),)
    product_onec_id: Mapped[str] = mapped_column(OnecId, primary_key=True)
    group_onec_id: Mapped[str] = mapped_column(OnecId, primary_key=True)


class ProductImage(Base):
    __tablename__ = "product_images"
    product_onec_id: Mapped[str] = mapped_column(OnecId, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)  # 1C's relative path; media_files maps it to bytes
    caption: Mapped[str | None] = mapped_column(Text)


class ProductPropertyValue(Base):
    """A product's property value as sent (ИдЗначения or literal); resolved when read."""

    __tablename__ = "product_property_values"
    __table_args__ = (Index(None, "property_onec_id", "value"),)
    product_onec_id: Mapped[str] = mapped_column(OnecId, primary_key=True)
    property_onec_id: Mapped[str] = mapped_column(OnecId, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Offer(FedFrom1C, Base):
    """A sellable product or variant; ``onec_id`` is ``<product>`` or ``<product>#<variant>``."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    product_onec_id: Mapped[str] = onec_ref_column(nullable=False, index=True)
    name: Mapped[str | None] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(String(255))
    barcode: Mapped[str | None] = mapped_column(String(255))
    unit: Mapped[str | None] = mapped_column(String(64))
    characteristics: Mapped[list[Any]] = mapped_column(default=list)  # [{"name","value","onec_id"}]
    property_values: Mapped[list[Any]] = mapped_column(default=list)  # [{"property","values"}]


class Price(Base):
    __tablename__ = "prices"
    __table_args__ = (
        UniqueConstraint("offer_onec_id", "price_type_onec_id"),
        Index(None, "price_type_onec_id", "value"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    offer_onec_id: Mapped[str] = onec_ref_column(nullable=False)
    product_onec_id: Mapped[str] = onec_ref_column(nullable=False, index=True)
    price_type_onec_id: Mapped[str] = onec_ref_column(nullable=False)
    value: Mapped[Decimal | None] = mapped_column(Money)  # None: price on request (presentation)
    currency: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(64))
    coefficient: Mapped[Decimal | None] = mapped_column(Quantity)
    presentation: Mapped[str | None] = mapped_column(Text)
    min_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Stock(Base):
    """Stock of an offer at a warehouse; ``warehouse_onec_id == ""`` is the total as 1C sent it."""

    __tablename__ = "stock"
    __table_args__ = (UniqueConstraint("offer_onec_id", "warehouse_onec_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    offer_onec_id: Mapped[str] = onec_ref_column(nullable=False)
    product_onec_id: Mapped[str] = onec_ref_column(nullable=False, index=True)
    warehouse_onec_id: Mapped[str] = mapped_column(OnecId, default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaFile(Base):
    """1C's relative image path -> content-addressed bytes under ``paths.media_dir``."""

    __tablename__ = "media_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- customers and orders ------------------------------------------------------------------


class Customer(FedFrom1C, Base):
    """A contractor (Контрагент) from 1C, or a shop customer 1C learned about."""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_id: Mapped[str] = onec_id_column()
    name: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str | None] = mapped_column(Text)
    inn: Mapped[str | None] = mapped_column(String(32), index=True)
    kpp: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Order(Base):
    """An order taken by the shop, on its way to 1C and back.

    ``export_state``: ``new`` (never sent) -> ``pending`` (in a mode=query reply, not yet
    confirmed) -> ``exported`` (1C answered success). A change on the site sets it back to ``new``.
    """

    __tablename__ = "orders"
    __table_args__ = (
        Index(None, "customer_ref", "status", text("created_at DESC")),
        Index(None, "export_state", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)  # the site's order number
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    customer_ref: Mapped[str | None] = mapped_column(OnecId)  # shop's customer id
    customer: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name, email, phone, inn, ...
    delivery: Mapped[dict[str, Any]] = mapped_column(default=dict)  # method, address, price
    status: Mapped[str] = mapped_column(String(64), default="new")
    currency: Mapped[str] = mapped_column(String(16), default="RUB")
    total: Mapped[Decimal] = mapped_column(Money)
    comment: Mapped[str | None] = mapped_column(Text)
    onec_id: Mapped[str | None] = mapped_column(OnecId, unique=True)  # Ref_Key
    onec_number: Mapped[str | None] = mapped_column(String(64))  # Номер1С / "Номер по 1С"
    onec_date: Mapped[datetime | None] = mapped_column()
    posted: Mapped[bool] = mapped_column(Boolean, default=False)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    shipped: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    export_state: Mapped[str] = mapped_column(String(16), default="new")
    export_session: Mapped[str | None] = mapped_column(String(64))  # exchange that holds it pending
    exported_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # who may read it: "key:<prefix>" / "user:<name>" (never shown in a response)
    submitted_by: Mapped[str | None] = mapped_column(String(255), index=True)
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.line_no"
    )
    history: Mapped[list[OrderStatusChange]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderStatusChange.id"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    offer_onec_id: Mapped[str] = onec_ref_column(nullable=False)  # "<product>[#<variant>]"
    product_onec_id: Mapped[str] = onec_ref_column(nullable=False)
    name: Mapped[str] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(String(255))
    unit: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Money)
    catalog_price: Mapped[Decimal | None] = mapped_column(Money)  # the catalog's, when taken
    price_overridden: Mapped[bool] = mapped_column(Boolean, default=False)  # orders:price-override
    stock_note: Mapped[str | None] = mapped_column(Text)  # shortfall accepted (stock policy warn)
    order: Mapped[Order] = relationship(back_populates="lines")


class OrderStatusChange(Base):
    __tablename__ = "order_status_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # shop | 1c-exchange | 1c-odata | operator
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    order: Mapped[Order] = relationship(back_populates="history")


class OrderOutbox(Base):
    """One row per order to push to 1C over OData; the push is exactly-once in effect."""

    __tablename__ = "order_outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending|created|posted|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    onec_ref_key: Mapped[str | None] = mapped_column(OnecId)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- exchanges, runs, checkpoints, audit ---------------------------------------------------


class ExchangeSession(Base):
    """One 1C site-exchange session (checkauth .. complete/success)."""

    __tablename__ = "exchange_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(16))  # catalog | sale
    username: Mapped[str] = mapped_column(String(255))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(16))
    zip: Mapped[bool] = mapped_column(Boolean, default=False)
    staging_dir: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|succeeded|failed|expired
    error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    files: Mapped[list[ExchangeFile]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="ExchangeFile.id"
    )


class ExchangeFile(Base):
    __tablename__ = "exchange_files"
    __table_args__ = (UniqueConstraint("session_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_sessions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(1024))  # sanitised relative name
    stored_path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    kind: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="uploading")
    error: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    session: Mapped[ExchangeSession] = relationship(back_populates="files")


class SyncRun(Base):
    """One run of a stream: a package import, an OData pull, an order push."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index(None, "stream", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    stream: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)  # package id
    source: Mapped[str | None] = mapped_column(Text)  # path, URL, exchange session
    actor: Mapped[str | None] = mapped_column(String(255))  # who started it
    status: Mapped[str] = mapped_column(String(16), default="running")
    only_changes: Mapped[bool | None] = mapped_column(Boolean)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    # A package import's undo marks (syncd.importer.undo.RunMarks): the highest id of each catalog table
    # when the run began, and whether the run keeps an undo journal.
    marks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A full package's hiding held for an operator (syncd.importer.hiding): per table, the rows
    # it would hide and the active rows then; NULL when nothing is held.
    held_hide: Mapped[dict[str, Any] | None] = mapped_column()
    files: Mapped[list[RunFile]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="RunFile.id"
    )


class RunFile(Base):
    """A file of a run and its checkpoint: ``records_done`` commits with each batch."""

    __tablename__ = "run_files"
    __table_args__ = (UniqueConstraint("run_id", "sha256"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    kind: Mapped[str | None] = mapped_column(String(32))
    only_changes: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    records_done: Mapped[int] = mapped_column(BigInteger, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    run: Mapped[SyncRun] = relationship(back_populates="files")


class PackageMention(Base):
    """What a full package mentioned, so that, once complete, it can hide what it did not."""

    __tablename__ = "package_mentions"
    run_id: Mapped[int] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # product | offer
    onec_id: Mapped[str] = mapped_column(OnecId, primary_key=True)


class RunUndo(Base):
    """A catalog row as it was before a journaled run first changed it (``syncd.importer.undo``)."""

    __tablename__ = "run_undo"
    __table_args__ = (UniqueConstraint("run_id", "table_name", "row_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    table_name: Mapped[str] = mapped_column(String(64))
    row_key: Mapped[str] = mapped_column(Text)  # the row's id; a child row's primary key
    image: Mapped[dict[str, Any]] = mapped_column()


class Checkpoint(Base):
    """A stream's cursor (OData position, ...); written in the transaction of its data."""

    __tablename__ = "checkpoints"
    stream: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ODataVersion(Base):
    """The ``DataVersion`` we last wrote of a pulled 1C object, per stream (OData scans diff
    against it; ``onec_id`` is the row it fed, e.g. ``<product>#<characteristic>``)."""

    __tablename__ = "odata_versions"
    stream: Mapped[str] = mapped_column(String(128), primary_key=True)
    ref_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    data_version: Mapped[str | None] = mapped_column(String(64))
    onec_id: Mapped[str | None] = mapped_column(OnecId)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ODataMetadata(Base):
    """The names a 1C base's ``$metadata`` lists, as last read (see syncd/odata/published.py)."""

    __tablename__ = "odata_metadata"
    url: Mapped[str] = mapped_column(String(2048), primary_key=True)  # the OData base URL
    sha256: Mapped[str] = mapped_column(String(64))  # of the document 1C sent
    names: Mapped[dict[str, Any]] = mapped_column()  # metadata_to_json()
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only, hash-chained: ``entry_hash`` = SHA-256 or, keyed, HMAC-SHA256 of
    ``prev_hash + canonical(entry)`` (see syncd/store/audit.py)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64), index=True)  # import.run, import.file, ...
    source: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    run_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    outcome: Mapped[str] = mapped_column(String(32))  # succeeded|unchanged|failed|rejected|...
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    entry_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)
    key_id: Mapped[str | None] = mapped_column(String(16))  # NULL: unkeyed (sha256, see audit)


# --- people and machines using the storefront API -------------------------------------------


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))  # operator | admin
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A machine credential: only ``prefix`` (to find it) and a hash of the secret are stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))  # shop | operator | admin
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    price_type: Mapped[str | None] = mapped_column(String(255))  # orders' prices; None: default


class TokenFamily(Base):
    """One login: its refresh tokens rotate, and only ``current_jti`` may refresh (see
    ``storefront.auth.families``). An ended family's tokens are all refused."""

    __tablename__ = "token_families"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(255), index=True)
    current_jti: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    ended_because: Mapped[str | None] = mapped_column(String(32))


class RevokedToken(Base):
    """Revoked JWT ids; the database is the truth, Redis only a cache of it."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the change feed and its webhooks (syncd.store.changes, syncd.daemon.webhooks) ---------


# The checkpoints row where retention records the highest position it removed.
CHANGE_FEED_HORIZON = "change-feed:pruned"


class ChangeEvent(Base):
    """One committed change the shop can see, written in the transaction of the change itself.

    ``position`` only grows (AUTOINCREMENT on SQLite: a position is never reused, even after
    retention empties the table) and writers take ``CHANGE_LOG_LOCK`` before appending, so
    positions become visible in commit order.
    """

    __tablename__ = "change_events"
    position: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # product|offer|price|stock|group|order
    resource_id: Mapped[str] = mapped_column(OnecId)  # onec_id; an order's number
    action: Mapped[str] = mapped_column(
        String(16)
    )  # created|changed|hidden|deleted|reverted|status
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    run_id: Mapped[int | None] = mapped_column(BigInteger)  # sync_runs.id (none: orders)
    # BRIN: retention finds old events by time, and inserts in time order keep it nearly free.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_change_events_created_at", "created_at", postgresql_using="brin"),
        {"sqlite_autoincrement": True},
    )


class StagedChangeBatch(Base):
    """The change events of one batch of a journaled run (a full package) that has not
    finished: such a run may still be undone, so its events reach ``change_events`` only when
    it succeeds. One row per batch, the events as a JSON array of ``[kind, resource_id,
    action, data]`` in their order (``syncd.store.changes``)."""

    __tablename__ = "change_batches_staged"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    events: Mapped[list[Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """A receiver of signed change deliveries; ``position`` is the last event it acknowledged."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))  # HMAC key; shown once when added
    kinds: Mapped[list[Any]] = mapped_column(default=list)  # event kinds; empty: every kind
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | failing
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failures since the last success
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None] = mapped_column()
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)  # events acknowledged, ever
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
