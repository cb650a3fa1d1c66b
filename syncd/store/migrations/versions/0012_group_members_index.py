"""A group's members in one index: ``product_groups (group_onec_id, product_onec_id)`` replaces
the index on ``group_onec_id`` alone, so the storefront reads a group's products from the index
without visiting the table (a listing of a mid-sized group checks each product it walks against
a hash of the group's members built from it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_product_groups_group_onec_id_product_onec_id",
        "product_groups",
        ["group_onec_id", "product_onec_id"],
        unique=False,
    )
    op.drop_index("ix_product_groups_group_onec_id", table_name="product_groups")


def downgrade() -> None:
    op.create_index(
        "ix_product_groups_group_onec_id", "product_groups", ["group_onec_id"], unique=False
    )
    op.drop_index("ix_product_groups_group_onec_id_product_onec_id", table_name="product_groups")
