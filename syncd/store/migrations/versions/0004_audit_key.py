"""Keyed audit chain: ``audit_log.key_id`` names the key an entry's HMAC was made with.

Existing entries stay as they were written (unkeyed, plain SHA-256): rewriting them would need
UPDATE on an append-only table and would erase the evidence they are. The keyed part of the log
starts at the first entry written with ``database.audit_key`` set (an ``audit.key_set`` entry,
see syncd/store/audit.py); ``onec-sync audit verify`` says where.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy on SQLite: that would drop the append-only triggers).
    op.add_column("audit_log", sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log", recreate="never") as batch:
        batch.drop_column("key_id")
