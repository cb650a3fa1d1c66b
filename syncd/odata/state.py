"""The SQL of OData pulls: stored DataVersions, objects deleted in 1C, stock that vanished,
offers that prices or stock name before the catalog has them.

Nothing here commits: the pull's unit of work does, together with the data and checkpoint.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from exchange_formats.records import Offer, UnitRef
from syncd.importer.repository import CatalogRepository
from syncd.store import models

_CHUNK = 5000
_VERSIONS = models.table(models.ODataVersion)


def stored_versions(session: Session, stream: str) -> dict[str, str | None]:
    """``Ref_Key -> DataVersion`` of every object ``stream`` wrote."""
    stmt = select(_VERSIONS.c.ref_key, _VERSIONS.c.data_version).where(_VERSIONS.c.stream == stream)
    return {str(ref): version for ref, version in session.execute(stmt)}


def has_versions(session: Session, stream: str) -> bool:
    stmt = select(_VERSIONS.c.ref_key).where(_VERSIONS.c.stream == stream).limit(1)
    return session.execute(stmt).first() is not None


def save_versions(
    session: Session, stream: str, versions: Mapping[str, tuple[str | None, str | None]]
) -> None:
    """Remember ``Ref_Key -> (DataVersion, our onec_id)`` for objects just written."""
    now = datetime.now(UTC)
    rows = [
        {"stream": stream, "ref_key": ref, "data_version": ver, "onec_id": oid, "updated_at": now}
        for ref, (ver, oid) in versions.items()
    ]
    CatalogRepository(session).upsert(
        _VERSIONS,
        rows,
        keys=("stream", "ref_key"),
        update=("data_version", "onec_id", "updated_at"),
    )


def forget_and_mark_deleted(
    session: Session, stream: str, refs: Collection[str], table: Table
) -> list[str]:
    """Soft-delete the rows fed by ``refs`` (gone from 1C) and forget their versions.

    Returns the onec_ids of the visible rows it hid. Hidden rows lose their content hash, so
    an object that comes back is written again.
    """
    now, hidden = datetime.now(UTC), list[str]()
    refs = list(refs)
    for start in range(0, len(refs), _CHUNK):
        chunk = refs[start : start + _CHUNK]
        ids = select(_VERSIONS.c.onec_id).where(
            _VERSIONS.c.stream == stream, _VERSIONS.c.ref_key.in_(chunk)
        )
        onec_ids = [i for i in session.execute(ids).scalars() if i]
        if onec_ids:
            stmt = (
                update(table)
                .where(table.c.onec_id.in_(onec_ids), table.c.is_deleted.is_(False))
                .values(is_deleted=True, content_hash=None, updated_at=now)
                .returning(table.c.onec_id)
            )
            hidden.extend(session.execute(stmt).scalars())
        session.execute(
            delete(_VERSIONS).where(_VERSIONS.c.stream == stream, _VERSIONS.c.ref_key.in_(chunk))
        )
    return hidden


def stocked_levels(
    session: Session, warehouses: Iterable[str]
) -> dict[tuple[str, str], tuple[str, Decimal]]:
    """``(offer, warehouse) -> (product, quantity)`` of non-zero stock in ``warehouses``.

    Empty ``warehouses``: every row, the per-offer totals (warehouse ``""``) included.
    """
    stock = models.table(models.Stock)
    stmt = select(
        stock.c.offer_onec_id, stock.c.warehouse_onec_id, stock.c.product_onec_id, stock.c.quantity
    ).where(stock.c.quantity != 0)
    chosen = list(warehouses)
    if chosen:
        stmt = stmt.where(stock.c.warehouse_onec_id.in_([*chosen, ""]))
    return {
        (offer, warehouse): (product, Decimal(quantity))
        for offer, warehouse, product, quantity in session.execute(stmt)
    }


def lacking_offers(session: Session, named: Mapping[str, str]) -> dict[str, str]:
    """The offers of ``named`` (``offer -> product``) the catalog has no row for, deleted or not."""
    have = CatalogRepository(session).existing_ids(models.table(models.Offer), list(named))
    return {offer: product for offer, product in named.items() if offer not in have}


def own_offers(session: Session, products: Collection[str]) -> list[Offer]:
    """The own offers (``onec_id`` of the product) of stored ``products``, as the products
    stream makes them, for products stored before it made them. A product with variant
    offers (``<product>#…``) gets none: it sells through its variants."""
    table, offers = models.table(models.Product), models.table(models.Offer)
    found: list[Offer] = []
    chosen = list(products)
    for start in range(0, len(chosen), _CHUNK):
        chunk = chosen[start : start + _CHUNK]
        varied = select(offers.c.product_onec_id).where(
            offers.c.product_onec_id.in_(chunk), offers.c.onec_id != offers.c.product_onec_id
        )
        stmt = select(table.c.onec_id, table.c.name, table.c.sku, table.c.unit, table.c.is_deleted)
        stmt = stmt.where(table.c.onec_id.in_(chunk), table.c.onec_id.not_in(varied))
        found.extend(
            Offer(
                onec_id=key,
                product_onec_id=key,
                name=name,
                sku=sku,
                unit=UnitRef(text=unit) if unit else None,
                deleted=bool(gone),
            )
            for key, name, sku, unit, gone in session.execute(stmt)
        )
    return found


def price_type_currencies(session: Session) -> dict[str, str | None]:
    """``price type -> currency`` of every stored price type."""
    table = models.table(models.PriceType)
    rows = session.execute(select(table.c.onec_id, table.c.currency))
    return {row.onec_id: row.currency for row in rows}
