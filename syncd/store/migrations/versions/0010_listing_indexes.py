"""Indexes for the storefront's product listing sorted by last change (``sort=updated`` and
``-updated``, alone or with filters): a partial B-tree on active products, ``(updated_at, id)``,
walked forwards or backwards for the page instead of sorting every product.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_products_active_updated",
        "products",
        ["updated_at", "id"],
        unique=False,
        postgresql_where=sa.text("NOT is_deleted"),
        sqlite_where=sa.text("NOT is_deleted"),
    )


def downgrade() -> None:
    op.drop_index("ix_products_active_updated", table_name="products")
