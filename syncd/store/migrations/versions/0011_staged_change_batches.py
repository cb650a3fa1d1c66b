"""A full package's change events are staged one row per batch (``change_batches_staged``, the
events as one JSON array) instead of one row per event, and ``change_events.created_at`` is
indexed by a BRIN index (retention's look-up by time) instead of a B-tree.

Events staged by an unfinished run before the upgrade are carried over, one row per run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ONEC_ID = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")

_CARRY_OVER = {
    "postgresql": """
        INSERT INTO change_batches_staged (run_id, events, created_at)
        SELECT run_id, jsonb_agg(jsonb_build_array(kind, resource_id, action, data) ORDER BY id),
               min(created_at)
        FROM change_events_staged GROUP BY run_id
    """,
    "sqlite": """
        INSERT INTO change_batches_staged (run_id, events, created_at)
        SELECT run_id, json_group_array(json_array(kind, resource_id, action, json(data))),
               min(created_at)
        FROM (SELECT * FROM change_events_staged ORDER BY id) GROUP BY run_id
    """,
}


def upgrade() -> None:
    op.create_table(
        "change_batches_staged",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("events", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_batches_staged")),
    )
    op.execute(_CARRY_OVER[op.get_bind().dialect.name])
    op.drop_index(op.f("ix_change_events_staged_run_id"), table_name="change_events_staged")
    op.drop_table("change_events_staged")
    op.drop_index(op.f("ix_change_events_created_at"), table_name="change_events")
    op.create_index(
        op.f("ix_change_events_created_at"),
        "change_events",
        ["created_at"],
        unique=False,
        postgresql_using="brin",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_change_events_created_at"), table_name="change_events")
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
    op.drop_table("change_batches_staged")
