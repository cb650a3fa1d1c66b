"""A price on request: ``prices.value`` may be NULL (1C's empty ЦенаЗаЕдиницу with a
Представление such as "Уточните у менеджера"; the presentation is kept).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 15:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=18, scale=4)


def upgrade() -> None:
    with op.batch_alter_table("prices") as batch:
        batch.alter_column("value", existing_type=MONEY, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM prices WHERE value IS NULL")
    with op.batch_alter_table("prices") as batch:
        batch.alter_column("value", existing_type=MONEY, nullable=False)
