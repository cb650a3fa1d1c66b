"""CatalogWriter: one batch of records into the catalog tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from exchange_formats import records as r
from syncd.importer.checkpoints import read_checkpoint, write_stream_batch
from syncd.importer.repository import CatalogRepository, _rows_for_keys
from syncd.importer.writer import CatalogWriter, WriteOptions
from syncd.store import models

pytestmark = pytest.mark.postgres


def product(onec_id: str = "P-1", **changes: object) -> r.Product:
    fields: dict[str, object] = {
        "onec_id": onec_id,
        "name": "Сапоги женские",
        "sku": "A-1",
        "group_onec_ids": ("G-1",),
        "description": "<p>Тёплые</p>",
        "images": (r.Image(path="import_files/ab/1.jpg"),),
        "property_values": (r.PropertyValue(property_onec_id="P-BRAND", values=("V-1",)),),
        "requisites": (r.Requisite(name="ВидНоменклатуры", value="Обувь"),),
    }
    fields.update(changes)
    return r.Product(**fields)  # type: ignore[arg-type]


def prices(offer: str, *pairs: tuple[str, str]) -> r.OfferPrices:
    return r.OfferPrices(
        offer_onec_id=offer,
        product_onec_id=offer.split("#")[0],
        prices=tuple(r.Price(price_type_onec_id=pt, value=Decimal(v)) for pt, v in pairs),
    )


def one(session: Session, model: type[models.Base], **where: object) -> object:
    stmt = select(model).filter_by(**where)
    return session.execute(stmt).scalar_one()


def test_a_new_batch_is_inserted_with_its_children(db_session: Session) -> None:
    counts = CatalogWriter(db_session).write([product()])
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 0, 0)
    row = one(db_session, models.Product, onec_id="P-1")
    assert row.name == "Сапоги женские"  # type: ignore[attr-defined]
    assert row.group_onec_id == "G-1"  # type: ignore[attr-defined]
    links = db_session.execute(select(models.ProductGroup.group_onec_id)).scalars().all()
    assert links == ["G-1"]
    values = db_session.execute(select(models.ProductPropertyValue.value)).scalars().all()
    assert values == ["V-1"]


def test_the_same_batch_again_writes_nothing(db_session: Session) -> None:
    CatalogWriter(db_session).write([product(), prices("P-1", ("PT", "10"))])
    before = one(db_session, models.Product, onec_id="P-1").updated_at  # type: ignore[attr-defined]
    counts = CatalogWriter(db_session).write([product(), prices("P-1", ("PT", "10"))])
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 2)
    db_session.expire_all()
    after = one(db_session, models.Product, onec_id="P-1").updated_at  # type: ignore[attr-defined]
    assert after == before


def test_a_changed_product_is_updated_and_its_children_replaced(db_session: Session) -> None:
    CatalogWriter(db_session).write([product()])
    changed = product(group_onec_ids=("G-2", "G-3"), images=())
    counts = CatalogWriter(db_session).write([changed])
    assert counts.updated == 1
    groups = db_session.execute(select(models.ProductGroup.group_onec_id)).scalars().all()
    assert sorted(groups) == ["G-2", "G-3"]
    assert db_session.execute(select(models.ProductImage)).first() is None


def test_site_owned_fields_are_set_once_and_never_overwritten(db_session: Session) -> None:
    options = WriteOptions(site_owned=frozenset({"description", "images"}))
    CatalogWriter(db_session, options).write([product()])
    CatalogWriter(db_session, options).write(
        [product(name="Новое имя", description="from 1C", images=())]
    )
    db_session.expire_all()
    row = one(db_session, models.Product, onec_id="P-1")
    assert row.name == "Новое имя"  # type: ignore[attr-defined]
    assert row.description == "<p>Тёплые</p>"  # type: ignore[attr-defined]
    images = db_session.execute(select(models.ProductImage.path)).scalars().all()
    assert images == ["import_files/ab/1.jpg"]


def test_a_deletion_mark_soft_deletes(db_session: Session) -> None:
    CatalogWriter(db_session).write([product()])
    counts = CatalogWriter(db_session).write([product(deleted=True)])
    assert counts.deleted == 1
    db_session.expire_all()
    assert one(db_session, models.Product, onec_id="P-1").is_deleted is True  # type: ignore[attr-defined]


def test_prices_of_unknown_offers_and_price_types_are_kept(db_session: Session) -> None:
    counts = CatalogWriter(db_session).write([prices("P-9#V-1", ("PT-LATER", "1719.50"))])
    assert counts.inserted == 1
    row = one(db_session, models.Price, offer_onec_id="P-9#V-1")
    assert row.product_onec_id == "P-9"  # type: ignore[attr-defined]
    assert row.value == Decimal("1719.50")  # type: ignore[attr-defined]


def test_a_price_list_replaces_only_the_price_types_it_names(db_session: Session) -> None:
    CatalogWriter(db_session).write([prices("P-1", ("RETAIL", "10"), ("OPT", "8"))])
    counts = CatalogWriter(db_session).write([prices("P-1", ("RETAIL", "11"))])
    assert (counts.updated, counts.unchanged) == (1, 0)
    stored = dict(
        db_session.execute(select(models.Price.price_type_onec_id, models.Price.value)).all()
    )
    assert stored == {"RETAIL": Decimal("11"), "OPT": Decimal("8")}


def test_absent_quantity_keeps_the_stored_stock(db_session: Session) -> None:
    writer = CatalogWriter(db_session)
    writer.write([r.OfferStock(offer_onec_id="P-1", product_onec_id="P-1", total=Decimal(5))])
    counts = writer.write(
        [
            r.OfferStock(
                offer_onec_id="P-1",
                product_onec_id="P-1",
                levels=(r.StockLevel(warehouse_onec_id="WH-1", quantity=Decimal("-1")),),
            )
        ]
    )
    assert counts.inserted == 1
    stock = dict(
        db_session.execute(select(models.Stock.warehouse_onec_id, models.Stock.quantity)).all()
    )
    assert stock == {"": Decimal(5), "WH-1": Decimal(-1)}


def test_records_without_a_usable_id_are_rejected_with_a_reason(db_session: Session) -> None:
    counts = CatalogWriter(db_session).write([product(onec_id=""), product(onec_id="x" * 300)])
    assert counts.rejected == 2
    assert counts.inserted == 0
    assert any("without Ид" in p for p in counts.problems)
    assert any("longer than 255" in p for p in counts.problems)


def test_a_stub_property_does_not_wipe_its_dictionary(db_session: Session) -> None:
    full = r.Property(
        onec_id="P-BRAND",
        name="Бренд",
        value_type="Справочник",
        options=(r.PropertyOption(onec_id="V-1", value="Acme"),),
    )
    CatalogWriter(db_session).write([full])
    CatalogWriter(db_session).write([r.Property(onec_id="P-BRAND", name="Бренд")])
    values = db_session.execute(select(models.PropertyOption.value)).scalars().all()
    assert values == ["Acme"]


def test_variants_in_a_catalog_file_create_their_product(db_session: Session) -> None:
    offer = r.Offer(onec_id="P-5#C-38", product_onec_id="P-5", name="Сапоги (38)")
    options = WriteOptions(create_missing_products=True)
    CatalogWriter(db_session, options).write([offer])
    row = one(db_session, models.Product, onec_id="P-5")
    assert row.name == "Сапоги (38)"  # type: ignore[attr-defined]
    # The real product, when it comes, overwrites the skeleton even if nothing else changed.
    counts = CatalogWriter(db_session).write([product(onec_id="P-5")])
    assert counts.updated == 1


def test_a_stream_batch_and_its_checkpoint_commit_together(
    fresh_database_url: str, make_db_engine: object
) -> None:
    engine = make_db_engine(fresh_database_url)  # type: ignore[operator]
    with Session(engine) as session:
        write_stream_batch(session, "odata:products", [product()], {"skip": 500})
        session.rollback()
    with Session(engine) as session:
        assert read_checkpoint(session, "odata:products") is None
        assert session.execute(select(models.Product)).first() is None
        write_stream_batch(session, "odata:products", [product()], {"skip": 500})
        session.commit()
    with Session(engine) as session:
        assert read_checkpoint(session, "odata:products") == {"skip": 500}
        assert session.execute(select(models.Product.onec_id)).scalar_one() == "P-1"


def test_key_lookups_probe_the_index_while_an_import_outgrows_the_statistics(
    fresh_pg_url: str, make_db_engine: Any
) -> None:
    """An import grows a table much faster than autovacuum re-analyses it. The planner then
    takes 300,000 rows for a few hundred and joins every batch's keys against a sequential
    scan of the whole table (measured: 15 ms per stock lookup at 100,000 products, growing
    with the catalog). The writer's lookups must stay one index probe per key."""
    engine = make_db_engine(fresh_pg_url)
    stock = models.table(models.Stock)
    with Session(engine) as session:
        rows = [
            {
                "offer_onec_id": f"O-{i:06d}",
                "product_onec_id": f"O-{i:06d}",
                "warehouse_onec_id": "W",
                "quantity": Decimal(1),
                "updated_at": datetime.now(UTC),
            }
            for i in range(300)
        ]
        CatalogRepository(session).insert_rows(stock, rows)
        session.commit()
    with engine.connect() as conn:  # statistics taken while the table is small
        conn.execute(text("ANALYZE stock"))
        conn.commit()
    with Session(engine) as session:
        more = [dict(row, offer_onec_id=f"N-{i:06d}") for i, row in enumerate(rows * 200)]
        CatalogRepository(session).insert_rows(stock, more)
        session.commit()

    keys = [f"N-{i:06d}" for i in range(0, 60_000, 37)][:2000]
    lookup = _rows_for_keys(
        stock, "offer_onec_id", keys, ("offer_onec_id", "quantity"), "postgresql"
    )
    with Session(engine) as session:
        repo = CatalogRepository(session)
        compiled = lookup.compile(dialect=engine.dialect)
        cursor = session.connection().connection.driver_connection.cursor()
        with repo.probing():
            cursor.execute(f"EXPLAIN {compiled}", compiled.params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
        assert "Seq Scan on stock" not in plan, plan
        assert "Index" in plan, plan
        assert len(repo.existing_stock(keys)) == len(keys)  # and the lookup itself answers


def test_new_price_types_are_stored_in_the_order_1c_lists_them(db_session: Session) -> None:
    # The storefront's default price type, when none is configured, is the first one stored.
    listed = [f"PT-{n}" for n in (7, 3, 9, 1, 5, 8, 2, 6, 4, 10)]
    CatalogWriter(db_session).write([r.PriceType(onec_id=i, name=f"Цена {i}") for i in listed])
    stored = db_session.execute(
        select(models.PriceType.onec_id).order_by(models.PriceType.id)
    ).scalars()
    assert list(stored) == listed
