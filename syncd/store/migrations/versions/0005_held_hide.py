"""Held hiding: a full package that would hide too much of the catalog waits for an operator.

``sync_runs.held_hide`` holds, for a run whose hiding is held, what it would hide per table and
the active rows it measured against (see syncd/importer/hiding.py); NULL otherwise.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("held_hide", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("held_hide")
