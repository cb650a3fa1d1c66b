"""Orders priced by the server and owned by their submitter.

``api_keys.price_type``: the price type (Ид or name) a key's orders are priced from (empty: the
``[storefront] default_price_type``). ``orders.submitted_by``: the principal that submitted the
order (``key:<prefix>`` / ``user:<name>``), which decides who may read it; for orders taken before,
it is read back from the ``Idempotency-Key`` they were stored under (``<submitter>:<key>``). ``order_lines``:
``catalog_price`` (the catalog's price when the order was taken), ``price_overridden`` (the caller
set price, discount or currency under ``orders:price-override``) and ``stock_note`` (a shortfall
accepted under the ``warn`` stock policy).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("price_type", sa.String(length=255), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("submitted_by", sa.String(length=255), nullable=True))
        batch.create_index(op.f("ix_orders_submitted_by"), ["submitted_by"])
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("catalog_price", sa.Numeric(18, 4), nullable=True))
        batch.add_column(
            sa.Column("price_overridden", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("stock_note", sa.Text(), nullable=True))
    _backfill_submitters()


def _backfill_submitters() -> None:
    orders = sa.table(
        "orders",
        sa.column("id", sa.BigInteger()),
        sa.column("idempotency_key", sa.String()),
        sa.column("submitted_by", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(orders.c.id, orders.c.idempotency_key).where(
            orders.c.idempotency_key.is_not(None)
        )
    ).all()
    owners = []
    for row in rows:
        kind, _, rest = row.idempotency_key.partition(":")
        name = rest.partition(":")[0]
        if kind in ("key", "user") and name:
            owners.append({"order_id": row.id, "owner": f"{kind}:{name}"})
    if owners:  # one executemany, not a statement per order
        connection.execute(
            sa.update(orders)
            .where(orders.c.id == sa.bindparam("order_id"))
            .values(submitted_by=sa.bindparam("owner")),
            owners,
        )


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("stock_note")
        batch.drop_column("price_overridden")
        batch.drop_column("catalog_price")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index(op.f("ix_orders_submitted_by"))
        batch.drop_column("submitted_by")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("price_type")
