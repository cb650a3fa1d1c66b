"""Undo marks and journal: a full package that fails leaves the catalog as it was.

``sync_runs.marks`` holds the highest id of each catalog table when a run began; ``run_undo``
holds the rows a journaled run changed, as they were before (see syncd/importer/undo.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("marks", JSON, nullable=False, server_default=sa.text("'{}'")))
    op.create_table(
        "run_undo",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("image", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name=op.f("fk_run_undo_run_id_sync_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_undo")),
        sa.UniqueConstraint(
            "run_id", "table_name", "row_key", name=op.f("uq_run_undo_run_id_table_name_row_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("run_undo")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("marks")
