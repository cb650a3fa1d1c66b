"""Login sessions as refresh-token families (rotation, reuse detection, logout, disabling users).

``token_families`` holds one row per login: the username, the one refresh token of the family
that may still be used (``current_jti``), when the family stops working at the latest, and when
and why it was ended (logout, a reused refresh token, a disabled user, a new password).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 15:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "token_families",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("current_jti", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_because", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_families")),
    )
    op.create_index(
        op.f("ix_token_families_username"), "token_families", ["username"], unique=False
    )
    op.create_index(
        op.f("ix_token_families_expires_at"), "token_families", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_token_families_expires_at"), table_name="token_families")
    op.drop_index(op.f("ix_token_families_username"), table_name="token_families")
    op.drop_table("token_families")
