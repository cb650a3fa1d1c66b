"""The change feed: ``change_events`` written with the data (``change_events_staged`` holds a
full package's until it succeeds), and ``webhook_endpoints``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ONEC_ID = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "change_events",
        sa.Column("position", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("resource_id", ONEC_ID, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_change_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_change_events_created_at"), "change_events", ["created_at"], unique=False
    )
    op.create_table(
        "change_events_staged",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("resource_id", ONEC_ID, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_events_staged")),
    )
    op.create_index(
        op.f("ix_change_events_staged_run_id"), "change_events_staged", ["run_id"], unique=False
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("kinds", JSON, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )


def downgrade() -> None:
    op.drop_table("webhook_endpoints")
    op.drop_index(op.f("ix_change_events_staged_run_id"), table_name="change_events_staged")
    op.drop_table("change_events_staged")
    op.drop_index(op.f("ix_change_events_created_at"), table_name="change_events")
    op.drop_table("change_events")
